"""obsgen: compiles service and SLO specs into Prometheus rules and more."""

__version__ = "0.1.0"
