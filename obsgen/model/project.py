"""The whole compiled input: every service with its SLOs and operational alerts, the routing,
the settings and the teams' own dashboards."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from obsgen.errors import Origin
from obsgen.model.routing import Routing
from obsgen.model.slo import AlertTier, Service
from obsgen.model.types import LabelName, Name, Seconds, Strict, Url


@dataclass(frozen=True)
class CustomDashboard:
    """A dashboards/*.dashboard.py file: its `dashboard(project)` returns a grafanalib Dashboard.
    Team code: pipeline/custom.py runs it in a child process, under dashboard_timeout."""

    path: str  # as shown in messages
    file: str  # absolute


Output = Literal["prometheus", "prometheus-operator", "thanos"]


class Kubernetes(Strict):
    """Where the Kubernetes manifests go and what selects them."""

    namespace: Name = Field("monitoring", description="Namespace of the PrometheusRule and Secret manifests.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels of every manifest, e.g. the ones the Prometheus ruleSelector matches."
    )
    prometheus_url: Url = Field(
        "http://prometheus-operated.monitoring.svc:9090",
        description="Prometheus as the cluster reaches it: KEDA's Prometheus scaler queries the queue depth there.",
    )


class TraceDatasource(Strict):
    """A trace store Grafana reads (its URL only: credentials belong in Grafana, not here)."""

    type: Literal["tempo", "jaeger", "zipkin"] = "tempo"
    url: Url


class Traces(Strict):
    """Links from metrics and logs to traces: exemplars on latency panels, trace IDs in log lines,
    and slow traces from latency alerts."""

    datasources: dict[Name, TraceDatasource] = Field(
        min_length=1, description="Trace datasources obsgen provisions in Grafana, by uid, e.g. tempo: {url: http://tempo:3200}.",
    )
    datasource: Name = Field(description="The uid of the trace datasource the links open: one of `datasources`.")
    exemplar_label: LabelName = Field("trace_id", description="The exemplar label that holds the trace ID.")
    log_trace_id: str = Field(
        r"[Tt]race_?[Ii][Dd][\"':= ]+(\w+)",
        description="Regular expression with one group: the trace ID in a log line (Grafana's derived field).",
    )

    @field_validator("log_trace_id")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if groups != 1:
            raise ValueError(f"needs exactly one group, the trace ID, e.g. trace_id=(\\w+) (it has {groups})")
        return value

    @field_validator("datasource")
    @classmethod
    def _known_datasource(cls, value: str, info: ValidationInfo) -> str:
        defined = info.data.get("datasources")
        if defined is not None and value not in defined:
            raise ValueError(f"unknown trace datasource {value!r}; defined: {', '.join(defined)}")
        return value


class Settings(Strict):
    """obsgen.yaml: settings for the whole project. Optional."""

    project: Name | None = Field(
        None, description="This project's identity on shared servers: push and --prune touch only what it wrote. "
        "Set it before pruning; e.g. the repository's name.",
    )
    grafana_url: Url | None = Field(
        None, description="Base URL of Grafana, e.g. https://grafana.example.com; makes alert dashboard_url links absolute."
    )
    loki_tenant: str = Field("fake", pattern=r"^[A-Za-z0-9_.-]+$", description="Loki tenant of the log rules (Loki's default is fake).")
    dashboard_timeout: Seconds = Field(
        "30s", validate_default=True, description="How long a dashboards/*.dashboard.py may run before generate gives up on it."
    )
    outputs: list[Output] = Field(
        default_factory=lambda: list[Output](["prometheus"]),
        description="What to write besides the plain rule files and their promtool tests (always written): "
        "prometheus-operator (PrometheusRule and Alertmanager Secret manifests), thanos (rule files for Thanos Ruler).",
    )
    long_rules: Literal["local", "separate"] = Field(
        "local", description="Where each SLO's period group (its 30d window, budget left, objective; every 2m, read only by "
        "dashboards and reports) goes. local: in the service's rule file beside the paging groups. separate: in "
        "prometheus/long-rules/<service>.yml (and, with output thanos, the Thanos Ruler files hold only these), for a slower "
        "Prometheus, Thanos Ruler or a Cortex/Mimir tenant (push --rules then sends only them); nothing that pages reads them.",
    )
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    traces: Traces | None = Field(None, description="Links to traces from latency panels, log lines and latency alerts.")
    tiers: list[AlertTier] | None = Field(
        None, min_length=1, description="The project's burn-rate tiers, in place of the SRE Workbook's four (1h/5m and 6h/30m page, "
        "1d/2h and 3d/6h ticket); a service's or an SLO's `tiers` replace them.",
    )
    alertmanager_version: str = Field(
        "0.25", pattern=r"^0\.\d+$",
        description="The oldest Alertmanager the configuration must load on; 0.26 or later allows webhook `url_file`.",
    )

    def alertmanager_at_least(self, version: str) -> bool:
        return _minor(self.alertmanager_version) >= _minor(version)


def _minor(version: str) -> int:
    return int(version.split(".")[1])


@dataclass(frozen=True)
class Project:
    services: tuple[Service, ...]
    routing: Routing | None = None  # from alerts/routing.yaml, when it exists
    settings: Settings = field(default_factory=Settings)
    custom_dashboards: tuple[CustomDashboard, ...] = ()  # from dashboards/*.dashboard.py
    sources: Mapping[str, Origin] = field(default_factory=dict)  # "service/signal" -> its `match`, for LogQL errors

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def teams(self) -> dict[str, list[Service]]:
        """Services by owning team, teams in name order."""
        found: dict[str, list[Service]] = {}
        for service in self.services:
            found.setdefault(service.team, []).append(service)
        return dict(sorted(found.items()))
