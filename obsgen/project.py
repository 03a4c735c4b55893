"""The whole compiled input: every spec, loaded and cross-checked."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from obsgen.ops_spec import OpsSpec
from obsgen.routing_spec import Routing
from obsgen.spec import Service, Url


@dataclass(frozen=True)
class CustomDashboard:
    """A dashboards/*.dashboard.py file: `build(project)` returns a grafanalib Dashboard."""

    path: str
    folder: str
    build: Callable[[Any], Any]


class Settings(BaseModel):
    """obsgen.yaml: settings for the whole project. Optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grafana_url: Url | None = Field(
        None, description="Base URL of Grafana, e.g. https://grafana.example.com; makes alert dashboard_url links absolute."
    )
    loki_tenant: str = Field("fake", pattern=r"^[A-Za-z0-9_.-]+$", description="Loki tenant of the log rules (Loki's default is fake).")


class Project(BaseModel):
    model_config = ConfigDict(frozen=True)

    services: tuple[Service, ...]
    routing: Routing | None = None  # from alerts/routing.yaml, when it exists
    settings: Settings = Settings()
    custom_dashboards: tuple[CustomDashboard, ...] = ()  # from dashboards/*.dashboard.py
    ops: tuple[OpsSpec, ...] = ()  # from alerts/<service>.yaml
    log_sources: dict[str, str] = Field(default_factory=dict)  # "service/signal" -> "file:line", for LogQL errors

    def ops_of(self, service: str) -> OpsSpec | None:
        return next((o for o in self.ops if o.service == service), None)

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.service == name), None)
