"""The input files' schema: pydantic models of slo/*.yaml and alerts/<service>.yaml as users
write them. Field-level rules live here and in model/; checks that need a whole SLO or the whole
project live in checks.py; resolve.py turns these into the typed model."""
from __future__ import annotations

import zoneinfo
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from obsgen.model.ops import Operations
from obsgen.model.slo import NOMINAL, AlertTier, Calendar, CalendarUnit, Dependency, LatencySLI, Policy, ProbeSLI, RatioSLI, Resources
from obsgen.model.types import GroupLabel, LabelName, Labels, Name, Number, PartRef, Period, Rate, Strict, Template, Url


class PartSpec(Strict):
    """One SLO of a composite, and its weight."""

    model_config = ConfigDict(title="CompositePart")

    slo: PartRef = Field(description="service/slo, e.g. pup-api/availability; an SLO of this service by its name alone.")
    weight: Number = Field(1.0, gt=0, le=1000, description="Each of this part's events counts this many times (events aggregation).")


class CompositeSpec(Strict):
    """An SLO made of other SLOs (a user journey), with its own objective, budget and alerts."""

    model_config = ConfigDict(title="Composite")

    parts: list[PartSpec] = Field(min_length=2, max_length=20, description="The SLOs it is made of: same or other services, the same period.")
    aggregate: Literal["events", "worst"] = Field(
        "events", description="events: good events over all events of every part, each weighted; "
        "worst: the worst part's error ratio in each 5-minute slice.",
    )
    mute_parts: bool = Field(False, description="While the composite pages, its parts' pages are muted: one page per incident.")

    @field_validator("parts")
    @classmethod
    def _distinct(cls, value: list[PartSpec]) -> list[PartSpec]:
        seen = [p.slo for p in value]
        twice = sorted({ref for ref in seen if seen.count(ref) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is listed twice: give a part a weight instead")
        return value


class SLISpec(Strict):
    """Exactly one kind of indicator."""

    model_config = ConfigDict(title="SLI")

    ratio: RatioSLI | None = Field(None, description="Errors (or good events) over all events, from two counters.")
    latency: LatencySLI | None = Field(None, description="Requests at or under a threshold, from a histogram.")
    probe: ProbeSLI | None = Field(None, description="Passed samples over all samples of a 0/1 gauge, such as probe_success.")
    composite: CompositeSpec | None = Field(None, description="Other SLOs' events together: a user journey made of several SLOs.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SLISpec:
        if sum(kind is not None for kind in (self.ratio, self.latency, self.probe, self.composite)) != 1:
            raise ValueError("give exactly one of `ratio`, `latency`, `probe` or `composite`")
        return self


class Alerting(Strict):
    """Which alerts an SLO gets, and what they carry besides obsgen's own labels."""

    critical: bool = Field(True, description="Page on fast burns (the critical tiers; by default 1h/5m and 6h/30m).")
    warning: bool = Field(True, description="Ticket on slow burns (the warning tiers; by default 1d/2h and 3d/6h).")
    tiers: list[AlertTier] | None = Field(
        None, min_length=1, description="This SLO's burn-rate tiers, in place of the service's, obsgen.yaml's or the SRE Workbook's four.",
    )
    no_data: bool = Field(True, description="Warn when the SLI has had no data for 15 minutes.")
    labels: Labels = Field(default_factory=dict, description="Added to the SLO's burn-rate alerts.")
    annotations: dict[LabelName, Template] = Field(default_factory=dict, description="Go templates, as Prometheus renders them: {{ $labels.service }}, {{ $value }}.")


class GuardSpec(Strict):
    """How much evidence of a burn a tier needs before it fires (see core/guard.py). In a spec,
    `guard: off` turns it off and `guard: true` is the default."""

    model_config = ConfigDict(title="Guard")

    enabled: bool = Field(True, description="Off (false): a tier's threshold and min_events alone decide.")
    confidence: Number = Field(
        99.5, gt=50, lt=100,
        description="Percent, one-sided: the long window's errors must be more than a service meeting its objective "
        "would show by chance at this confidence. Lower pages sooner at low traffic, and more often by chance.",
    )
    min_errors: int = Field(3, ge=1, le=1000, description="Errors the long window must hold before a tier fires.")

    @model_validator(mode="before")
    @classmethod
    def _switch(cls, data: Any) -> Any:
        if isinstance(data, bool):
            return {"enabled": data}
        if not isinstance(data, dict):
            raise ValueError(f"{data!r} is not a guard: write `guard: off` (unquoted: YAML reads it as false), `guard: on`, or settings such as "
                             "{confidence: 99, min_errors: 3}")
        return data


class SLOSpec(Strict):
    model_config = ConfigDict(title="SLO")

    name: Name = Field(description="The SLO's name within its service: lower-case letters, digits, '-'; alerts carry it as `slo`.")
    description: str = Field("", description="What the SLO promises, in words; shown on dashboards and in the report.")
    objective: Number = Field(description="Percent of good events over the period, e.g. 99.9. Above 0 and below 100.")
    period: Period = Field(
        "30d", validate_default=True,
        description="Rolling window of the objective (30d, 28d, 7d, ...), or a calendar period whose budget resets when it "
        "starts: week (from Monday), month or quarter.",
    )
    time_zone: str = Field("UTC", description="Where a calendar period starts, an IANA time zone such as Europe/Paris (whole-hour offsets).")
    sli: SLISpec = Field(description="How good and bad events are counted: exactly one of ratio, latency or probe.")
    group_by: list[GroupLabel] = Field(
        default_factory=list, max_length=3,
        description="One SLO per value of these labels of the SLI's series (e.g. [route]): each group has its own budget "
        "and pages on its own burn; min_events applies per group.",
    )
    min_events: int = Field(
        0, ge=0, le=10**12,  # a trillion events in one window; more is a typo, and beyond exact float counts in the tests
        description="A tier needs at least this many events in its long window to fire (low-traffic guard; per group).",
    )
    guard: Annotated[GuardSpec, WithJsonSchema({"anyOf": [{"type": "boolean"}, GuardSpec.model_json_schema()]})] = Field(
        default_factory=GuardSpec,
        description="The low-traffic guard: on (the default: 3 errors and 99.5% confidence), off, or its settings. "
        "Off lets one failure at low traffic page; min_events still applies.",
    )
    expected_rate: Rate | None = Field(
        None, description="The SLI's usual traffic, e.g. 1000/m: SLO_REPORT.md shows each tier's detection time and "
        "chance pages at it, and obsgen refuses tiers that could never fire at it.",
    )
    runbook: Url | None = Field(None, description="Overrides the service's runbook for this SLO's alerts.")
    alerting: Alerting = Field(default_factory=Alerting, description="Which tiers page or ticket, and the alerts' extra labels and annotations.")
    policy: Policy | None = Field(None, description="The error-budget policy `obsgen gate` enforces before a deploy: min_budget, freeze_on.")

    @field_validator("group_by")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("list each label once")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            offset = Calendar("month", value).standard_offset
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone: an IANA name such as UTC, Europe/Paris or America/New_York") from None
        if offset % 3600:
            raise ValueError(f"{value} is {offset / 3600:+g}h from UTC: obsgen's rules count whole hours, so a calendar period "
                             "starts on a whole-hour offset (the report and gate would disagree with them)")
        return value

    @model_validator(mode="after")
    def _zone_needs_a_calendar(self) -> SLOSpec:
        if self.time_zone != "UTC" and not isinstance(self.period, str):
            raise ValueError("time_zone places a calendar period: give period: week, month or quarter, or leave time_zone out")
        return self

    @property
    def calendar(self) -> Calendar | None:
        return Calendar(cast(CalendarUnit, self.period), self.time_zone) if isinstance(self.period, str) else None

    @property
    def seconds(self) -> int:
        """The period's length for burn rates: a calendar period's nominal one."""
        return self.period if isinstance(self.period, int) else NOMINAL[cast(CalendarUnit, self.period)]

    @field_validator("objective")
    @classmethod
    def _objective_range(cls, value: float) -> float:
        if value >= 100:
            raise ValueError(f"must be below 100 (got {value:g}): a 100% objective leaves no error budget")
        if value <= 0:
            raise ValueError(f"must be above 0 (got {value:g}); objectives are percentages such as 99.9")
        return value


class DashboardSpec(Strict):
    """How the service dashboard is laid out; everything is optional."""

    folder: Name | None = Field(None, description="Grafana folder; the owning team's name when left out.")
    breakdown: LabelName | None = Field(
        None, description="Label that splits traffic, errors and latency by route or component, e.g. route."
    )
    resources: Resources = Field(default_factory=Resources, description="CPU and memory panels on the service dashboard.")


class ServiceFile(Strict):
    """One file in slo/: a service, its owner and its SLOs."""

    service: Name = Field(description="The service's name: lower-case letters, digits, '-'; every series and alert carries it as `service`.")
    team: Name = Field(description="Owning team, one of the teams in alerts/routing.yaml.")
    description: str = Field("", description="What the service is, in words; shown on its dashboard.")
    runbook: Url = Field(description="The runbook every alert of the service links (an SLO may name its own).")
    labels: Labels = Field(default_factory=dict, description="Added to every series and alert of this service.")
    depends_on: list[Dependency] = Field(default_factory=list, description="Services this one depends on, and its SLOs to mute while one of them pages.")
    tiers: list[AlertTier] | None = Field(
        None, min_length=1, description="Burn-rate tiers of every SLO of the service that names none, in place of obsgen.yaml's or the Workbook's.",
    )
    dashboard: DashboardSpec = Field(default_factory=DashboardSpec, description="The service dashboard's folder, breakdown label and resource panels.")
    slos: list[SLOSpec] = Field(min_length=1, description="The service's SLOs, at least one.")


class OpsFile(Operations):
    """alerts/<service>.yaml."""

    service: Name = Field(description="A service from slo/: its team and runbook apply here.")


def json_schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema


class TiersFile(Strict):
    """A what-if file for `obsgen backtest --tiers`: burn-rate tiers in the spec's own shape."""

    tiers: list[AlertTier] = Field(min_length=1, description="The tiers to replay in place of the spec's, fastest first or not.")
