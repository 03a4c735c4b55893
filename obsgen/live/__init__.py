"""What obsgen reads from a running Prometheus: `check` (the specs against its series), `report` (attainment) and `backtest` (the generated alerts replayed over its history)."""
