"""promtool unit tests that prove each generated alert fires when the SLO maths says, and only then.

Pure: a Service and its typed rule groups in, a promtool test file out. The expected times come
from core/slo_math.py, the same functions that write SLO_REPORT.md.

How the scenarios stay exact. promtool evaluates every group at the test's evaluation interval
(EVAL, 5m), and errors start on that grid, so each window's error ratio is the share of its 5m
samples that saw errors. Prometheus 2 counts both ends of a range (n + 1 samples), Prometheus 3
only the right end (n): the error ratio of each scenario is chosen so that the Workbook's time to
fire falls strictly inside one evaluation interval under both counts, and the test expects the
alert at the first evaluation after it and not at the one before, with either promtool.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

from obsgen.core import names, promql, slo_math
from obsgen.core.durations import format_duration
from obsgen.core.rules import AlertRule, RuleGroup
from obsgen.model.slo import SLO, Service
from obsgen.prometheus import series
from obsgen.prometheus.series import Phase
from obsgen.prometheus.slo_rules import BASE_WINDOW

EVAL = 300  # seconds between evaluations in the generated tests
FIRE_WITHIN = 6 * 3600  # scenarios fire within this time of errors starting (slow tiers burn harder)
MINUTE = slo_math.MINUTE
TRAFFIC = 1000.0  # events per minute in the scenarios; low-traffic ones say otherwise
TOLERANCE = 1e-6  # relative, for recorded values


@dataclass(frozen=True)
class Detection:
    """A scenario for one tier: this error ratio fires it at `fires_at` seconds after errors start."""

    error_ratio: float
    after: float  # the Workbook's time to fire, seconds after errors start
    fires_at: int  # the first evaluation that fires under both range semantics
    silent_until: int  # the last evaluation that is quiet under both; fires_at - EVAL when they agree


def _share(steps: int, window: int, closed: bool) -> float:
    """Share of a window's samples that saw errors, `steps` evaluations after errors began."""
    if window == BASE_WINDOW:
        return 1.0 if steps >= 1 else 0.0  # the 5m ratio is read directly, not averaged
    size = window // EVAL + (1 if closed else 0)
    return min(steps, size) / size


def _first_firing_step(tier: slo_math.Tier, limit: float, ratio: float, closed: bool) -> int | None:
    for step in range(1, tier.long_window // EVAL + 2):
        if ratio * _share(step, tier.long_window, closed) > limit and ratio * _share(step, tier.short_window, closed) > limit:
            return step
    return None


@functools.lru_cache(maxsize=1024)  # a few tiers x objectives x periods, asked for by every SLO
def detection(tier: slo_math.Tier, objective: float, period: int) -> Detection:
    """The scenario for a tier: an error ratio above its threshold whose firing time is unambiguous.

    About twice the threshold for the paging tiers; slow tiers get a harder burn that fires within
    FIRE_WITHIN, which keeps the suite fast without changing what it proves. A threshold so close
    to 100% that no ratio is unambiguous gets a total outage, and the test allows both answers.
    """
    limit = float(slo_math.threshold(tier, objective, period))
    n = tier.long_window // EVAL
    for step in range(max(1, math.ceil(min(n / 2, FIRE_WITHIN / EVAL))), n + 1):
        # Puts the Workbook crossing half an interval before `step`, under both range semantics.
        ratio = Phase.of(1, TRAFFIC, limit * (n + 0.5) / (step - 0.5)).error_ratio
        if ratio >= 1:
            continue
        after = slo_math.time_to_fire(tier, objective, period, ratio)
        if after is None or math.ceil(after / EVAL) != step:
            continue
        if _first_firing_step(tier, limit, ratio, True) == _first_firing_step(tier, limit, ratio, False) == step:
            return Detection(ratio, after, step * EVAL, (step - 1) * EVAL)
    found = [_first_firing_step(tier, limit, 1.0, closed) for closed in (True, False)]
    steps = [s for s in found if s is not None]
    after = slo_math.time_to_fire(tier, objective, period, 1.0)
    assert after is not None and len(steps) == 2, "the loader rejects tiers that cannot fire"
    return Detection(1.0, after, max(steps) * EVAL, (min(steps) - 1) * EVAL)


def _minutes(seconds: int) -> int:
    return seconds // MINUTE


def _at(seconds: int) -> str:
    return format_duration(seconds) if seconds else "0s"


def _alerts_selector(**labels: str) -> str:
    return promql.Selector.of("ALERTS", alertstate="firing", **labels).render()


def _firing(rule: AlertRule, series_labels: dict[str, str]) -> str:
    """The ALERTS series a firing rule produces: its labels over the series' labels."""
    labels = {**series_labels, **rule.labels, names.ALERTNAME: rule.alert, "alertstate": "firing"}
    return promql.Selector.of("ALERTS", **dict(sorted(labels.items()))).render()


def _expect(expr: str, at: int, samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {"expr": expr, "eval_time": _at(at), "exp_samples": samples}


def _true(expr: str, at: int) -> dict[str, Any]:
    """An assertion written as a comparison: the test passes when `expr` returns 1."""
    return _expect(expr, at, [{"labels": "{}", "value": 1}])


def _close_to(selector: str, value: float, at: int) -> dict[str, Any]:
    return _true(f"abs(vector(scalar({selector}) / {promql.number(value)} - 1)) < bool {TOLERANCE:g}", at)


def _group(name: str, sli: list[series.Counter], phases: list[Phase], checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "interval": "1m", "input_series": series.input_series(sli, phases), "promql_expr_test": checks}


def _tier_of(rule: AlertRule) -> slo_math.Tier:
    assert rule.tier is not None, "burn-rate alerts carry their tier"
    return rule.tier


def _burn_tests(service: Service, slo: SLO, sli: list[series.Counter], rule: AlertRule) -> dict[str, Any]:
    """Fires at the predicted evaluation and not the one before; resolves once errors stop."""
    tier = _tier_of(rule)
    found = detection(tier, slo.objective, slo.period)
    start = tier.long_window  # a clean prefix as long as the long window
    fires = start + found.fires_at
    stop = fires + EVAL
    resolved = stop + tier.short_window + EVAL
    phases = [
        Phase.of(_minutes(start), TRAFFIC, 0),
        Phase.of(_minutes(stop - start), TRAFFIC, found.error_ratio),
        Phase.of(_minutes(resolved - stop) + 1, TRAFFIC, 0),
    ]
    long_w, short_w = format_duration(tier.long_window), format_duration(tier.short_window)
    tier_alert = _alerts_selector(alertname=names.ALERT_BURN, service=service.name, slo=slo.name, long_window=long_w)
    firing = [{"labels": _firing(rule, service.labelled(slo)), "value": 1}]
    ratio5m = promql.selector(names.error_ratio(BASE_WINDOW), *service.ids(slo).items())
    checks = [
        _expect(tier_alert, start + found.silent_until, []),
        _expect(tier_alert, fires, firing),
        _close_to(ratio5m, found.error_ratio, fires),
        _expect(tier_alert, stop, firing),
        _expect(tier_alert, resolved, []),
    ]
    name = (
        f"{slo.name}: {tier.severity} {long_w}/{short_w} fires {_at(found.fires_at)} into a {found.error_ratio:.4%} error ratio "
        f"(Workbook: {found.after:.0f}s), not before, and resolves within {_at(tier.short_window + EVAL)} of recovery"
    )
    return _group(name, sli, phases, checks)


def _steady_tests(
    service: Service, slo: SLO, sli: list[series.Counter], burn_rules: list[AlertRule], no_data: AlertRule | None
) -> dict[str, Any]:
    """A burn just under the lowest threshold never fires; every recording holds the expected value."""
    period = slo.period
    tiers = [_tier_of(r) for r in burn_rules]
    budget = float(slo_math.error_budget(slo.objective))
    limits = [float(slo_math.threshold(t, slo.objective, period)) for t in tiers] or [budget]
    ratio = Phase.of(1, TRAFFIC, 0.9 * min(limits)).error_ratio
    longest = max((t.long_window for t in tiers), default=slo_math.DAY)
    end = longest + EVAL
    ids = service.ids(slo)
    checks = [
        _expect(_alerts_selector(alertname=names.ALERT_BURN, **ids), at, [])
        for at in sorted({t.long_window + EVAL for t in tiers} | {end})
    ]
    if no_data is not None:
        checks.append(_expect(_alerts_selector(alertname=names.ALERT_NO_DATA, **ids), end, []))
    windows = slo_math.windows(slo_math.DEFAULT_TIERS, period)
    checks += [_close_to(promql.selector(names.error_ratio(w), *ids.items()), ratio, end) for w in windows]
    checks += [
        _close_to(promql.selector(names.total_rate(BASE_WINDOW), *ids.items()), TRAFFIC / MINUTE, end),
        _close_to(promql.selector(names.OBJECTIVE, *ids.items()), float(slo_math.objective_ratio(slo.objective)), end),
        _close_to(promql.selector(names.ERROR_BUDGET, *ids.items()), budget, end),
        _close_to(promql.selector(names.BUDGET_REMAINING, *ids.items()), 1 - ratio / budget, end),
        _close_to(promql.selector(names.CURRENT_BURN_RATE, *ids.items()), ratio / budget, end),
        _close_to(promql.selector(names.PERIOD_BURN_RATE, *ids.items()), ratio / budget, end),
    ]
    name = f"{slo.name}: a steady {ratio:.4%} error ratio (90% of the lowest threshold) never fires over {_at(end)}"
    return _group(name, sli, [Phase.of(_minutes(end) + 1, TRAFFIC, ratio)], checks)


def _guard_tests(service: Service, slo: SLO, sli: list[series.Counter], critical: list[AlertRule]) -> dict[str, Any]:
    """At low traffic one failed request would page; the minimum-events guard keeps it quiet."""
    period = slo.period
    tiers = [_tier_of(r) for r in critical]
    longest = max(t.long_window for t in tiers)
    fastest = min(tiers, key=lambda t: t.long_window)
    limit = float(slo_math.threshold(fastest, slo.objective, period))
    # Half the guard in the longest paging window, and few enough that one failure tops the
    # fastest tier's threshold: 1 / (1 + per_minute x (window + one evaluation)) > limit.
    per_minute = series.exact(
        min(slo.min_events / 2 / _minutes(longest), 0.5 * (1 / limit - 1) / _minutes(fastest.long_window + EVAL))
    )
    start = longest
    phases = [
        # The failed request is counted between the samples one and two minutes after `start`:
        # inside the next 5m window under Prometheus 2's closed ranges and Prometheus 3's left-open
        # ones alike (counted at `start` itself, a left-open 5m window would never see it).
        Phase(_minutes(start) + 1, per_minute, 0),
        Phase(1, per_minute, 1),  # one failed request
        Phase(_minutes(longest), per_minute, 0),
    ]
    ids = service.ids(slo)
    pages = _alerts_selector(alertname=names.ALERT_BURN, severity="critical", **ids)
    unguarded = (
        f"count({promql.selector(names.error_ratio(fastest.long_window), *ids.items())} > {promql.number(limit)} and "
        f"{promql.selector(names.error_ratio(fastest.short_window), *ids.items())} > {promql.number(limit)})"
    )
    checks = [_expect(pages, start + after, []) for after in (EVAL, 2 * EVAL, 6 * EVAL, 12 * EVAL)]
    # Without the guard the fastest tier would fire: both its windows are over the threshold.
    checks.append(_true(unguarded, start + EVAL))
    name = (
        f"{slo.name}: one failed request among {per_minute * 60:.1f} an hour does not page "
        f"(min_events {slo.min_events} in the long window)"
    )
    return _group(name, sli, phases, checks)


_LABEL_TEMPLATE = re.compile(r"\{\{ *\$labels\.([a-zA-Z_][a-zA-Z0-9_]*) *\}\}")


def _expand(text: str, labels: dict[str, str]) -> str | None:
    """An annotation as Prometheus renders it, when it uses only {{ $labels.x }}; else None."""
    out = _LABEL_TEMPLATE.sub(lambda m: labels.get(m[1], ""), text)
    return None if "{{" in out else out


def _no_data_tests(rules: list[AlertRule]) -> dict[str, Any]:
    """With no SLI series at all, each SLO's no-data alert fires after its `for`, not before,
    with the labels and annotations obsgen wrote."""
    wait = math.ceil(rules[0].for_ / EVAL) * EVAL  # the first evaluation past `for`
    expected: list[dict[str, Any]] = []
    expandable = True
    for rule in rules:
        labels = dict(rule.labels)
        annotations = {k: _expand(v, labels) for k, v in rule.annotations.items()}
        expandable = expandable and None not in annotations.values()
        expected.append({"exp_labels": labels, "exp_annotations": annotations})
    checks = [
        _expect(_firing_selector(rule), at, samples)
        for rule in rules
        for at, samples in ((wait - EVAL, []), (wait, [{"labels": _firing(rule, {}), "value": 1}]))
    ]
    group: dict[str, Any] = {
        "name": f"no data: every SLO's {names.ALERT_NO_DATA} fires after {_at(wait)} without series, not before",
        "interval": "1m",
        "input_series": [],
        "promql_expr_test": checks,
    }
    if expandable:
        group["alert_rule_test"] = [{"alertname": names.ALERT_NO_DATA, "eval_time": _at(wait), "exp_alerts": expected}]
    return group


def _firing_selector(rule: AlertRule) -> str:
    return _alerts_selector(alertname=rule.alert, service=rule.labels[names.SERVICE], slo=rule.labels[names.SLO])


def _merge(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Scenarios of independent SLOs run side by side in one test group: their series and checks
    do not touch, and promtool evaluates every rule of the file in every group anyway."""
    if len(groups) == 1:
        return groups[0]
    merged: dict[str, Any] = {"name": " | ".join(g["name"] for g in groups), "interval": groups[0]["interval"]}
    merged["input_series"] = [s for g in groups for s in g["input_series"]]
    merged["promql_expr_test"] = [c for g in groups for c in g.get("promql_expr_test", [])]
    return merged


def test_file(service: Service, groups: list[RuleGroup], rule_file: str) -> dict[str, Any]:
    """The promtool test file for one service's rule file."""
    alerts = [r for g in groups for r in g.alerts]
    testable: list[tuple[SLO, list[series.Counter]]] = []
    for slo in service.slos:
        try:
            testable.append((slo, series.counters(slo)))
        except series.Untestable:
            continue  # reported in SLO_REPORT.md: such SLIs need hand-written tests
    scenarios: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (kind, slo) -> test groups
    for slo, sli in testable:
        mine = [r for r in alerts if r.slo == slo.name]
        burn = [r for r in mine if r.tier is not None]
        no_data = next((r for r in mine if r.alert == names.ALERT_NO_DATA), None)
        for rule in burn:
            kind = f"tier {format_duration(_tier_of(rule).long_window)}"
            scenarios.setdefault((kind, slo.name), []).append(_burn_tests(service, slo, sli, rule))
        if burn or no_data:
            scenarios[("steady", slo.name)] = [_steady_tests(service, slo, sli, burn, no_data)]
        critical = [r for r in burn if _tier_of(r).severity == "critical"]
        if slo.min_events and critical:
            scenarios[("guard", slo.name)] = [_guard_tests(service, slo, sli, critical)]
    tests: list[dict[str, Any]] = []
    if series.independent(testable):
        kinds = list(dict.fromkeys(kind for kind, _ in scenarios))
        tests = [_merge([g for (k, _), gs in scenarios.items() if k == kind for g in gs]) for kind in kinds]
    else:
        tests = [g for gs in scenarios.values() for g in gs]
    no_data_rules = [r for r in alerts if r.alert == names.ALERT_NO_DATA]
    if no_data_rules:
        tests.append(_no_data_tests(no_data_rules))
    return {
        "rule_files": [rule_file],
        "evaluation_interval": _at(EVAL),
        # promtool would otherwise sort groups by name; alerts must read this evaluation's recordings.
        "group_eval_order": [g.name for g in groups],
        "tests": tests,
    }
