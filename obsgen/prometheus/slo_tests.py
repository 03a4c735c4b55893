"""promtool unit tests that prove, to the minute, when each generated SLO alert fires and clears.

Pure: a Service and its typed rule groups in, a promtool test file out. Every scenario is a steady
traffic with a steady error ratio; simulate.py predicts the minute each tier fires and clears under
Prometheus 2's closed and Prometheus 3's left-open ranges, and the generator refuses a prediction
that strays from the SRE Workbook's time (see `_check_timing`). Tests evaluate every minute, so a
lag the on-call would see fails them.

Per SLO: a total outage and its recovery; burns at 20x, 8x, 4x and 1.5x the budget; just over each
tier's threshold; half the budget (silent; every recording checked); at 10 events an hour, one
failure (silent) and an outage (pages); and, without series, the no-data alert. Before the errors,
a clean history fills the paging tiers' windows (6h10m); the ticket tiers' windows are then partly
filled, and fire when the errors over the events they hold cross the threshold.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from obsgen.core import names, promql, slo_math
from obsgen.core.durations import format_duration
from obsgen.core.guard import Guard, healthy_ratio
from obsgen.core.rules import AlertRule, RuleGroup
from obsgen.core.yaml_text import listed, scalar, to_yaml
from obsgen.model.slo import SLO, CompositeSLI, LatencySLI, ProbeSLI, Service
from obsgen.prometheus import calendar_tests, series, simulate
from obsgen.prometheus.series import Phase
from obsgen.prometheus.slo_rules import BASE_WINDOW, slo_windows, windows_for

EVAL = 60  # seconds between evaluations in the generated tests: the minute users see
MINUTE = slo_math.MINUTE
TRAFFIC = 1000.0  # events per minute in the scenarios; low-traffic ones say otherwise
LOW_TRAFFIC = 10 / 60  # 10 events an hour
HISTORY = 6 * 60 + 10  # clean minutes before an outage: the paging tiers' windows are full
BRIEF_HISTORY = 70  # before burns that page the fastest tier: the 1h window is full, longer ones partly filled
SHORT_HISTORY = 10  # before the other burns: every window but the 5m one partly filled, so each fires sooner
HORIZON = 12 * 60  # minutes of errors a scenario runs at most; slower tiers must stay silent
BURNS = (20.0, 8.0, 4.0, 1.5)  # multiples of the error budget
JUST_OVER = 1.13  # of a tier's threshold
TOLERANCE = 1e-6  # relative, for recorded values
# A shared template's stand-ins: SLOT<n>X for the n-th per-service string (a whole YAML scalar, so
# filling in the string's own YAML is exact) and SERVICE_TOKEN for the service's name inside
# expressions (names are [a-z][a-z0-9-]*, written as they are in PromQL and YAML alike).
SLOT = "OBSGENSLOT"
SERVICE_TOKEN = "OBSGENSERVICEX"
_TOKENS = re.compile(rf"{SLOT}(\d+)X|{SERVICE_TOKEN}")
Slot = tuple[str, int, tuple[tuple[str, str], ...]]  # ("series", counter, group) or ("firing", alert, group)


@dataclass(frozen=True)
class Timing:
    """When one tier's alert fires and clears in a scenario, in minutes, under both range semantics."""

    fires: tuple[int, int] | None  # (earliest, latest) of the two; None: silent through the scenario
    clears: tuple[int, int] | None = None
    quiet_until: int | None = None  # only one semantics fires within the scenario: quiet before this


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


def _traffic(phases: list[Phase]) -> simulate.Traffic:
    good = [p.good for p in phases for _ in range(p.minutes)]
    bad = [p.bad for p in phases for _ in range(p.minutes)]
    return simulate.Traffic(tuple(good), tuple(bad))


def _first(flags: tuple[bool, ...], start: int, value: bool = True) -> int | None:
    return next((i for i in range(start, len(flags)) if flags[i] == value), None)


def timing(slo: SLO, tier: slo_math.Tier, phases: list[Phase], start: int, stop: int | None = None) -> Timing:
    """The minutes this tier fires after `start` (errors begin) and clears after `stop` (errors end),
    under both range semantics; the test asserts what holds under both."""
    return _timing(objective_of(slo), tier, tuple(phases), start, stop)


def objective_of(slo: SLO) -> simulate.Objective:
    """What the simulation of an SLO's rules depends on (the same for every SLO with its numbers)."""
    return _objective(slo.objective, slo.period, slo.tiers, slo.tier_set, slo.min_events, slo.guard, isinstance(slo.sli, ProbeSLI), scale(slo))


def scale(slo: SLO) -> float:
    """Events the SLI counts for each event fed to every one of its counters: a composite's weights."""
    sli = slo.sli
    return sum(p.weight * scale(p.slo) for p in sli.parts) if isinstance(sli, CompositeSLI) else 1.0


@functools.lru_cache(maxsize=1024)
def _objective(objective: float, period: int, tiers: tuple[slo_math.Tier, ...], tier_set: tuple[slo_math.Tier, ...],
               min_events: int, guard: Guard | None, sampled: bool, scaled: float) -> simulate.Objective:
    return simulate.Objective(objective, period, tiers, min_events, tuple(windows_for(tier_set, period)), guard, sampled, scaled)


@functools.lru_cache(maxsize=4096)  # every SLO with the same numbers has the same scenarios
def _timing(numbers: simulate.Objective, tier: slo_math.Tier, phases: tuple[Phase, ...], start: int, stop: int | None) -> Timing:
    traffic = _traffic(list(phases))
    flags = [simulate.firing(numbers, traffic, left_open)[tier] for left_open in (False, True)]
    fired = [m for m in (_first(f, start) for f in flags) if m is not None]
    if len(fired) == 1:
        return Timing(None, quiet_until=fired[0])
    if not fired:
        return Timing(None)
    if stop is None:
        return Timing((min(fired), max(fired)))
    cleared = [m for m in (_first(f, max(stop, fire), False) for f, fire in zip(flags, fired)) if m is not None]
    return Timing((min(fired), max(fired)), (min(cleared), max(cleared)) if len(cleared) == 2 else None)


def workbook_minutes(slo: SLO, tier: slo_math.Tier, ratio: float, history: int) -> float | None:
    """Minutes after a steady error ratio starts until the long window's errors over its events
    exceed the threshold, with `history` clean minutes before (a full window when history >= it)."""
    limit = slo.limit(tier)
    if ratio <= limit:
        return None
    window = tier.long_window / MINUTE
    if history < window:
        partial = history * limit / (ratio - limit)  # errors k r over history + k events
        if history + partial <= window:
            return partial
    return limit / ratio * window


def _traffic_for(slo: SLO, history: int) -> float:
    """Events a minute so that the low-traffic guard delays no tier once errors start (a window
    holding the history's events sees enough errors at its threshold); at least TRAFFIC. A probe's
    samples a minute are what they are."""
    if isinstance(slo.sli, ProbeSLI):
        return float(series.PROBES)
    budget = float(slo.budget)

    def clear(tier: slo_math.Tier) -> float:
        guard = slo.guard.clear_events(slo.limit(tier), healthy_ratio(slo.limit(tier), budget)) if slo.guard else 0.0
        return max(guard, slo.min_events) / min(history, tier.long_window // MINUTE)

    needed = max(map(clear, slo.tiers), default=0.0)  # no tiers: only the no-data alert is proven
    return float(max(TRAFFIC, math.ceil(needed * 1.2)))


@dataclass(frozen=True)
class Subject:
    """Whose alerts a scenario proves: an SLO, its synthetic counters, and the group they belong to.

    With `asked`, the scenarios are a template shared by every SLO of the same shape (see
    `scenario_texts`): each per-service string they use (a counter's series, a firing alert's labels)
    is a token, recorded in `asked`, and the service's name is SERVICE_TOKEN."""

    service: Service
    slo: SLO
    sli: list[series.Counter]  # without group labels
    alerts: list[AlertRule]  # the SLO's burn-rate alerts
    groups: list[dict[str, str]]  # [{}] without group_by; the first group is the one that burns
    numbers: simulate.Objective  # what the simulation of its rules depends on
    asked: dict[Slot, int] | None = None
    # Built once per subject (a template's own: `replace` starts it empty).
    _strings: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[str, str]] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def service_name(self) -> str:
        return self.service.name if self.asked is None else SERVICE_TOKEN

    @property
    def counters(self) -> list[series.Counter]:
        return self.in_group(self.groups[0])

    def in_group(self, group: dict[str, str]) -> list[series.Counter]:
        """The SLI's counters with one group's labels (or tokens standing for their series)."""
        if self.asked is None:
            return series.in_group(self.sli, group)
        return [replace(c, name=self._token(("series", i, tuple(group.items()))), labels=()) for i, c in enumerate(self.sli)]

    def alert_strings(self, rule: AlertRule, group: dict[str, str]) -> tuple[str, str]:
        """The ALERTS selector of one tier's alert in one group, and the series it is when firing:
        the same in every scenario, so built once per SLO."""
        key = (id(rule), tuple(group.items()))
        if key not in self._strings:
            assert rule.tier is not None
            selector = _alerts_selector(alertname=rule.alert, service=self.service_name, slo=self.slo.name,
                                        long_window=format_duration(rule.tier.long_window), **group)
            slot: Slot = ("firing", self.alerts.index(rule), key[1])
            self._strings[key] = (selector, self.value(slot) if self.asked is None else self._token(slot))
        return self._strings[key]

    def value(self, slot: Slot) -> str:
        """This service's string for a slot of a template."""
        kind, index, group = slot
        if kind == "series":
            return series.in_group([self.sli[index]], dict(group))[0].series
        return _firing(self.alerts[index], {**self.service.labelled(self.slo), **dict(group)})

    def _token(self, slot: Slot) -> str:
        assert self.asked is not None
        return f"{SLOT}{self.asked.setdefault(slot, len(self.asked))}X"


def _checks(subject: Subject, rule: AlertRule, found: Timing, end: int, group: dict[str, str]) -> list[dict[str, Any]]:
    """Quiet from the start until the earlier prediction, firing at the later one; cleared on time.
    A tier that does not fire is checked silent over the whole scenario. `group`: which group of a
    per-group SLO the checks are about."""
    selector, firing = subject.alert_strings(rule, group)

    def never(since: int, until: int) -> dict[str, Any]:
        return _expect(f"count_over_time({selector}[{_at((until - since + 1) * MINUTE)}])", until * MINUTE, [])

    if found.quiet_until is not None:
        return [never(0, found.quiet_until - 1)]
    if found.fires is None:
        return [never(0, end)]
    lo, hi = found.fires
    samples = [{"labels": firing, "value": 1}]
    checks = [never(0, lo - 1), _expect(selector, hi * MINUTE, samples)]
    if found.clears is not None:
        cleared_lo, cleared_hi = found.clears
        checks += [_expect(selector, (cleared_lo - 1) * MINUTE, samples), _expect(selector, cleared_hi * MINUTE, [])]
    return checks


def _describe(slo: SLO, tier: slo_math.Tier, found: Timing, start: int, stop: int | None, workbook: float | None) -> str:
    windows = f"{format_duration(tier.long_window)}/{format_duration(tier.short_window)}"
    if found.quiet_until is not None:
        return f"{windows} quiet for {found.quiet_until - start - 1}m"
    if found.fires is None:
        return f"{windows} silent"
    lo, hi = (m - start for m in found.fires)
    when = f"{lo}m" if lo == hi else f"{lo}-{hi}m"
    text = f"{windows} fires at {when}" + (f" (Workbook {workbook:.2f}m)" if workbook is not None else "")
    if found.clears is not None and stop is not None:
        lo, hi = (m - stop for m in found.clears)
        text += f", clears {lo}m" + ("" if lo == hi else f"-{hi}m") + " after errors stop"
    return text


def _scenario(
    subject: Subject, title: str, phases: list[Phase], start: int, stop: int | None, ratio: float | None, history: int,
) -> dict[str, Any]:
    """One timeline; every tier's alert is checked against its simulated timing."""
    slo = subject.slo
    end = sum(p.minutes for p in phases)
    checks: list[dict[str, Any]] = []
    parts = []
    for rule in subject.alerts:
        assert rule.tier is not None
        found = _timing(subject.numbers, rule.tier, tuple(phases), start, stop)
        checks += _checks(subject, rule, found, end, subject.groups[0])
        workbook = workbook_minutes(slo, rule.tier, ratio, history) if ratio is not None else None
        parts.append(_describe(slo, rule.tier, found, start, stop, workbook))
    return _group(f"{slo.name}: {title}: {'; '.join(parts)}", subject.counters, phases, checks)


def _one_failure(slo: SLO, before: int, after: int) -> tuple[str, list[Phase]]:
    """A single failure that must not page: among 10 events an hour, or, for a probe, one failed
    check among the probes' samples."""
    if isinstance(slo.sli, ProbeSLI):
        probes = float(series.PROBES)
        return "one failed check", [Phase(before, probes, 0), Phase(1, probes - 1, 1), Phase(after, probes, 0)]
    quiet = series.exact(LOW_TRAFFIC)
    return "one failure among 10 events an hour", [Phase(before, quiet, 0), Phase(1, quiet, 1), Phase(after, quiet, 0)]


def _bystanders(subject: Subject, group: dict[str, Any], phases: list[Phase], start: int) -> str:
    """Other groups of a per-group SLO beside the burning one: one as busy without errors, one with
    one failure among 10 events an hour. Each is checked against its own simulated timing (silent),
    which proves a group pages on its own burn only, with its own low-traffic guard."""
    minutes = sum(p.minutes for p in phases)
    title, one = _one_failure(subject.slo, start, minutes - start - 1)
    others = [("a healthy group", [Phase(minutes, phases[0].good + phases[0].bad, 0)]), (f"a group with {title}", one)]
    said = []
    for (title, own), labels in zip(others, subject.groups[1:]):
        group["input_series"] += series.input_series(subject.in_group(labels), own)
        fired = []
        for rule in subject.alerts:
            assert rule.tier is not None
            found = _timing(subject.numbers, rule.tier, tuple(own), start, None)
            group["promql_expr_test"] += _checks(subject, rule, found, minutes, labels)
            if found.fires or found.quiet_until:
                fired.append(format_duration(rule.tier.long_window))
        where = ", ".join(f"{k}={v}" for k, v in labels.items())
        said.append(f"{title} ({where}) " + (f"fires on {', '.join(fired)}" if fired else "silent"))
    return "; ".join(said)


def _off_the_minute(slo: SLO, ratio: float, history: int) -> float:
    """The ratio, nudged so that no tier's crossing falls on a whole minute, where the window's
    ratio would equal the threshold and floating point would decide."""
    for _ in range(20):
        times = [workbook_minutes(slo, t, ratio, history) for t in slo.tiers]
        if all(t is None or abs(t - round(t)) > 0.01 for t in times):
            return ratio
        ratio *= 1.003
    return ratio


_BURNS: dict[tuple[simulate.Objective, tuple[slo_math.Tier, ...], float, int], tuple[float, tuple[Phase, ...]]] = {}


def _burn(slo: SLO, alerts: list[AlertRule], wanted: float, history: int) -> tuple[float, list[Phase]]:
    """A steady burn near `wanted` after `history` clean minutes, nudged off every tie: no Workbook
    crossing on a whole minute, and no minute where a window's simulated ratio reads its threshold
    (Prometheus 3 reads 4 minutes of each 5, so whole counts can land on it exactly). The same for
    every SLO with the same numbers and alerting tiers, so found once for them all."""
    key = (objective_of(slo), tuple(a.tier for a in alerts if a.tier), wanted, history)
    if key not in _BURNS:
        ratio, phases = _find_burn(slo, alerts, wanted, history)
        _BURNS[key] = (ratio, tuple(phases))
    ratio, found = _BURNS[key]
    return ratio, list(found)


def _find_burn(slo: SLO, alerts: list[AlertRule], wanted: float, history: int) -> tuple[float, list[Phase]]:
    traffic = _traffic_for(slo, history)
    numbers = objective_of(slo)
    for _ in range(20):
        ratio = Phase.of(1, traffic, _off_the_minute(slo, wanted, history)).error_ratio
        phases = [Phase.of(history, traffic, 0), Phase.of(_horizon(slo, alerts, ratio, history), traffic, ratio)]
        if not simulate.ties(numbers, _traffic(phases)):
            break
        wanted = ratio * 1.003
    # Run on until each tier that one semantics fires is fired by the other too (Prometheus 2 can
    # lag a minute or two behind the Workbook where windows are partly filled).
    errors = phases[1].minutes
    while errors < HORIZON and any(
        _timing(numbers, a.tier, tuple(phases), history, None).quiet_until is not None for a in alerts if a.tier
    ):
        errors = min(HORIZON, errors + 2)
        phases = [phases[0], Phase.of(errors, traffic, ratio)]
    return ratio, phases


def _horizon(slo: SLO, alerts: list[AlertRule], ratio: float, history: int) -> int:
    """Minutes of errors: until the slowest tier that fires within HORIZON has fired, plus two."""
    times = [workbook_minutes(slo, r.tier, ratio, history) for r in alerts if r.tier is not None]
    due = [t for t in times if t is not None and t <= HORIZON]
    return min(HORIZON, math.ceil(max(due, default=60.0)) + 2)


def _steady(subject: Subject, ratio: float, minutes: int, traffic: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """After a steady error ratio every recording holds what it should: (the paging group's checks,
    the period group's)."""
    slo = subject.slo
    end = minutes * MINUTE
    ids = {names.SERVICE: subject.service_name, names.SLO: slo.name}
    budget = float(slo.budget)

    def close(name: str, value: float) -> dict[str, Any]:
        return _close_to(promql.selector(name, *ids.items()), value, end)

    paging = [close(names.error_ratio(w), ratio) for w in slo_windows(slo) if w != slo.period]
    paging.append(close(names.CURRENT_BURN_RATE, ratio / budget))
    if not isinstance(slo.sli, ProbeSLI):  # a closed 5m range holds 6 samples on Prometheus 2, 5 on 3
        paging.append(close(names.total_rate(BASE_WINDOW), traffic * scale(slo) / MINUTE))
    period = [
        close(names.error_ratio(slo.period), ratio),
        close(names.OBJECTIVE, float(slo_math.objective_ratio(slo.objective))),
        close(names.ERROR_BUDGET, budget),
        close(names.BUDGET_REMAINING, 1 - ratio / budget),
        close(names.PERIOD_BURN_RATE, ratio / budget),
    ]
    return paging, period


_OUTAGES: dict[simulate.Objective, tuple[tuple[Phase, ...], int]] = {}  # per distinct numbers, as simulate's caches


def outage(slo: SLO) -> tuple[list[Phase], int]:
    """The outage scenario's traffic, and the minute errors stop: once every enabled tier has fired.
    The same for every SLO with the same numbers (the tests and the report both ask)."""
    key = objective_of(slo)
    if key not in _OUTAGES:
        phases, stop = _outage(slo)
        _OUTAGES[key] = (tuple(phases), stop)
    found, stop = _OUTAGES[key]
    return list(found), stop


def _outage(slo: SLO) -> tuple[list[Phase], int]:
    traffic = _traffic_for(slo, HISTORY)
    first = [Phase.of(HISTORY, traffic, 0)]
    due = [workbook_minutes(slo, t, 1.0, HISTORY) for t in slo.tiers]
    probe = first + [Phase.of(min(HORIZON, math.ceil(max(d or 0.0 for d in due)) + 5), traffic, 1.0)]
    fired = [timing(slo, t, probe, HISTORY).fires for t in slo.tiers]
    stop = max(f[1] for f in fired if f is not None) + 1
    clear_for = max(t.short_window // MINUTE for t in slo.tiers) + 3
    return first + [Phase.of(stop - HISTORY, traffic, 1.0), Phase.of(clear_for, traffic, 0)], stop


def outage_timings(slo: SLO) -> dict[slo_math.Tier, Timing]:
    """Each enabled tier's firing and clearing minutes in the outage scenario, relative to the
    errors starting and stopping: what the generated tests prove, for the report (nothing for an
    SLO whose every tier is switched off)."""
    if not slo.tiers:
        return {}
    phases, stop = outage(slo)
    out = {}
    for tier in slo.tiers:
        found = timing(slo, tier, phases, HISTORY, stop)
        fires = None if found.fires is None else (found.fires[0] - HISTORY, found.fires[1] - HISTORY)
        clears = None if found.clears is None else (found.clears[0] - stop, found.clears[1] - stop)
        out[tier] = Timing(fires, clears)
    return out


def slo_scenarios(subject: Subject) -> dict[str, dict[str, Any]]:
    """Every scenario of one SLO, by kind; "period" holds the steady one's checks of the period group,
    which its own file proves (see period_test_file)."""
    slo, burns = subject.slo, subject.alerts
    out: dict[str, dict[str, Any]] = {}
    budget = float(slo.budget)
    tiers = [r.tier for r in burns if r.tier is not None]
    paging = [t for t in tiers if t.severity == "critical"]
    pages_within = max(t.long_window for t in paging or tiers) // MINUTE

    # A total outage after a history that fills the paging tiers' windows, then recovery: every
    # tier fires and clears.
    phases, stop = outage(slo)
    out["outage"] = _scenario(subject, "a total outage, then recovery", phases, HISTORY, stop, 1.0, HISTORY)
    if len(subject.groups) > 1:
        out["outage"]["name"] += " | beside it " + _bystanders(subject, out["outage"], phases, HISTORY)

    # Burns at multiples of the budget, and just over each tier's threshold. A window is filled with
    # clean history only where it is short (the fastest paging tier's, BRIEF_HISTORY): a longer
    # one starts partly filled (SHORT_HISTORY), fires sooner, and is proven all the same at the
    # minute its errors over its events cross the threshold. (The outage proves full 6h windows.)
    fastest = slo.limit(min(paging, key=lambda t: t.long_window)) if paging else None

    def history(ratio: float) -> int:
        return BRIEF_HISTORY if fastest is not None and ratio > fastest else SHORT_HISTORY

    burn_ratios = [(f"{m:g}x the budget", m * budget, history(m * budget)) for m in BURNS if m * budget < 1]
    for t in tiers:
        full = t.long_window // MINUTE + 10
        if full <= BRIEF_HISTORY:
            burn_ratios.append((f"just over the {format_duration(t.long_window)} threshold", JUST_OVER * slo.limit(t), full))
        else:
            burn_ratios.append((f"just over the {format_duration(t.long_window)} threshold after {SHORT_HISTORY}m of history",
                                JUST_OVER * slo.limit(t), SHORT_HISTORY))
    for title, wanted, before in (b for b in burn_ratios if b[1] < 1):
        ratio, phases = _burn(slo, burns, wanted, before)
        out[title] = _scenario(subject, f"{title}, {ratio:.4%} errors", phases, before, None, ratio, before)

    # Half the budget never fires, and every recording holds the expected value.
    traffic = _traffic_for(slo, BRIEF_HISTORY)
    half = Phase.of(1, traffic, 0.5 * budget).error_ratio
    steady = [Phase.of(BRIEF_HISTORY, traffic, half)]
    title = f"a steady {half:.4%} errors (half the budget)"
    group = _scenario(subject, title, steady, 0, None, None, BRIEF_HISTORY)
    paging_checks, period_checks = _steady(subject, half, BRIEF_HISTORY, traffic)
    group["promql_expr_test"] += paging_checks
    out["half"] = group
    # The same steady traffic, proven against the period group: its series are the half scenario's.
    out["period"] = {**group, "name": f"{slo.name}: {title}: the period's window, budget left and burn rate", "promql_expr_test": period_checks}

    # 10 events an hour: one failure says nothing; an outage still pages within the window.
    # (Checked for as long as a paging tier's short window holds the failure, plus 5 minutes.)
    after = max(t.short_window for t in paging or tiers) // MINUTE + 5
    title, one = _one_failure(slo, BRIEF_HISTORY, after)
    out["one failure"] = _scenario(subject, title, one, BRIEF_HISTORY, None, None, BRIEF_HISTORY)
    if isinstance(slo.sli, ProbeSLI):
        return out  # a probe is sampled at its own pace: there is no quieter traffic to test
    if isinstance(slo.sli, CompositeSLI):
        out.update(_part_scenarios(subject, slo.sli, pages_within))
    quiet = series.exact(LOW_TRAFFIC)
    probe = [Phase(BRIEF_HISTORY, quiet, 0), Phase(pages_within, 0, quiet)]
    paged = [f[1] for f in (timing(slo, t, probe, BRIEF_HISTORY).fires for t in paging) if f is not None]
    down = [Phase(BRIEF_HISTORY, quiet, 0), Phase(min(paged, default=pages_within + BRIEF_HISTORY) - BRIEF_HISTORY + 2, 0, quiet)]
    out["low outage"] = _scenario(subject, "an outage at 10 events an hour", down, BRIEF_HISTORY, None, None, BRIEF_HISTORY)
    return out


MAX_PART_SCENARIOS = 4  # parts proven failing alone; the rest behave alike (same rules, another weight)


def _part_scenarios(subject: Subject, sli: CompositeSLI, pages_within: int) -> dict[str, dict[str, Any]]:
    """A composite's parts one at a time: each part failing alone while the others are healthy (the
    composite pages when its weighted error ratio says so), and the last part failing at 10 events
    an hour (among the others' events its few failures page nothing; worst-of pages, as its worst
    part decides whatever its traffic). Simulated from the parts' traffic added up with their weights."""
    slo = subject.slo
    own = [series.in_group(c, subject.groups[0]) for c in series.part_counters(slo)]
    weights = [p.weight * scale(p.slo) for p in sli.parts]
    traffic = _traffic_for(slo, BRIEF_HISTORY)
    out: dict[str, dict[str, Any]] = {}

    numbers = replace(subject.numbers, scale=1.0)  # the combined traffic below is what the composite counts

    def feeds(k: int, per_minute: float, ratio: float, minutes: int) -> tuple[list[list[Phase]], list[Phase]]:
        """Each part's traffic (part k failing at `ratio` after a clean history), and the composite's."""
        failing = [Phase.of(BRIEF_HISTORY, per_minute, 0), Phase.of(minutes, per_minute, ratio)]
        healthy = [Phase.of(BRIEF_HISTORY + minutes, traffic, 0)]
        others = sum(w for i, w in enumerate(weights) if i != k)
        events = [others * healthy[0].good + weights[k] * (p.good + p.bad) for p in failing]
        # events: the failing part's errors among everyone's events; worst: its error ratio over all
        # of them (every part's traffic is steady, so each 5m slice holds that ratio times its events).
        bad = [weights[k] * p.bad if sli.aggregate == "events" else p.error_ratio * e for p, e in zip(failing, events, strict=True)]
        combined = [Phase(p.minutes, e - b, b) for p, e, b in zip(failing, events, bad, strict=True)]
        return [failing if i == k else healthy for i in range(len(own))], combined

    def run(title: str, k: int, per_minute: float, ratio: float, minutes: int) -> dict[str, Any]:
        each, combined = feeds(k, per_minute, ratio, minutes)
        checks, said = [], []
        for rule in subject.alerts:
            assert rule.tier is not None
            found = _timing(numbers, rule.tier, tuple(combined), BRIEF_HISTORY, None)
            checks += _checks(subject, rule, found, BRIEF_HISTORY + minutes, subject.groups[0])
            said.append(_describe(slo, rule.tier, found, BRIEF_HISTORY, None, None))
        inputs = [row for counters, feed in zip(own, each, strict=True) for row in series.input_series(counters, feed)]
        return {"name": f"{slo.name}: {title}: {'; '.join(said)}", "interval": "1m", "input_series": inputs, "promql_expr_test": checks}

    for k, part in enumerate(sli.parts[:MAX_PART_SCENARIOS]):
        share = weights[k] / sum(weights) if sli.aggregate == "events" else 1.0
        due = [workbook_minutes(slo, r.tier, share, BRIEF_HISTORY) for r in subject.alerts if r.tier is not None]
        minutes = min(HORIZON, math.ceil(max((d for d in due if d is not None and d <= HORIZON), default=60.0)) + 2)
        ratio = 1.0
        for _ in range(20):  # off any minute where a window reads its threshold exactly (see _burn)
            if not simulate.ties(numbers, _traffic(feeds(k, traffic, ratio, minutes)[1])):
                break
            ratio *= 0.997
        out[f"part {k + 1} down"] = run(f"{part.ref} alone failing ({ratio:.4%} of its events, {share * ratio:.4%} of the composite's)",
                                        k, traffic, ratio, minutes)
    last = len(sli.parts) - 1
    out["part at low traffic"] = run(f"{sli.parts[last].ref} at 10 events an hour, all failing, the others healthy",
                                     last, series.exact(LOW_TRAFFIC), 1.0, pages_within)
    return out


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
        "name": f"no data: {names.ALERT_NO_DATA} fires after {_at(wait)} without series, not before",
        "interval": "1m",
        "input_series": [],
        "promql_expr_test": checks,
    }
    if expandable:
        group["alert_rule_test"] = [{"alertname": names.ALERT_NO_DATA, "eval_time": _at(wait), "exp_alerts": expected}]
    return group


def _firing_selector(rule: AlertRule) -> str:
    return _alerts_selector(alertname=rule.alert, service=rule.labels[names.SERVICE], slo=rule.labels[names.SLO])


def native(slo: SLO) -> bool:
    """The SLI reads a native histogram: its tests need promtool 3's notation, in a file of their own."""
    return isinstance(slo.sli, LatencySLI) and slo.sli.native


@dataclass(frozen=True)
class SLOTests:
    """One SLO's promtool test files as YAML; None where there is nothing to test."""

    classic: str | None  # the paging group's scenarios and the no-data test: every promtool runs it
    native: str | None  # scenarios on native histograms, in promtool 3's notation, with the period checks
    period: str | None  # the period group's checks, for classic SLIs (for a calendar SLO, the budget's reset)


def slo_test_files(service: Service, slo: SLO, group: RuleGroup, paging: list[str], both: list[str], period_group: RuleGroup) -> SLOTests:
    """The test files of one SLO's paging group (`group`, the one with the alerts). `paging` are
    the rule files holding that group alone, `both` those holding it and the period group: promtool
    evaluates every rule it loads at every step, so the scenarios load the paging group only and the
    period group's long windows (most of an SLO's evaluation cost) are proven once, after a steady
    half of the budget. An SLI that cannot be synthesised gets no scenarios (SLO_REPORT.md says so)."""
    try:
        scenarios = scenario_texts(service, slo, group.alerts)
    except series.Untestable:
        scenarios = {}
    period = scenarios.get("period")
    shown = [text for kind, text in scenarios.items() if kind != "period"]
    no_data = [r for r in group.alerts if r.alert == names.ALERT_NO_DATA]
    classic = [] if native(slo) else list(shown)
    classic += [to_yaml([_no_data_tests(no_data)])] if no_data else []  # no series: every promtool can run it
    natives = shown if native(slo) else []
    if slo.calendar is not None:  # the budget since the period started, across a boundary
        # No rule files: promtool evaluates what it loads every step, the written-out expressions only where asked.
        calendar = to_yaml({"rule_files": [], "evaluation_interval": "5m", "tests": [calendar_tests.calendar_test(service, slo, period_group)]})
        return SLOTests(_document(service, slo, group, paging, classic, False) if classic else None,
                        _document(service, slo, group, paging, natives, False) if natives else None, calendar)
    return SLOTests(
        _document(service, slo, group, paging, classic, False) if classic else None,
        _document(service, slo, group, both, natives, True) if natives else None,
        _document(service, slo, group, both, [period], True) if period is not None and not native(slo) else None,
    )


def _document(service: Service, slo: SLO, group: RuleGroup, rule_files: list[str], tests: list[str], period: bool) -> str:
    """A test file's YAML from its tests' (each a one-item list)."""
    head = to_yaml({
        "rule_files": rule_files,
        "evaluation_interval": _at(EVAL),
        # promtool evaluates every group at every step, in no set order unless told: the period
        # group reads this minute's windows, as a Prometheus evaluating it later in the minute would.
        "group_eval_order": [group.name, *([names.period_group_name(service.name, slo.name)] if period else [])],
    })
    return head + listed("tests", tests)


@dataclass(frozen=True)
class _Template:
    """One shape's scenarios as YAML with tokens (see Subject), and what each SLOT token stands for."""

    texts: dict[str, str]
    asked: tuple[Slot, ...]

    def fill(self, subject: Subject) -> dict[str, str]:
        values = [scalar(subject.value(slot)) for slot in self.asked]
        name = subject.service.name
        return {kind: _TOKENS.sub(lambda m: name if m[1] is None else values[int(m[1])], text) for kind, text in self.texts.items()}


# Per shape (see _shape): the first SLO of it, with its scenarios built directly; then the template
# proven to give those same bytes for it, or None where it does not (then every SLO is built directly).
_FIRST: dict[Hashable, tuple[Subject, dict[str, str]]] = {}
_TEMPLATES: dict[Hashable, _Template | None] = {}


def scenario_texts(service: Service, slo: SLO, alerts: list[AlertRule]) -> dict[str, str]:
    """Each scenario's test group as YAML (a one-item list), by kind.

    A fleet's services mostly share a few SLO shapes, whose scenarios differ only in the series and
    alert labels they name; those cost most of compiling. So a shape's second SLO builds a template
    with tokens for them, which is used only if filling it in for the first SLO gives exactly the
    bytes built directly for it; every later SLO of the shape only fills it in."""
    burns = [r for r in alerts if r.tier is not None]
    if not burns:
        return {}
    subject = Subject(service, slo, series.counters(slo), burns, series.groups(slo, 3), objective_of(slo))
    key = _shape(subject)
    if key is None:
        return _emitted(subject)
    if key in _TEMPLATES:
        template = _TEMPLATES[key]
        return template.fill(subject) if template is not None else _emitted(subject)
    if key not in _FIRST:
        _FIRST[key] = (subject, _emitted(subject))
        return _FIRST[key][1]
    first, built = _FIRST.pop(key)
    asked: dict[Slot, int] = {}
    texts = _emitted(replace(subject, asked=asked))
    template = _Template(texts, tuple(asked))  # the tokens in the order they were numbered
    _TEMPLATES[key] = template if template.fill(first) == built else None
    return template.fill(subject) if _TEMPLATES[key] is not None else _emitted(subject)


def _shape(subject: Subject) -> Hashable | None:
    """Everything the scenarios depend on but the per-service strings; None for a composite, whose
    scenarios read its parts' series."""
    slo = subject.slo
    if isinstance(slo.sli, CompositeSLI):
        return None
    counters = tuple((c.kind, c.bad, c.good, c.threshold) for c in subject.sli)
    alerts = tuple((r.alert, r.tier) for r in subject.alerts)
    groups = tuple(tuple(g.items()) for g in subject.groups)
    return (subject.numbers, slo.name, type(slo.sli).__name__, native(slo), slo.calendar, tuple(slo_windows(slo)), alerts, groups, counters)


def _emitted(subject: Subject) -> dict[str, str]:
    """The scenarios built for this subject, each group's YAML."""
    scenarios = slo_scenarios(subject)
    if native(subject.slo) and "period" in scenarios and subject.slo.calendar is None:
        # The period group's checks need the native file's notation: that file proves them.
        scenarios["half"]["promql_expr_test"] += scenarios["period"]["promql_expr_test"]
    return {kind: to_yaml([group]) for kind, group in scenarios.items()}
