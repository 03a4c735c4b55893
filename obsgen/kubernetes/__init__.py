"""Kubernetes manifests of what obsgen generates (Prometheus Operator rules, the Alertmanager Secret)."""
