"""Services and their SLOs, as the builders read them."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from obsgen.core import names, promql, slo_math
from obsgen.core.durations import format_duration
from obsgen.core.guard import DEFAULT as DEFAULT_GUARD
from obsgen.core.guard import Guard
from obsgen.model.ops import Operations
from obsgen.model.types import Events, Name, Number, Seconds, Selector, Strict


class AlertTier(Strict):
    """A burn-rate alert tier in place of the SRE Workbook's four: it fires when the error ratio over
    both windows is above burn rate x budget. Give `burn_rate`, or `budget_percent` (the share of the
    period's budget spent in the long window when it fires)."""

    severity: slo_math.Severity = Field(description="critical pages, warning opens a ticket.")
    long: Seconds = Field(description="The long window: how much history decides, e.g. 1h.")
    short: Seconds = Field(description="The short window: stops the alert soon after errors stop, e.g. 5m (the Workbook: long / 12).")
    burn_rate: Number | None = Field(None, gt=0, description="How many times faster than the budget allows, e.g. 14.4.")
    budget_percent: Number | None = Field(None, gt=0, le=100, description="Percent of the period's budget spent over the long window, e.g. 2.")

    @field_validator("long", "short")
    @classmethod
    def _whole_slices(cls, value: int) -> int:
        if value % names.BASE_WINDOW:
            raise ValueError(
                f"{format_duration(value)} is not a multiple of {format_duration(names.BASE_WINDOW)}, the window every "
                "other one is built from; e.g. 5m, 30m, 1h"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AlertTier:
        if (self.burn_rate is None) == (self.budget_percent is None):
            raise ValueError("give exactly one of `burn_rate` or `budget_percent`")
        if self.short >= self.long:
            raise ValueError(
                f"the short window ({format_duration(self.short)}) must be shorter than the long one "
                f"({format_duration(self.long)}); the Workbook uses long / 12"
            )
        return self

    def tier(self, period: int) -> slo_math.Tier:
        """The tier for an SLO of this period: a burn rate becomes the budget share it spends."""
        if self.budget_percent is not None:
            share = Fraction(str(self.budget_percent)) / 100
        else:
            share = Fraction(str(self.burn_rate)) * self.long / period
        return slo_math.Tier(self.severity, self.long, self.short, share)


class Policy(Strict):
    """The SLO's error-budget policy, which `obsgen gate` enforces before a deploy: block when less
    than `min_budget` of the period's budget is left, or while an alert of a `freeze_on` severity fires."""

    min_budget: Number = Field(0, ge=0, le=100, description="Percent of the period's error budget that must be left, e.g. 25 or \"25%\"; 0: only an exhausted budget blocks.")
    freeze_on: list[slo_math.Severity] = Field(default_factory=lambda: list[slo_math.Severity](["critical"]), description="Severities of the SLO's alerts that block while they fire: critical (pages), warning (tickets).")

    @field_validator("min_budget", mode="before")
    @classmethod
    def _percent(cls, value: object) -> object:
        return value.strip().removesuffix("%").strip() if isinstance(value, str) else value


class SyntheticSeries(Strict):
    """A counter the generated tests feed, for an SLI written as expressions obsgen cannot read."""

    series: Selector = Field(description="One series: a metric name and `=` matchers, e.g. jobs_total{queue=\"mail\", outcome=\"failed\"}.")
    counts: Literal["bad", "good", "all"] = Field(description="Which events it counts: bad ones, good ones, or all.")

    @field_validator("series")
    @classmethod
    def _one_series(cls, value: promql.Selector) -> promql.Selector:
        loose = [m.render() for m in value.matchers if m.op != "="]
        if loose:
            raise ValueError(f"name one series, with `=` matchers only (not {', '.join(loose)})")
        return value


class RatioSLI(Strict):
    """Bad events over all events, both counters. Give `errors` or `good`, and `total`."""

    errors: Events | None = Field(None, description="Counter of failed events.")
    good: Events | None = Field(None, description="Counter of successful events (instead of errors).")
    total: Events = Field(description="Counter of all events.")
    test_series: list[SyntheticSeries] | None = Field(
        None, min_length=1,
        description="For expressions obsgen cannot drive by itself: the counters the generated tests feed, and what each counts.",
    )

    @model_validator(mode="after")
    def _one_of_errors_or_good(self) -> RatioSLI:
        if (self.errors is None) == (self.good is None):
            raise ValueError("give exactly one of `errors` or `good`, next to `total`")
        return self


class LatencySLI(Strict):
    """Share of requests at or under `threshold` seconds, read from a Prometheus histogram: a classic
    one (its buckets declared, the threshold one of them) or a native one (any threshold)."""

    histogram: Selector = Field(
        description="The histogram's base name and matchers, without _bucket: http_request_duration_seconds{job=\"api\"}"
    )
    native: bool = Field(
        False, description="A native histogram (Prometheus 3): any threshold works, read with histogram_fraction; no `buckets`.",
    )
    buckets: list[Annotated[Number, Field(gt=0)]] | None = Field(
        None, min_length=1, description="A classic histogram's bucket bounds in seconds, as the service declares them.",
    )
    threshold: Number = Field(gt=0, description="Seconds; with a classic histogram, one of `buckets`.")

    @field_validator("histogram")
    @classmethod
    def _base_name(cls, value: promql.Selector) -> promql.Selector:
        if value.name.endswith(("_bucket", "_count", "_sum")):
            raise ValueError(f"name the histogram without its suffix: {value.name.rsplit('_', 1)[0]}")
        return value

    @field_validator("buckets")
    @classmethod
    def _increasing(cls, value: list[float] | None, info: ValidationInfo) -> list[float] | None:
        if value is not None and info.data.get("native"):
            raise ValueError("a native histogram has no declared buckets: leave `buckets` out (or set native: false)")
        if value is not None and sorted(set(value)) != value:
            raise ValueError("list each bucket once, in increasing order")
        return value

    @field_validator("threshold")
    @classmethod
    def _threshold_is_a_bucket(cls, value: float, info: ValidationInfo) -> float:
        buckets = info.data.get("buckets")
        if info.data.get("native") or "buckets" not in info.data:
            return value
        if buckets is None:
            raise ValueError(
                "list the histogram's `buckets` so obsgen can check the threshold is one, or set `native: true` for a native histogram"
            )
        if value not in buckets:
            below = [b for b in buckets if b < value]
            above = [b for b in buckets if b > value]
            nearest = [f"{b:g}" for b in (max(below, default=None), min(above, default=None)) if b is not None]
            suggestion = f"the nearest buckets are {' and '.join(nearest)}" if len(nearest) == 2 else f"the nearest bucket is {nearest[0]}"
            raise ValueError(
                f"{value:g}s is not one of the declared buckets ({', '.join(f'{b:g}' for b in buckets)}), so the SLI "
                f"would read an empty series; {suggestion}: use one, add le=\"{value:g}\" to the histogram's buckets "
                "in the service and here, or read a native histogram (native: true)"
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


class ProbeSLI(Strict):
    """The share of samples in which a check passed: a gauge that is 1 when it passes and 0 when it
    fails (blackbox `probe_success`, `up`), for endpoints without request counters. Every sample is
    an event, so a probe every 15 s gives 240 events an hour (the low-traffic guard counts them)."""

    success: Selector = Field(description="The gauge, e.g. probe_success{job=\"blackbox\", instance=\"https://status.pup.ai\"}.")


@dataclass(frozen=True)
class Part:
    """One SLO a composite is made of, resolved by the loader, and how much its events weigh."""

    service: str
    slo: SLO
    weight: float = 1.0

    @property
    def ref(self) -> str:
        return f"{self.service}/{self.slo.name}"


@dataclass(frozen=True)
class CompositeSLI:
    """An SLO made of other SLOs (a user journey), computed from their raw series.

    `events`: the parts' good and all events added up, each part's scaled by its weight, so a part
    counts as much as its traffic times its weight. `worst`: in each 5-minute slice the worst part's
    error ratio, weighted over time by the journey's events (never better than `events`).
    """

    parts: tuple[Part, ...]
    aggregate: Literal["events", "worst"] = "events"
    mute_parts: bool = False  # the composite's page mutes its parts' pages: one page per incident

    def leaves(self) -> list[SLI]:
        """The measured SLIs under this composite, nested composites opened."""
        return [leaf for p in self.parts for leaf in (p.slo.sli.leaves() if isinstance(p.slo.sli, CompositeSLI) else [p.slo.sli])]


SLI = RatioSLI | LatencySLI | ProbeSLI | CompositeSLI


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


CalendarUnit = Literal["week", "month", "quarter"]
NOMINAL = {"week": 7 * slo_math.DAY, "month": 30 * slo_math.DAY, "quarter": 90 * slo_math.DAY}  # for burn rates


@dataclass(frozen=True)
class Calendar:
    """A calendar-aligned period: the budget resets when a week (from Monday), month or quarter
    starts in `zone`. Burn-rate tiers use the nominal length (7d, 30d, 90d), as the Workbook does."""

    unit: CalendarUnit
    zone: str = "UTC"  # an IANA time zone

    @property
    def nominal(self) -> int:
        return NOMINAL[self.unit]

    @property
    def standard_offset(self) -> int:
        """Seconds east of UTC outside daylight saving time (what the rules use; see docs/spec.md)."""
        tz = zoneinfo.ZoneInfo(self.zone)
        offsets = (tz.utcoffset(dt.datetime(2025, month, 1)) for month in (1, 7))
        return int(min(o.total_seconds() for o in offsets if o is not None))

    def start(self, at: float) -> float:
        """Unix time the period holding `at` started, in the zone's local time (daylight saving included)."""
        tz = zoneinfo.ZoneInfo(self.zone)
        local = dt.datetime.fromtimestamp(at, tz)
        day = local.date()
        if self.unit == "week":
            day -= dt.timedelta(days=day.weekday())
        elif self.unit == "month":
            day = day.replace(day=1)
        else:
            day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        return dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()

    def label(self) -> str:
        return f"calendar {self.unit} ({self.zone})"


@dataclass(frozen=True)
class SLO:
    name: str
    objective: float  # percent of good events, as written: 99.9
    period: int  # seconds
    sli: SLI
    runbook: str  # the SLO's own, else the service's
    tiers: tuple[slo_math.Tier, ...]  # the burn-rate tiers that alert, fastest first
    tier_set: tuple[slo_math.Tier, ...] = slo_math.DEFAULT_TIERS  # every tier declared, also those alerting turns off
    description: str = ""
    group_by: tuple[str, ...] = ()  # one budget per value of these labels
    min_events: int = 0
    guard: Guard | None = DEFAULT_GUARD  # None: off, the threshold alone decides
    expected_rate: float | None = None  # events a second the SLO usually sees, for the report's figures
    no_data: bool = True
    alert_labels: Mapping[str, str] = field(default_factory=dict)
    alert_annotations: Mapping[str, str] = field(default_factory=dict)
    policy: Policy | None = None  # the spec's error-budget policy for `obsgen gate`; None: the gate's defaults
    calendar: Calendar | None = None  # the budget resets each calendar period; `period` is then its nominal length

    @property
    def budget(self) -> Fraction:
        return slo_math.error_budget(self.objective)

    @property
    def period_label(self) -> str:
        """30d, or calendar month (Europe/Paris)."""
        return self.calendar.label() if self.calendar else format_duration(self.period)

    @property
    def period_ratio(self) -> str:
        """The recording of the SLI over the period (rolling, or since the calendar period started)."""
        return names.period_error_ratio(self.period, self.calendar.unit if self.calendar else None)

    def period_start(self, at: float) -> float:
        """When the period whose budget holds at `at` began: its calendar period's start, or `period` earlier."""
        return self.calendar.start(at) if self.calendar else at - self.period

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
