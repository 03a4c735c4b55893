"""promtool tests for the operational alerts: each fires on a synthetic backlog, exhaustion or
outage at the evaluation its `for` predicts, and stays quiet on healthy series. Pure."""
from __future__ import annotations

import math
from typing import Any

from obsgen.core import promql
from obsgen.core.durations import format_duration
from obsgen.core.slo_math import MINUTE
from obsgen.model.ops import Queue
from obsgen.model.slo import Service
from obsgen.prometheus import ops_rules, series

# Operational alerts hold for minutes (`for`) and one compares with last week, so their tests run
# in a file of their own, evaluated every 5 minutes: a week of one-minute evaluations of every rule
# of the service would take promtool minutes.
EVAL = 300

RATE = 600.0  # events per minute in the counter scenarios


def _labels(sel: promql.Selector, extra: dict[str, str] | None = None) -> str:
    labels = {**series.satisfy(sel.matchers), **(extra or {})}
    return promql.Selector.of(sel.name, **dict(sorted(labels.items()))).render()


def _gauge(phases: list[tuple[float, int]]) -> str:
    """promtool notation for a gauge holding each value for so many one-minute samples."""
    return " ".join(f"{promql.number(v)}x{m - 1}" for v, m in phases if m > 0)


def _firing(alert: str, service: Service, extra: dict[str, str]) -> str:
    return f"count({promql.Selector.of('ALERTS', alertstate='firing', alertname=alert, service=service.name, **extra).render()})"


def _checks(alert: str, service: Service, extra: dict[str, str], quiet_at: list[int], firing_at: list[int]) -> list[dict[str, Any]]:
    expr = _firing(alert, service, extra)
    out: list[dict[str, Any]] = [{"expr": expr, "eval_time": format_duration(t), "exp_samples": []} for t in quiet_at]
    out += [{"expr": expr, "eval_time": format_duration(t), "exp_samples": [{"labels": "{}", "value": 1}]} for t in firing_at]
    return out


def _fires_after(start: int, hold: int) -> int:
    """First evaluation at which a condition true from `start` on has held for `hold` seconds."""
    return math.ceil((start + hold) / EVAL) * EVAL


def _group(name: str, input_series: list[dict[str, str]], checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "interval": "1m", "input_series": input_series, "promql_expr_test": checks}


def test_file(service: Service, rule_file: str) -> dict[str, Any] | None:
    """The promtool test file for a service's operational alerts; None when it has none."""
    tests = ops_tests(service)
    if not tests:
        return None
    return {"rule_files": [rule_file], "evaluation_interval": format_duration(EVAL), "tests": tests}


def _at_max(service: Service, q: Queue, depth: str, start: int) -> list[dict[str, Any]]:
    """A backlog that grows past what the maximum replicas should hold: it pages while the workers
    are at max, and stays quiet while the scaler still has replicas to add."""
    assert q.scale is not None
    what = {"queue": q.name}
    held = q.scale.target_per_replica * q.scale.max
    minutes = (start + q.for_ + 2 * EVAL) // MINUTE + 1
    steady = start // MINUTE
    growing = f"{_gauge([(held / 2, steady)])} {promql.number(held * 1.5)}+{promql.number(held / 100)}x{minutes - steady}"
    replicas = _labels(q.scale.replicas_of(service.name))
    fires = _fires_after(start, q.for_)
    return [
        _group(
            f"ops {q.name}: growing past {promql.number(held)} with the workers at max ({q.scale.max}) fires {ops_rules.QUEUE_AT_MAX}",
            [{"series": depth, "values": growing},
             {"series": replicas, "values": _gauge([(q.scale.max - 1, steady), (q.scale.max, minutes - steady + 1)])}],
            _checks(ops_rules.QUEUE_AT_MAX, service, what, [start - EVAL, fires - EVAL], [fires]),
        ),
        _group(
            f"ops {q.name}: the same backlog with replicas still to add ({q.scale.max - 1} of {q.scale.max}) stays quiet",
            [{"series": depth, "values": growing}, {"series": replicas, "values": _gauge([(q.scale.max - 1, minutes + 1)])}],
            _checks(ops_rules.QUEUE_AT_MAX, service, what, [start, fires, fires + EVAL], []),
        ),
    ]


def ops_tests(service: Service) -> list[dict[str, Any]]:
    ops = service.ops
    groups = []
    start = 30 * MINUTE  # healthy first; the condition starts here, on an evaluation
    for q in ops.queues:
        what = {"queue": q.name}
        depth = _labels(q.depth.selector)  # one series: its sum, max, min or average is itself
        total = (start + q.for_ + 2 * EVAL) // MINUTE + 1
        over = _fires_after(start, q.for_)
        groups.append(_group(
            f"ops {q.name}: a backlog over {q.max_depth} fires after {format_duration(q.for_)}, a healthy queue stays quiet",
            [{"series": depth, "values": _gauge([(q.max_depth / 2, start // MINUTE), (q.max_depth * 2, total - start // MINUTE)])}],
            _checks(ops_rules.QUEUE_BACKLOG, service, what, [start - EVAL, over - EVAL], [over]),
        ))
        if q.oldest_age and q.max_age:
            age = q.max_age
            groups.append(_group(
                f"ops {q.name}: messages older than {format_duration(age)} fire after {format_duration(q.for_)}",
                [{"series": _labels(q.oldest_age), "values": _gauge([(age / 2, start // MINUTE), (age * 2, total - start // MINUTE)])}],
                _checks(ops_rules.QUEUE_AGE, service, what, [start - EVAL, over - EVAL], [over]),
            ))
        # A backlog growing steadily toward the limit: the trend passes max_depth within drain_within.
        horizon = q.drain_within // MINUTE
        growth = q.max_depth / horizon  # per minute: reaches max_depth in one drain_within from empty
        grow_minutes = (ops_rules.DRAIN_TREND + q.for_ + 2 * EVAL) // MINUTE
        steady = start // MINUTE
        values = f"{_gauge([(0, steady)])} 0+{promql.number(growth)}x{grow_minutes}"
        late = (steady + grow_minutes) * MINUTE
        groups.append(_group(
            f"ops {q.name}: a backlog growing toward {q.max_depth} fires QueueNotDraining; an empty queue does not",
            [{"series": depth, "values": values}],
            _checks(ops_rules.QUEUE_DRAIN, service, what, [start - EVAL], [late]),
        ))
        if q.scale:
            groups += _at_max(service, q, depth, start)
    for s in ops.saturation:
        what = {"resource": s.name}
        used, capacity = _labels(s.used, {b: "x" for b in s.by}), _labels(s.capacity, {b: "x" for b in s.by})
        hold = s.for_ // MINUTE
        phases = [(s.warning / 2, start // MINUTE), ((s.warning + s.critical) / 2, hold + 10), (min(100.0, s.critical + (100 - s.critical) / 2), hold + 10)]
        warn_at = _fires_after(start, s.for_)
        crit_start = start + (hold + 10) * MINUTE
        crit_at = _fires_after(crit_start, s.for_)
        checks = _checks(ops_rules.SATURATION, service, {**what, "severity": "warning"}, [start - EVAL, warn_at - EVAL], [warn_at])
        checks += _checks(ops_rules.SATURATION, service, {**what, "severity": "critical"}, [warn_at, crit_at - EVAL], [crit_at])
        groups.append(_group(
            f"ops {s.name}: over {s.warning:g}% warns, over {s.critical:g}% is critical, each after {format_duration(s.for_)}",
            [{"series": used, "values": _gauge(phases)}, {"series": capacity, "values": _gauge([(100, sum(m for _, m in phases))])}],
            checks,
        ))
    for d in ops.dependencies:
        what = {"dependency": d.name}
        minutes = (start + d.for_ + 3 * EVAL) // MINUTE
        bad = min(1.0, d.max_failure_ratio / 100 * 3)
        traffic = [series.Phase.of(start // MINUTE, RATE, 0), series.Phase.of(minutes - start // MINUTE, RATE, bad)]
        calls = series.input_series(series.ratio_counters(d.failures, d.total), traffic)
        # Quiet until the condition can have held for `for` (failures start after `start`); firing
        # once the rate window is full of them and `for` has passed.
        at = _fires_after(start + ops_rules.RATE_WINDOW, d.for_)
        groups.append(_group(
            f"ops {d.name}: {bad:.0%} failed calls fire after {format_duration(d.for_)}; none fail before",
            calls,
            _checks(ops_rules.DEPENDENCY_ERRORS, service, what, [start - EVAL, start + d.for_], [at + EVAL]),
        ))
        if d.latency:
            base = d.latency.histogram
            labels = series.satisfy(base.matchers)
            slow_start = start // MINUTE
            buckets = []
            for bound, fast_share, slow_share in ((d.latency.max / 2, 1.0, 0.0), (d.latency.max * 2, 1.0, 1.0), (None, 1.0, 1.0)):
                le = "+Inf" if bound is None else promql.number(bound)
                sel = promql.Selector.of(base.name + "_bucket", **dict(sorted({**labels, "le": le}.items()))).render()
                values = series.counter_values([(RATE * fast_share, slow_start), (RATE * slow_share, minutes - slow_start)])
                buckets.append({"series": sel, "values": values})
            at = _fires_after(start + ops_rules.RATE_WINDOW, d.for_)
            groups.append(_group(
                f"ops {d.name}: p{d.latency.percentile:g} over {d.latency.max:g} s fires after {format_duration(d.for_)}; fast calls do not",
                buckets, _checks(ops_rules.DEPENDENCY_LATENCY, service, what, [start - EVAL, start + d.for_], [at + EVAL]),
            ))
    for a in ops.anomalies:
        what = {"signal": a.name}
        week = ops_rules.WEEK // MINUTE
        drop = series.exact(RATE * a.min_ratio / 100 / 2)
        after = (a.for_ + 4 * EVAL) // MINUTE
        values = series.counter_values([(RATE, week + start // MINUTE), (drop, after)])
        begin = week * MINUTE + start
        at = _fires_after(begin + ops_rules.ANOMALY_WINDOW, a.for_)
        groups.append(_group(
            f"ops {a.name}: a fall to {a.min_ratio / 2:g}% of last week fires after {format_duration(a.for_)}; a normal week does not",
            [{"series": _labels(a.rate), "values": values}],
            _checks(ops_rules.TRAFFIC_DROP, service, what, [begin - EVAL, begin + EVAL], [at + EVAL]),
        ))
    return groups



