"""Prometheus recording and alerting rules for SLOs. Pure: a Service in, typed rule groups out.

Two groups per SLO. The first, evaluated every minute, holds in dependency order (see README,
"How the rules are layered"):
  5m       the only rates read from raw series.
  windows  every other window tiles exactly the span that ends now with consecutive slices: the
           longest shorter window recorded before it that divides it, read at offsets. 30m is
           six 5m slices (`offset 5m`, ..., `offset 25m`), 1h two 30m, 2h two 1h, 6h three 2h,
           1d four 6h, 3d three 1d, 30d ten 3d. A window read at minute t covers (t - W, t],
           however long it is, and costs a few samples.
  burn     the burn rate over the base window.
  alerts   one multiwindow alert per burn-rate tier, with the low-traffic guard, and a no-data
           alert; in the same group, so they read this minute's windows, never a stale one.
The second, every PERIOD_INTERVAL, holds what only dashboards and the report read: the period's window
(ten slices of 3d, reaching a month back), the budget left and burn rate over it, the objective and
the budget. Nothing in the first reads the second, so it can run on another, slower ruler (see
`long_rules` in obsgen.yaml).
A slice missing because the rules are younger than the window counts as no events, so a partly
filled window's events are counted, not extrapolated. Dividing errors by total weights every window
by traffic: the period's SLI equals its errors over its events.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

from obsgen.core import names, promql, slo_math
from obsgen.core.durations import format_duration, human_duration
from obsgen.core.guard import Guard, healthy_ratio
from obsgen.core.rules import AlertRule, AlertText, RecordingRule, RuleGroup, alert
from obsgen.model.slo import SLO, CompositeSLI, LatencySLI, ProbeSLI, RatioSLI, Service

BASE_WINDOW = names.BASE_WINDOW
INTERVAL = 60  # every recording and alert, once a minute: alerts see a window at most this old
# The period's window and budget: a dashboard's figure, not worth a month's reads each minute. Under
# Prometheus's 5m lookback even with one evaluation missed, so dashboards never see a gap.
PERIOD_INTERVAL = 120
NO_DATA_FOR = 900


@dataclass(frozen=True)
class SLIExpressions:
    """Events per second over the base window, from the raw series.

    `errors` reads the `total` recording (evaluated just before it in the same group) for two
    reasons: the raw total is read once, and errors exist exactly when total does, so averaging
    both over a window counts the same slices.
    """

    total: str
    errors: str


def sli_expressions(slo: SLO, total_recording: str, seconds: int = BASE_WINDOW) -> SLIExpressions:
    """The SLI's events per second over the window (the base window for the rules; any window for
    `obsgen report`, which reads the raw series over the range it reports)."""
    window = format_duration(seconds)
    by = slo.group_by
    on = promql.on(by)
    # A counter often does not exist until its first event: then it counts zero (per group).
    zero = "vector(0)" if not by else f"{on} 0 * {total_recording}"

    def total_minus(good: str) -> str:
        # clamp_min: a good counter can outpace its total by a scrape's rounding.
        return f"clamp_min({total_recording} - {on} ({good} or {zero}), 0)"

    sli = slo.sli
    if isinstance(sli, CompositeSLI):
        return _composite_expressions(slo, sli, total_recording, seconds)
    if isinstance(sli, LatencySLI) and sli.native:
        # One native histogram of every series' rate; the share of it at or under the threshold
        # (durations are never negative) times its count are the fast requests.
        rates = promql.sum_rate(sli.histogram, window, by)
        total = f"histogram_count({rates})"
        fast = f"histogram_fraction(0, {promql.number(sli.threshold)}, {rates}) * {total}"
        return SLIExpressions(total=total, errors=total_minus(fast))
    if isinstance(sli, LatencySLI):
        total = promql.sum_rate(sli.count, window, by)
        return SLIExpressions(total=total, errors=total_minus(promql.sum_rate(sli.fast, window, by)))
    if isinstance(sli, ProbeSLI):
        # Samples per second, and passed samples per second: a sample is an event.
        agg = promql.summed(by)
        samples = f"{agg}(count_over_time({sli.success.render()}[{window}])) / {seconds}"
        passed = f"{agg}(sum_over_time({sli.success.render()}[{window}])) / {seconds}"
        return SLIExpressions(total=samples, errors=total_minus(passed))
    total = promql.sum_rate(sli.total, window, by)
    if sli.errors is not None:
        return SLIExpressions(total=total, errors=f"{promql.sum_rate(sli.errors, window, by)} or {on} 0 * {total_recording}")
    assert sli.good is not None
    return SLIExpressions(total=total, errors=total_minus(promql.sum_rate(sli.good, window, by)))


def _composite_expressions(slo: SLO, sli: CompositeSLI, total_recording: str, seconds: int) -> SLIExpressions:
    """A composite's events from its parts' raw series (never their recordings, which another group
    writes a moment later or earlier): each part's expressions, tagged so `or` keeps them apart,
    then added up (or the worst ratio taken) per group. A part without series counts nothing."""
    by = slo.group_by
    on = promql.on(by)
    totals, errors, ratios = [], [], []
    for i, part in enumerate(sli.parts, start=1):
        own = replace(part.slo, group_by=by)  # without groups on the composite, each part is summed whole
        total = sli_expressions(own, "", seconds).total
        exprs = sli_expressions(own, f"({total})", seconds)
        # An error counter alone, without its fallback to zero: a part without errors is simply
        # missing from the union, and the composite's own fallback below covers none at all (one
        # read of the part's total fewer at every evaluation).
        bad = own.sli.errors if isinstance(own.sli, RatioSLI) else None
        part_errors = promql.sum_rate(bad, format_duration(seconds), by) if bad is not None else exprs.errors
        weight = "" if part.weight == 1 else f"{promql.number(part.weight)} * "
        tag = f'"{names.PART}", "{i}", "", ""'
        totals.append(f"label_replace({weight}({exprs.total}), {tag})")
        errors.append(f"label_replace({weight}({part_errors}), {tag})")
        ratios.append(f"label_replace(({part_errors}) / ({exprs.total} > 0), {tag})")

    def combined(agg: str, terms: list[str]) -> str:
        return f"{agg}(\n  " + "\n  or ".join(terms) + "\n)"

    total = combined(promql.summed(by), totals)
    zero = f"{on} 0 * {total_recording}"
    if sli.aggregate == "worst":
        worst = combined(f"max by ({', '.join(by)}) " if by else "max", ratios)
        return SLIExpressions(total=total, errors=f"{worst} * {on} {total_recording} or {zero}")
    return SLIExpressions(total=total, errors=f"{combined(promql.summed(by), errors)} or {zero}")


MAX_SLICES = 30  # a window read as more slices than this gets a recorded window in between


def slo_windows(slo: SLO) -> list[int]:
    """Every window recorded for the SLO, shortest first: the base window, the tiers' windows, the
    period (a calendar SLO's budget reads hours instead), and the windows between them that keep
    every window a few slices of a shorter one."""
    return windows_for(slo.tier_set, slo.period, slo.calendar is not None)


def windows_for(tiers: tuple[slo_math.Tier, ...], period: int, calendar: bool = False) -> list[int]:
    """slo_windows for these tiers and period (the test generator's simulations key on them)."""
    wanted = set(slo_math.windows(tiers, period)) | {BASE_WINDOW}
    if calendar:
        wanted = (wanted - {period}) | {slo_math.HOUR}
    return ladder(tuple(sorted(wanted)))


@functools.lru_cache(maxsize=256)
def ladder(wanted: tuple[int, ...]) -> list[int]:
    """`wanted`, plus a window wherever one would be more than MAX_SLICES slices of the next
    shorter one: with only 1h and 6h tiers, 30d would be 120 x 6h; a 1d window makes it 30 x 1d.
    (The Workbook's windows need none.)"""
    recorded = set(wanted)
    while True:
        for window in sorted(recorded - {BASE_WINDOW}):
            _, count = tiling(window, sorted(recorded))
            if count > MAX_SLICES and (between := _between(window)) is not None:
                recorded.add(between)
                break
        else:
            return sorted(recorded)


def _between(window: int) -> int | None:
    """A window that tiles `window` in at most MAX_SLICES slices: whole days if one does, else whole
    hours, else whole base windows; the shortest of those (fewest windows in between)."""
    options = [window // k for k in range(2, MAX_SLICES + 1) if window % k == 0 and (window // k) % BASE_WINDOW == 0]
    for unit in (slo_math.DAY, slo_math.HOUR, BASE_WINDOW):
        round_ones = [w for w in options if w % unit == 0]
        if round_ones:
            return min(round_ones)
    return None


def tiling(window: int, recorded: list[int]) -> tuple[int, int]:
    """(slice, count): the window as `count` consecutive slices ending now, each the longest
    recorded window shorter than it that divides it: 30m -> 6 x 5m, 1d -> 4 x 6h, 30d -> 10 x 3d."""
    for size in sorted(recorded, reverse=True):
        if size < window and window % size == 0:
            return size, window // size
    raise ValueError(f"a {format_duration(window)} window cannot be tiled by {', '.join(map(format_duration, recorded))}")


def tiled(recording: str, size: int, count: int, by: tuple[str, ...] = ()) -> str:
    """Events per second over the window, from `recording` (a rate over the slice) read at offsets.

    A slice the rules have not recorded yet (they are younger than the window, or the group is
    new) counts as zero. An SLO without groups has one series, so the zero is `vector(0)`, added
    `on ()`: no second read of the recording for each slice. A per-group SLO's zero takes each
    group's labels from the newest slice, which must exist for the window to exist.
    """
    newest = recording
    if not by:
        older = [f"({recording} offset {format_duration(size * k)} or on () vector(0))" for k in range(1, count)]
        return "(\n  " + "\n  + on () ".join([newest, *older]) + f"\n) / {count}\n"
    older = [f"({recording} offset {format_duration(size * k)} or {promql.on(by)} 0 * {newest})" for k in range(1, count)]
    return "(\n  " + "\n  + ".join([newest, *older]) + f"\n) / {count}\n"


def rule_groups(service: Service, dashboard_url: str = "", traces: TraceLinks | None = None) -> list[RuleGroup]:
    """The service's SLO rule groups, two per SLO (see slo_groups)."""
    return [g for groups in slo_groups(service, dashboard_url, traces) for g in groups]


def slo_groups(service: Service, dashboard_url: str = "", traces: TraceLinks | None = None) -> list[tuple[RuleGroup, RuleGroup]]:
    """Per SLO, its every-minute group (windows and alerts) and its period group; alerts link to
    `dashboard_url` when given, and latency alerts to the slow traces of their window when a trace
    datasource is set."""
    return [_slo_groups(service, slo, dashboard_url, traces) for slo in service.slos]


@dataclass(frozen=True)
class TraceLinks:
    """Where latency alerts link to their slow traces: Grafana's Explore on the trace datasource."""

    grafana_url: str
    datasource: str

    def slow_traces(self, service: Service, slo: SLO, tier: slo_math.Tier) -> str | None:
        if not isinstance(slo.sli, LatencySLI):
            return None
        query = f'{{ resource.service.name = "{service.name}" && duration > {promql.number(slo.sli.threshold * 1000)}ms }}'
        return self.grafana_url.rstrip("/") + names.explore_path(self.datasource, query, format_duration(tier.long_window))


Select = Callable[[str], str]


def _slo_groups(service: Service, slo: SLO, dashboard_url: str, traces: TraceLinks | None = None) -> tuple[RuleGroup, RuleGroup]:
    ids = service.ids(slo)
    series_labels = service.labelled(slo)

    def sel(name: str) -> str:
        return promql.selector(name, *ids.items())

    windows = slo_windows(slo)

    def window_rules(window: int) -> list[RecordingRule]:
        if window == BASE_WINDOW:
            exprs = sli_expressions(slo, sel(names.total_rate(BASE_WINDOW)))
            errors, total = exprs.errors, exprs.total
        else:
            size, count = tiling(window, windows)
            errors = tiled(sel(names.errors_rate(size)), size, count, slo.group_by)
            total = tiled(sel(names.total_rate(size)), size, count, slo.group_by)
        return [
            # Rates carry only {service, slo}: relabelling a service never splits its long windows.
            RecordingRule(names.total_rate(window), total, ids),
            RecordingRule(names.errors_rate(window), errors, ids),
            RecordingRule(names.error_ratio(window), f"{sel(names.errors_rate(window))} / {sel(names.total_rate(window))}", series_labels),
        ]

    recordings = [r for w in windows if w != slo.period for r in window_rules(w)]
    budget_text = promql.number(float(slo.budget))
    recordings.append(RecordingRule(names.CURRENT_BURN_RATE, f"{sel(names.error_ratio(BASE_WINDOW))} / {budget_text}", series_labels))
    alerts = [_burn_alert(service, slo, tier, sel, dashboard_url, traces) for tier in slo.tiers]
    if slo.no_data:
        alerts.append(_no_data_alert(service, slo, sel, dashboard_url))
    unit = slo.calendar.unit if slo.calendar else None
    spent = sel(names.period_error_ratio(slo.period, unit))
    period = [
        *(calendar_rules(slo, sel, series_labels) if slo.calendar else window_rules(slo.period)),
        RecordingRule(names.BUDGET_REMAINING, f"1 - {spent} / {budget_text}", series_labels),
        RecordingRule(names.PERIOD_BURN_RATE, f"{spent} / {budget_text}", series_labels),
        # Constants for dashboards: nothing that pages reads them.
        RecordingRule(names.OBJECTIVE, f"vector({promql.number(float(slo_math.objective_ratio(slo.objective)))})", series_labels),
        RecordingRule(names.ERROR_BUDGET, f"vector({budget_text})", series_labels),
    ]
    return (
        RuleGroup(names.group_name(service.name, slo.name), (*recordings, *alerts), INTERVAL),
        RuleGroup(names.period_group_name(service.name, slo.name), tuple(period), PERIOD_INTERVAL),
    )


LONGEST = {"week": 7 * slo_math.DAY, "month": 31 * slo_math.DAY, "quarter": 93 * slo_math.DAY}  # three 31d chunks
CHUNK = 31 * slo_math.DAY


def period_index(unit: str, offset: int, shift: int) -> str:
    """Which calendar period the instant `time() + shift` falls in, as a number that grows by one
    each period (a labelless vector): local time is UTC plus the zone's standard offset."""
    at = f"vector(time() + {offset + shift})" if offset + shift else "vector(time())"
    if unit == "week":  # 1970-01-01 was a Thursday: weeks from Monday start 3 days earlier
        return f"floor(vector((time() + {offset + shift + 3 * slo_math.DAY}) / {7 * slo_math.DAY}))"
    if unit == "month":
        return f"(year({at}) * 12 + month({at}))"
    return f"(year({at}) * 4 + floor((month({at}) - 1) / 3))"


def since_start(recorded: Callable[[int], str], unit: str, offset: int, by: tuple[str, ...]) -> str:
    """Events (or errors) since the calendar period started, from the every-minute recordings.

    Whole hours: the 1h rate read at each hour's end (a subquery's steps fall on whole hours of
    UTC, and so of any whole-hour zone), each kept when the hour it covers is in this period. A
    subquery cannot compare a step with the evaluation's own time, so the hours are summed per
    period number modulo 3 (a range as long as the longest period holds at most three), and the
    sum of this period's class is kept (a closed range's extra step at its start, on Prometheus 2,
    covers an hour of the period before). The hour under way: the 5m rates read at each 5-minute
    step of it, the same way modulo 2. The last minutes since a 5-minute step are not counted
    yet (at most 5 minutes), and each boundary is read within a rule interval of the hour's."""
    zero = f"{promql.on(by)} 0 * {recorded(BASE_WINDOW)}"

    def kept(rate: str, span: int, step: int, index: Callable[[int], str], classes: int) -> str:
        def chunk(j: int, k: int) -> str:
            # At most CHUNK a subquery (promtool's unit tests stop a query at 10,000 samples held); the
            # next chunk starts a second earlier, so Prometheus 2's closed ranges never share a step.
            length = format_duration(span if span <= CHUNK else CHUNK - 1)
            shifted = f" offset {format_duration(k * CHUNK)}" if k else ""
            return f"sum_over_time(({rate} and on () ({index(-1)} % {classes} == {j}))[{length}:{format_duration(step)}]{shifted})"

        count = -(-span // CHUNK)
        picks = []
        for j in range(classes):
            total = chunk(j, 0) if count == 1 else " + ".join(f"({chunk(j, k)} or {zero})" for k in range(count))
            picks.append(f"({total} and on () ({index(0)} % {classes} == {j}))")
        return "(\n    " + "\n    or ".join([*picks, zero]) + "\n  )"

    hours = kept(recorded(slo_math.HOUR), LONGEST[unit], slo_math.HOUR, lambda shift: period_index(unit, offset, shift), 3)
    # 55m, not 1h: Prometheus 2's closed range would also hold the step an hour back, whose hour
    # (two before) has this hour's parity.
    current = kept(recorded(BASE_WINDOW), slo_math.HOUR - BASE_WINDOW, BASE_WINDOW,
                   lambda shift: f"floor(vector((time(){' - 1' if shift else ''}) / {slo_math.HOUR}))", 2)
    return f"(\n  {hours} * {slo_math.HOUR}\n  + {current} * {BASE_WINDOW}\n)"


def calendar_rules(slo: SLO, sel: Callable[[str], str], labels: dict[str, str]) -> list[RecordingRule]:
    """Events and errors since the calendar period started, and the SLI over them."""
    assert slo.calendar is not None
    unit, offset = slo.calendar.unit, slo.calendar.standard_offset
    ids = {names.SERVICE: labels[names.SERVICE], names.SLO: labels[names.SLO]}
    total, errors = (names.calendar_count(kind, unit) for kind in ("total", "errors"))
    return [
        RecordingRule(total, since_start(lambda w: sel(names.total_rate(w)), unit, offset, slo.group_by), ids),
        RecordingRule(errors, since_start(lambda w: sel(names.errors_rate(w)), unit, offset, slo.group_by), ids),
        RecordingRule(names.period_error_ratio(slo.period, unit), f"{sel(errors)} / {sel(total)}", labels),
    ]


def guard_conditions(guard: Guard, errors: str, events: str, healthy: float) -> list[str]:
    """PromQL of Guard.trusts for instant vectors of errors and events (same labels), to be joined by `and`.
    One chained filter (`errors > bound >= min`: each comparison keeps the errors' value), so the
    errors are read once."""
    bound = f"(sqrt({events} * {promql.number(healthy)}) + {promql.number(guard.half_z)}) ^ 2"
    return [f"{errors} > {bound} >= {guard.min_errors}"]


def _slo_alert(
    service: Service, slo: SLO, name: str, expr: str, severity: str, text: tuple[str, str], dashboard_url: str,
    for_: int = 0, tier: slo_math.Tier | None = None, links: dict[str, str] | None = None,
) -> AlertRule:
    identity = {names.SLO: slo.name}
    if tier is not None:
        identity |= {names.LONG_WINDOW: format_duration(tier.long_window), names.SHORT_WINDOW: format_duration(tier.short_window)}
    return alert(
        name, expr, severity=severity, team=service.team, service=service.name, identity=identity,
        text=AlertText(*text, runbook_url=slo.runbook, dashboard_url=dashboard_url, extra={**(links or {}), **slo.alert_annotations}),
        for_=for_, custom_labels=slo.alert_labels, slo=slo.name, tier=tier,
    )


def _burn_alert(
    service: Service, slo: SLO, tier: slo_math.Tier, sel: Select, dashboard_url: str, traces: TraceLinks | None = None
) -> AlertRule:
    rate = tier.burn_rate(slo.period)
    threshold = slo.limit(tier)
    same = promql.on((names.SERVICE, names.SLO, *slo.group_by))  # the ratio's series carry the service's labels too
    limit = promql.number(threshold)
    long_w, short_w = format_duration(tier.long_window), format_duration(tier.short_window)
    errors = f"({sel(names.errors_rate(tier.long_window))} * {tier.long_window})"
    events = f"({sel(names.total_rate(tier.long_window))} * {tier.long_window})"
    lines = [
        f"{sel(names.error_ratio(tier.long_window))} > {limit}",
        "and",
        f"{sel(names.error_ratio(tier.short_window))} > {limit}",
    ]
    # Low traffic: the long window's errors must be a few, and more than a service meeting its
    # objective would show by chance (core/guard.py); and it must hold min_events events.
    evidence = guard_conditions(slo.guard, errors, events, healthy_ratio(threshold, float(slo.budget))) if slo.guard else []
    evidence += [f"{events} >= {slo.min_events}"] if slo.min_events else []
    if evidence:
        lines += [f"and {same}", "(", *(f"  {c}" if i == 0 else f"  and {c}" for i, c in enumerate(evidence)), ")"]
    rate_text = promql.number(float(rate))
    summary = f"{service.name} is burning its {slo.name} error budget{_of_group(slo)} {rate_text}x too fast."
    description = (
        f"{{{{ $labels.service }}}} {{{{ $labels.slo }}}}: {{{{ $value | humanizePercentage }}}} of events failed "
        f"over the last {long_w}, and more than {threshold:.4%} over the last "
        f"{short_w}, against a {slo.objective:g}% objective. At {rate_text}x the {format_duration(slo.period)} error budget lasts "
        f"{human_duration(slo_math.exhaustion_seconds(rate, slo.period))}."
    )
    link = traces.slow_traces(service, slo, tier) if traces else None
    return _slo_alert(service, slo, names.ALERT_BURN, "\n".join(lines) + "\n", tier.severity, (summary, description),
                      dashboard_url, tier=tier, links={"traces_url": link} if link else {})


def _of_group(slo: SLO) -> str:
    """` for route {{ $labels.route }}`: which group of a per-group SLO an alert is about."""
    return "".join(f" for {label} {{{{ $labels.{label} }}}}" for label in slo.group_by)


def _no_data_alert(service: Service, slo: SLO, sel: Select, dashboard_url: str) -> AlertRule:
    summary = f"{service.name} has no data for its {slo.name} SLO."
    description = (
        f"No events recorded for {{{{ $labels.service }}}} {{{{ $labels.slo }}}} for {format_duration(NO_DATA_FOR)}: the SLO "
        "cannot be measured and its burn-rate alerts cannot fire. Check the scrape target and the SLI's metric names."
    )
    return _slo_alert(service, slo, names.ALERT_NO_DATA, f"absent({sel(names.total_rate(BASE_WINDOW))})", "warning",
                      (summary, description), dashboard_url, for_=NO_DATA_FOR)
