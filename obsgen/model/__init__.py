"""The typed model: what loading the specs produces and every builder reads.

Durations are seconds, selectors are parsed, the SLI is a tagged union, enabled alert tiers and
every default are resolved. Imports core/ only; nothing here reads files or parses YAML.
"""
