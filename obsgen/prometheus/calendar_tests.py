"""The promtool proof of a calendar SLO's budget: it resets when the period starts. Pure.

A month of one-minute counters through every rule would take promtool minutes, so the proof feeds
what the paging group records (the 5m and 1h rates, proven by the scenarios) every 5 minutes,
across the first period boundary after 1970-01-01 (promtool's clock starts there): one error ratio
before it, another after. It evaluates the period group's expressions (each recording it reads
written out as its own expression, so no rule runs at every step: promtool would evaluate a
month-long subquery every 5 minutes) at instants around the boundary: after it, the events and
errors since the start are exactly the new period's, to the last 5-minute step, and the budget
left is the new period's; before it, the ratio is the old one.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from obsgen.core import names, promql, slo_math
from obsgen.core.durations import format_duration
from obsgen.core.rules import RecordingRule, RuleGroup
from obsgen.model.slo import SLO, Calendar, Service
from obsgen.prometheus.slo_rules import BASE_WINDOW

HOUR = slo_math.HOUR
EVENTS = 10.0  # a second, steady
BEFORE, AFTER = 0.5, 0.1  # the error ratio before and after the boundary, as shares of the budget
PARTIAL = 37 * 60  # into an hour: the checks read the hour under way to its last 5-minute step


def first_boundary(calendar: Calendar) -> int:
    """The first period start after a day of promtool's clock, in the zone's standard time (as the rules)."""
    zone = dt.timezone(dt.timedelta(seconds=calendar.standard_offset))
    day = (dt.datetime.fromtimestamp(slo_math.DAY, zone)).date()
    while True:
        day += dt.timedelta(days=1)
        if (calendar.unit == "week" and day.weekday() == 0) or (calendar.unit != "week" and day.day == 1 and (
                calendar.unit == "month" or day.month in (1, 4, 7, 10))):
            return int(dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def _values(boundary: int, steps: int, before: float, after: float) -> str:
    """A sample every 5 minutes from 0: `before` up to the boundary's step, then `after`."""
    upto = boundary // BASE_WINDOW + 1
    return f"{promql.number(before)}x{upto - 1} {promql.number(after)}x{steps - upto - 1}"


def calendar_test(service: Service, slo: SLO, period_group: RuleGroup) -> dict[str, Any]:
    """One promtool test group: the budget since the period start, either side of a boundary."""
    assert slo.calendar is not None
    unit = slo.calendar.unit
    boundary = first_boundary(slo.calendar)
    end = boundary + 3 * HOUR
    steps = end // BASE_WINDOW + 1
    ids = service.ids(slo)
    budget = float(slo.budget)
    before, after = BEFORE * budget, AFTER * budget
    inputs = [
        {"series": promql.selector(name(window), *ids.items()), "values": _values(boundary, steps, EVENTS * share, EVENTS * share_after)}
        for window in (BASE_WINDOW, HOUR)
        for name, share, share_after in ((names.total_rate, 1.0, 1.0), (names.errors_rate, before, after))
    ]
    rules = [r for r in period_group.rules if isinstance(r, RecordingRule)]

    def written_out(name: str) -> str:
        """A recording's expression, with every recording of the group it reads written out too."""
        expr = next(r for r in rules if r.record == name).expr.strip()
        for rule in rules:
            read = promql.selector(rule.record, *ids.items())
            if read in expr:
                expr = expr.replace(read, f"({written_out(rule.record)})")
        return expr

    total, errors = (written_out(names.calendar_count(kind, unit)) for kind in ("total", "errors"))

    def close(expr: str, value: float, at: int) -> dict[str, Any]:  # within 1e-6, as the scenarios' recordings
        return {"expr": f"abs(vector(scalar({expr}) / {promql.number(value)} - 1)) < bool 1e-06", "eval_time": format_duration(at),
                "exp_samples": [{"labels": "{}", "value": 1}]}

    since = 2 * HOUR + PARTIAL // BASE_WINDOW * BASE_WINDOW  # to the last 5-minute step
    checks = [
        # The hour before the boundary: the old period's ratio.
        close(f"({errors}) / ({total})", before, boundary - HOUR),
        # Two hours after: exactly the new period's events and errors, nothing of the old.
        close(total, EVENTS * 2 * HOUR, boundary + 2 * HOUR),
        close(errors, EVENTS * after * 2 * HOUR, boundary + 2 * HOUR),
        # 37 minutes into the next hour: its 5-minute steps too.
        close(total, EVENTS * since, boundary + 2 * HOUR + PARTIAL),
        close(f"({errors}) / ({total})", after, boundary + 2 * HOUR + PARTIAL),
        # What dashboards and the gate read: the new period's budget.
        close(written_out(names.BUDGET_REMAINING), 1 - AFTER, boundary + 2 * HOUR),
        close(written_out(names.PERIOD_BURN_RATE), AFTER, boundary + 2 * HOUR),
    ]
    local = dt.datetime.fromtimestamp(boundary, dt.timezone(dt.timedelta(seconds=slo.calendar.standard_offset)))
    return {
        "name": f"{slo.name}: the {unit}'s budget resets at {local:%Y-%m-%d %H:%M %z} ({slo.calendar.zone}): "
                f"{BEFORE:g} of the budget's error ratio before, {AFTER:g} after",
        "interval": format_duration(BASE_WINDOW),
        "input_series": inputs,
        "promql_expr_test": checks,
    }

