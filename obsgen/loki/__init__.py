"""Loki target: ruler groups for log signals and the LogQL that dashboards use. Pure; imports core/ and model/."""
