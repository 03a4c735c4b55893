"""Remotes: one HTTP client and configuration reader, one plan/apply sync engine, and one small
adapter per server (Grafana dashboards, Mimir/Cortex and Loki rulers). Reads generated files,
never the specs; imports core/ only (and errors)."""
