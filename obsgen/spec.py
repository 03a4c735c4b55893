"""The spec language: pydantic models are the one schema for slo/*.yaml.

Field-level rules live here; checks that need the whole SLO or the whole project
(tiers that could never fire, duplicate names) live in load.py.
"""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator, ValidationInfo

from obsgen import promql
from obsgen.durations import format_duration, parse_duration

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
RESERVED_LABELS = frozenset({"service", "slo", "team", "severity", "long_window", "short_window", "alertname"})


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a name: use lower-case letters, digits and '-', starting with a letter"
        )
    return value


def _label_name(value: str) -> str:
    if not promql.LABEL_NAME.match(value) or value.startswith("__"):
        raise ValueError(f"{value!r} is not a label name: use letters, digits and '_', not starting with '__'")
    return value


def _label_value(value: str) -> str:
    bad = [c for c in value if c in '"\\' or ord(c) < 32]
    if bad:
        raise ValueError(f"label value {value!r} contains {bad[0]!r}; quotes, backslashes and newlines are not allowed")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    clash = sorted(RESERVED_LABELS & value.keys())
    if clash:
        raise ValueError(f"label {clash[0]!r} is set by obsgen itself; choose another name")
    return value


def _duration(value: str) -> str:
    return format_duration(parse_duration(value))


def _selector(value: str) -> str:
    promql.parse_selector(value)
    return value


def _selector_or_expression(value: str) -> str:
    if promql.WINDOW_PLACEHOLDER in value:
        promql.check_window_expression(value)
        return value
    try:
        promql.parse_selector(value)
    except ValueError:
        promql.check(value)  # a syntax error says so first
        promql.check_window_expression(value)  # a valid expression needs [$window]
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+\S*$", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


Name = Annotated[str, AfterValidator(_name)]
LabelName = Annotated[str, AfterValidator(_label_name)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
Labels = Annotated[dict[LabelName, LabelValue], AfterValidator(_labels)]
Duration = Annotated[str, AfterValidator(_duration), Field(examples=["30d", "28d", "7d"])]
Url = Annotated[str, AfterValidator(_url)]
Selector = Annotated[
    str,
    AfterValidator(_selector),
    Field(description="A PromQL vector selector, e.g. http_request_duration_seconds{job=\"api\"}"),
]
Events = Annotated[
    str,
    AfterValidator(_selector_or_expression),
    Field(
        description=(
            "A counter selector such as http_requests_total{job=\"api\", code=~\"5..\"} (obsgen wraps it in "
            "sum(rate(...))), or a PromQL expression using [$window] as its range"
        )
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RatioSLI(_Strict):
    """Bad events over all events, both counters. Give `errors` or `good`, and `total`."""

    errors: Events | None = Field(None, description="Counter of failed events.")
    good: Events | None = Field(None, description="Counter of successful events (instead of errors).")
    total: Events = Field(description="Counter of all events.")

    @model_validator(mode="after")
    def _one_of_errors_or_good(self) -> RatioSLI:
        if (self.errors is None) == (self.good is None):
            raise ValueError("give exactly one of `errors` or `good`, next to `total`")
        return self


class LatencySLI(_Strict):
    """Share of requests at or under `threshold` seconds, read from a Prometheus histogram."""

    histogram: Selector = Field(
        description="The histogram's base name and matchers, without _bucket: http_request_duration_seconds{job=\"api\"}"
    )
    buckets: list[Annotated[float, Field(gt=0)]] = Field(
        min_length=1, description="The histogram's bucket bounds in seconds, as the service declares them."
    )
    threshold: float = Field(gt=0, description="Seconds; must be one of `buckets`.")

    @field_validator("histogram")
    @classmethod
    def _base_name(cls, value: str) -> str:
        base = promql.parse_selector(value).name
        if base.endswith(("_bucket", "_count", "_sum")):
            raise ValueError(f"name the histogram without its suffix: {base.rsplit('_', 1)[0]}")
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
            raise ValueError(
                f"{value:g}s is not one of the declared buckets ({', '.join(f'{b:g}' for b in buckets)}); "
                "the SLI would read an empty series"
            )
        return value


class SLI(_Strict):
    """Exactly one kind of indicator."""

    ratio: RatioSLI | None = None
    latency: LatencySLI | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SLI:
        if (self.ratio is None) == (self.latency is None):
            raise ValueError("give exactly one of `ratio` or `latency`")
        return self


class Alerting(_Strict):
    """Which alerts an SLO gets, and what they carry besides obsgen's own labels."""

    critical: bool = Field(True, description="Page on fast burns (1h/5m and 6h/30m windows).")
    warning: bool = Field(True, description="Ticket on slow burns (1d/2h and 3d/6h windows).")
    no_data: bool = Field(True, description="Warn when the SLI has had no data for 15 minutes.")
    labels: Labels = Field(default_factory=dict)
    annotations: dict[Annotated[str, AfterValidator(_label_name)], str] = Field(default_factory=dict)


class SLO(_Strict):
    name: Name
    description: str = ""
    objective: float = Field(
        description="Percent of good events over the period, e.g. 99.9. Above 0 and below 100.",
    )
    period: Duration = Field("30d", description="Rolling window of the objective: 30d, 28d, 7d, ...")
    sli: SLI
    min_events: int = Field(
        0, ge=0, description="A tier needs at least this many events in its long window to fire (low-traffic guard)."
    )
    runbook: Url | None = Field(None, description="Overrides the service's runbook for this SLO's alerts.")
    alerting: Alerting = Field(default_factory=Alerting)

    @field_validator("objective")
    @classmethod
    def _objective_range(cls, value: float) -> float:
        if value >= 100:
            raise ValueError(f"must be below 100 (got {value:g}): a 100% objective leaves no error budget")
        if value <= 0:
            raise ValueError(f"must be above 0 (got {value:g}); objectives are percentages such as 99.9")
        return value


class Resources(_Strict):
    """Saturation signals for the service dashboard."""

    cpu: Selector | None = Field(None, description="Counter of CPU seconds, e.g. process_cpu_seconds_total{job=\"api\"}.")
    memory: Selector | None = Field(None, description="Gauge of resident memory in bytes, e.g. process_resident_memory_bytes{job=\"api\"}.")


class DashboardSpec(_Strict):
    """How the service dashboard is laid out; everything is optional."""

    folder: Name | None = Field(None, description="Grafana folder; the owning team's name when left out.")
    breakdown: LabelName | None = Field(
        None, description="Label that splits traffic, errors and latency by route or component, e.g. route."
    )
    resources: Resources = Field(default_factory=Resources)


class Dependency(_Strict):
    """A service this one calls. With `mute`, those SLOs are silenced while the dependency pages."""

    service: Name
    mute: list[Name] = Field(
        default_factory=list,
        description="SLOs of this service that fail only when the dependency does; muted while it has a critical alert.",
    )


class Service(_Strict):
    """One file in slo/: a service, its owner and its SLOs."""

    service: Name
    team: Name = Field(description="Owning team, one of the teams in alerts/routing.yaml.")
    description: str = ""
    runbook: Url
    labels: Labels = Field(default_factory=dict, description="Added to every series and alert of this service.")
    depends_on: list[Dependency] = Field(default_factory=list)
    dashboard: DashboardSpec = Field(default_factory=DashboardSpec)
    slos: list[SLO] = Field(min_length=1)


def json_schema(model: type[BaseModel] = Service, title: str = "obsgen service spec (slo/*.yaml)") -> dict:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema
