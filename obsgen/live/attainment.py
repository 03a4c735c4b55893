"""`obsgen report`: did each SLO meet its objective, how much budget is left, when was it burnt?

Everything is computed at query time from the SLI's raw series, for any past range: the events and
errors of a span are the SLI's rate over exactly that span times its length (what `increase` gives),
so a month is its own errors over its own events, not a mean of shorter windows. The alerts that
fired come from Prometheus's `ALERTS` series. `spans` and `Attainment` are pure; `collect` queries.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from obsgen.core import names, promql
from obsgen.model.project import Project
from obsgen.model.slo import SLO, Calendar, CalendarUnit, Service
from obsgen.prometheus.slo_rules import sli_expressions
from obsgen.remote.prometheus import Prometheus

POINTS = 200  # points per chart
MAX_SPANS = 24  # calendar months (and weeks) per SLO at most: the latest ones
Labels = dict[str, str]


@dataclass(frozen=True)
class Span:
    label: str
    start: float  # unix seconds
    end: float

    @property
    def seconds(self) -> int:
        return int(self.end - self.start)


@dataclass(frozen=True)
class Attainment:
    span: Span
    events: float
    errors: float
    budget: float  # the SLO's error budget, a share of events

    @property
    def no_traffic(self) -> bool:
        return not self.events > 0

    @property
    def sli(self) -> float | None:
        return None if self.no_traffic else 1 - self.errors / self.events

    @property
    def budget_left(self) -> float | None:
        """1 untouched, 0 spent, below 0 the objective missed."""
        return None if self.no_traffic else 1 - self.errors / (self.budget * self.events)


@dataclass(frozen=True)
class Fired:
    """One stretch of time an alert of the SLO was firing."""

    labels: Labels
    start: float
    end: float


@dataclass(frozen=True)
class SLOReport:
    service: Service
    slo: SLO
    period: Attainment  # the SLO's own period, ending at the report's end
    months: list[Attainment]
    weeks: list[Attainment]
    burn_down: list[tuple[float, float]]  # (time, budget left) over the period
    burn: list[tuple[float, float]]  # (time, burn rate over the fastest tier's long window)
    fired: list[Fired]
    worst_groups: list[tuple[Labels, Attainment]] = field(default_factory=list)


def months(start: float, end: float, zone: str = "UTC") -> list[Span]:
    """Calendar months (in `zone`) that overlap [start, end], each cut to it; the latest MAX_SPANS."""
    return _spans(start, end, zone, "month")


def weeks(start: float, end: float, zone: str = "UTC") -> list[Span]:
    """ISO weeks (Monday to Monday, in `zone`) that overlap [start, end], each cut to it; the latest MAX_SPANS."""
    return _spans(start, end, zone, "week")


def _spans(start: float, end: float, zone: str, unit: CalendarUnit) -> list[Span]:
    """Periods of the calendar that overlap [start, end]: the same boundaries a calendar SLO's budget resets at."""
    cal = Calendar(unit, zone)
    out = []
    at = cal.start(start)
    while at < end:
        following = cal.start(at + (8 if unit == "week" else 32) * 86400)  # the next period's start
        local = datetime.fromtimestamp(at, ZoneInfo(zone))
        year, week, _ = local.isocalendar()
        name = f"{year}-W{week:02d}" if unit == "week" else local.strftime("%B %Y")
        out.append(Span(name, max(start, at), min(end, following)))
        at = following
    return out[-MAX_SPANS:]


def _expressions(slo: SLO, seconds: int) -> tuple[str, str]:
    """(errors, events) over the last `seconds`, from the raw series."""
    total = sli_expressions(slo, "TOTAL", seconds).total
    errors = sli_expressions(slo, f"({total})", seconds).errors
    return f"({errors}) * {seconds}", f"({total}) * {seconds}"


def _group_key(labels: Labels, slo: SLO) -> tuple[str, ...]:
    return tuple(labels.get(label, "") for label in slo.group_by)


def measure(client: Prometheus, slo: SLO, span: Span) -> dict[tuple[str, ...], Attainment]:
    """Errors and events of each group (one, `()`, without group_by) over the span."""
    if span.seconds < 60:
        return {}
    errors_expr, events_expr = _expressions(slo, span.seconds)
    events = {_group_key(s.labels, slo): s.value for s in client.query(events_expr, span.end) if math.isfinite(s.value)}
    errors = {_group_key(s.labels, slo): s.value for s in client.query(errors_expr, span.end) if math.isfinite(s.value)}
    budget = float(slo.budget)
    return {key: Attainment(span, value, errors.get(key, 0.0), budget) for key, value in events.items()}


def _whole(found: dict[tuple[str, ...], Attainment], span: Span, budget: float) -> Attainment:
    """All groups together: their errors over their events."""
    return Attainment(span, sum(a.events for a in found.values()), sum(a.errors for a in found.values()), budget)


def _step(seconds: float) -> int:
    return max(60, int(seconds / POINTS) // 60 * 60)


def _series(client: Prometheus, expr: str, start: float, end: float, step: int) -> Iterator[tuple[float, float]]:
    """Points at whole steps back from `end`, so the last one is the report's end itself."""
    start = end - math.floor((end - start) / step) * step
    for series in client.query_range(expr, start, end, step):
        yield from series.points


def burn_down(client: Prometheus, slo: SLO, end: float, since: float) -> list[tuple[float, float]]:
    """Budget left at each step from `since` (within the period ending at `end`, so a short report
    draws only the time it covers): 1 - the period's errors so far / (budget x its events so far)."""
    before = Span("", slo.period_start(end), since)
    earlier = _whole(measure(client, slo, before), before, float(slo.budget))  # the period's part before `since`
    step = _step(end - since)
    errors_expr, events_expr = _expressions(slo, step)
    events = dict(_series(client, f"sum({events_expr})", since + step, end, step))
    errors = dict(_series(client, f"sum({errors_expr})", since + step, end, step))
    out = []
    spent, seen = earlier.errors, earlier.events
    for t in sorted(events):
        seen += events[t]
        spent += errors.get(t, 0.0)
        if seen > 0:
            out.append((t, 1 - spent / (float(slo.budget) * seen)))
    return out


def burn_rate(client: Prometheus, slo: SLO, start: float, end: float) -> list[tuple[float, float]]:
    """The burn rate over the fastest tier's long window (the worst group's, for per-group SLOs)."""
    if not slo.tiers:
        return []
    window = min(t.long_window for t in slo.tiers)
    errors_expr, events_expr = _expressions(slo, window)
    expr = f"max(({errors_expr}) / ({events_expr})) / {promql.number(float(slo.budget))}"
    return [(t, v) for t, v in _series(client, expr, start, end, _step(end - start)) if math.isfinite(v)]


def fired(client: Prometheus, service: Service, slo: SLO, start: float, end: float) -> list[Fired]:
    """Each stretch of time one of the SLO's alerts was firing, from ALERTS: at each step, whether it
    fired at any moment of that step (so an alert shorter than a step is not missed)."""
    step = max(15, math.ceil((end - start) / 10_000))  # Prometheus answers at most 11,000 points a series
    selector = promql.Selector.of("ALERTS", alertstate="firing", **{names.SERVICE: service.name, names.SLO: slo.name}).render()
    first = end - math.floor((end - start) / step) * step
    out = []
    for series in client.query_range(f"max_over_time({selector}[{step}s])", first, end, step):
        labels = {k: v for k, v in series.labels.items() if k not in ("__name__", "alertstate")}
        run: list[float] = []
        for t, _ in series.points:
            if run and t - run[-1] > step * 1.5:
                out.append(Fired(labels, run[0] - step, run[-1]))
                run = []
            run.append(t)
        if run:
            out.append(Fired(labels, run[0] - step, run[-1]))
    return sorted(out, key=lambda f: (f.start, sorted(f.labels.items())))


def collect(client: Prometheus, project: Project, start: float, end: float) -> list[SLOReport]:
    """Every SLO's report for [start, end]: its period ends at `end`; months and weeks span the range."""
    reports = []
    for service in project.services:
        for slo in service.slos:
            budget = float(slo.budget)
            zone = slo.calendar.zone if slo.calendar else "UTC"
            since = slo.period_start(end)
            period_span = Span(f"the {slo.calendar.unit} so far ({slo.calendar.zone})" if slo.calendar else
                               f"the {_days(slo.period)} up to the report's end", since, end)
            per_group = measure(client, slo, period_span)
            period = _whole(per_group, period_span, budget)
            worst = sorted(((dict(zip(slo.group_by, key)), a) for key, a in per_group.items() if not a.no_traffic),
                           key=lambda item: item[1].sli or 0.0)[:5] if slo.group_by else []
            reports.append(SLOReport(
                service, slo, period,
                [_whole(measure(client, slo, span), span, budget) for span in months(start, end, zone)],
                [_whole(measure(client, slo, span), span, budget) for span in weeks(start, end, zone)],
                burn_down(client, slo, end, max(since, start)),
                burn_rate(client, slo, start, end),
                fired(client, service, slo, start, end),
                worst,
            ))
    return reports


def _days(seconds: int) -> str:
    return f"{seconds // 86400} days" if seconds % 86400 == 0 else f"{seconds / 3600:g} hours"
