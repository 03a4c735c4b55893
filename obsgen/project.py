"""The whole compiled input: every spec, loaded and cross-checked."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from obsgen.routing_spec import Routing
from obsgen.spec import Service


class Project(BaseModel):
    model_config = ConfigDict(frozen=True)

    services: tuple[Service, ...]
    routing: Routing | None = None  # from alerts/routing.yaml, when it exists

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.service == name), None)
