"""Grafana target: panels (grafanalib), service dashboards, SLO overviews and provisioning.

Pure builders. Imports core/, model/ and loki/ (for the LogQL of log panels).
"""
