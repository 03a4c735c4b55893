"""Services and their SLOs, as the builders read them."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from obsgen.core import names, promql, slo_math
from obsgen.model.ops import Operations
from obsgen.model.types import Events, Name, Number, Selector, Strict


class RatioSLI(Strict):
    """Bad events over all events, both counters. Give `errors` or `good`, and `total`."""

    errors: Events | None = Field(None, description="Counter of failed events.")
    good: Events | None = Field(None, description="Counter of successful events (instead of errors).")
    total: Events = Field(description="Counter of all events.")

    @model_validator(mode="after")
    def _one_of_errors_or_good(self) -> RatioSLI:
        if (self.errors is None) == (self.good is None):
            raise ValueError("give exactly one of `errors` or `good`, next to `total`")
        return self


class LatencySLI(Strict):
    """Share of requests at or under `threshold` seconds, read from a Prometheus histogram."""

    histogram: Selector = Field(
        description="The histogram's base name and matchers, without _bucket: http_request_duration_seconds{job=\"api\"}"
    )
    buckets: list[Annotated[Number, Field(gt=0)]] = Field(min_length=1, description="The histogram's bucket bounds in seconds, as the service declares them.")
    threshold: Number = Field(gt=0, description="Seconds; must be one of `buckets`.")

    @field_validator("histogram")
    @classmethod
    def _base_name(cls, value: promql.Selector) -> promql.Selector:
        if value.name.endswith(("_bucket", "_count", "_sum")):
            raise ValueError(f"name the histogram without its suffix: {value.name.rsplit('_', 1)[0]}")
        return value

    @field_validator("buckets")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if sorted(set(value)) != value:
            raise ValueError("list each bucket once, in increasing order")
        return value

    @field_validator("threshold")
    @classmethod
    def _threshold_is_a_bucket(cls, value: float, info: ValidationInfo) -> float:
        buckets = info.data.get("buckets")
        if buckets is not None and value not in buckets:
            below = [b for b in buckets if b < value]
            above = [b for b in buckets if b > value]
            nearest = [f"{b:g}" for b in (max(below, default=None), min(above, default=None)) if b is not None]
            suggestion = f"the nearest buckets are {' and '.join(nearest)}" if len(nearest) == 2 else f"the nearest bucket is {nearest[0]}"
            raise ValueError(
                f"{value:g}s is not one of the declared buckets ({', '.join(f'{b:g}' for b in buckets)}), so the SLI "
                f"would read an empty series; {suggestion}: use one, or add le=\"{value:g}\" to the histogram's buckets "
                "in the service and here"
            )
        return value

    @property
    def count(self) -> promql.Selector:
        return self.histogram.with_name(self.histogram.name + "_count")

    @property
    def bucket(self) -> promql.Selector:
        return self.histogram.with_name(self.histogram.name + "_bucket")

    @property
    def fast(self) -> promql.Selector:
        """Requests at or under the threshold: the threshold's bucket, in both `le` spellings."""
        return self.bucket.with_matcher(promql.le_matcher(self.threshold))


SLI = RatioSLI | LatencySLI


class Resources(Strict):
    """Saturation signals for the service dashboard."""

    cpu: Selector | None = Field(None, description="Counter of CPU seconds, e.g. process_cpu_seconds_total{job=\"api\"}.")
    memory: Selector | None = Field(None, description="Gauge of resident memory in bytes, e.g. process_resident_memory_bytes{job=\"api\"}.")


class Dependency(Strict):
    """A service this one calls. With `mute`, those SLOs are silenced while the dependency pages."""

    service: Name
    mute: list[Name] = Field(
        default_factory=list,
        description="SLOs of this service that fail only when the dependency does; muted while it has a critical alert.",
    )


@dataclass(frozen=True)
class Dashboard:
    """How the service dashboard is laid out (folder resolved: the team's when the spec names none)."""

    folder: str
    breakdown: str | None = None
    resources: Resources = field(default_factory=Resources)


@dataclass(frozen=True)
class SLO:
    name: str
    objective: float  # percent of good events, as written: 99.9
    period: int  # seconds
    sli: SLI
    runbook: str  # the SLO's own, else the service's
    tiers: tuple[slo_math.Tier, ...]  # the burn-rate tiers that alert, fastest first
    description: str = ""
    min_events: int = 0
    no_data: bool = True
    alert_labels: Mapping[str, str] = field(default_factory=dict)
    alert_annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def budget(self) -> Fraction:
        return slo_math.error_budget(self.objective)

    def limit(self, tier: slo_math.Tier) -> float:
        """The error ratio above which this tier's windows burn too fast."""
        return float(slo_math.threshold(tier, self.objective, self.period))


@dataclass(frozen=True)
class Service:
    name: str
    team: str
    runbook: str
    slos: tuple[SLO, ...]
    dashboard: Dashboard
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)  # on every series and alert of the service
    depends_on: tuple[Dependency, ...] = ()
    ops: Operations = field(default_factory=lambda: Operations())  # alerts/<service>.yaml

    def labelled(self, slo: SLO) -> dict[str, str]:
        """The labels of the SLO's ratio and metadata series: service, slo, then the spec's."""
        return {**self.ids(slo), **self.labels}

    def ids(self, slo: SLO) -> dict[str, str]:
        """{service, slo}: the only labels of the SLO's rate series, so relabelling never splits them."""
        return {names.SERVICE: self.name, names.SLO: slo.name}
