"""Core: SLO maths, durations, PromQL building, naming conventions and the typed rules every
target emits. Pure functions and values, no I/O. Imports nothing from obsgen outside core/."""
