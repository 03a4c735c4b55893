"""What obsgen reads from a running Prometheus: `check` (the specs against its series) and `report` (attainment)."""
