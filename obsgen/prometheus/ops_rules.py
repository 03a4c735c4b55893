"""Prometheus alerts for a service's operational signals (alerts/<service>.yaml). Pure.

Queue backlogs, resource saturation, failing or slow external dependencies, and traffic that
falls far below the same time last week. One group per service, evaluated every minute. The
windows below are the ones ops_tests.py predicts firing times from.
"""
from __future__ import annotations

from obsgen.core import names, promql
from obsgen.core.durations import format_duration
from obsgen.core.rules import AlertRule, AlertText, RuleGroup, alert, runbook_section
from obsgen.model.ops import Anomaly, ExternalDependency, Queue, Saturation
from obsgen.model.slo import Service

INTERVAL = 60
DRAIN_TREND = 1800  # the trend predict_linear extends
RATE_WINDOW = 300  # failed and slow calls to a dependency
ANOMALY_WINDOW = 600  # traffic now and one week earlier
WEEK = 7 * 86400
LAST_WEEK = "1w"  # the offset as written in the expression: WEEK
SMALL_BACKLOG = 0.1  # of max_depth: a backlog smaller than this never counts as "not draining"
GROUP_SIZE = 20  # rules per group at most, as the monitoring mixins do

QUEUE_BACKLOG = "QueueBacklogHigh"
QUEUE_AGE = "QueueMessagesTooOld"
QUEUE_DRAIN = "QueueNotDraining"
QUEUE_AT_MAX = "QueueCannotCatchUp"
GROWTH_WINDOW = 900  # the backlog's trend while the workers are at max (a subquery at 1m)
SATURATION = "ResourceSaturated"
DEPENDENCY_ERRORS = "DependencyErrorsHigh"
DEPENDENCY_LATENCY = "DependencyLatencyHigh"
TRAFFIC_DROP = "TrafficDropped"
ALERTS = (QUEUE_BACKLOG, QUEUE_AGE, QUEUE_DRAIN, QUEUE_AT_MAX, SATURATION, DEPENDENCY_ERRORS, DEPENDENCY_LATENCY, TRAFFIC_DROP)

Signal = Queue | Saturation | ExternalDependency | Anomaly


def ops_alert(
    service: Service, spec: Signal, name: str, expr: str, severity: str, what: dict[str, str],
    summary: str, description: str, dashboard_url: str,
) -> AlertRule:
    """An operational alert: the signal's own team and severity, else the service's team and the kind's."""
    return alert(
        name, expr, severity=spec.severity or severity, team=spec.team or service.team, service=service.name,
        identity=what, text=AlertText(summary, description, runbook_section(service.runbook, name), dashboard_url), for_=spec.for_,
    )


def drain_trend(depth: promql.Gauge, horizon: int) -> str:
    return f"predict_linear({depth.ranged(format_duration(DRAIN_TREND))}, {horizon})"


def _queue(service: Service, q: Queue, url: str) -> list[AlertRule]:
    depth = q.depth.render()
    what = {"queue": q.name}
    rules = [ops_alert(
        service, q, QUEUE_BACKLOG, f"{depth} > {q.max_depth}", "warning", what,
        f"The {q.name} queue of {service.name} holds more than {q.max_depth} messages.",
        "{{ $value | humanize }} messages wait in {{ $labels.queue }}; workers are not keeping up.", url,
    )]
    if q.oldest_age and q.max_age:
        rules.append(ops_alert(
            service, q, QUEUE_AGE, f"{q.oldest_age.render()} > {q.max_age}", "warning", what,
            f"Messages in the {q.name} queue of {service.name} wait longer than {format_duration(q.max_age)}.",
            "The oldest message in {{ $labels.queue }} is {{ $value | humanizeDuration }} old.", url,
        ))
    trend = drain_trend(q.depth, q.drain_within)
    drain = format_duration(q.drain_within)
    # Will pass the limit within drain_within, or a real backlog will still be there then.
    expr = f"{trend} > {q.max_depth}\nor\n({depth} > {promql.number(q.max_depth * SMALL_BACKLOG)} and {trend} > 0)\n"
    rules.append(ops_alert(
        service, q, QUEUE_DRAIN, expr, "warning", what,
        f"The {q.name} queue of {service.name} will not drain within {drain}.",
        f"At the last {format_duration(DRAIN_TREND)}'s pace, {{{{ $labels.queue }}}} still holds {{{{ $value | humanize }}}} messages "
        f"in {drain}, or passes {q.max_depth}.", url,
    ))
    if q.scale:
        rules.append(_cannot_catch_up(service, q, url))
    return rules


def _cannot_catch_up(service: Service, q: Queue, url: str) -> AlertRule:
    """The scaler has done all it may: the workers are at `max` and the backlog, more than they
    are meant to hold, still grows. (A high backlog alone is the scaler's job, not a page.)"""
    assert q.scale is not None
    total = q.total_depth
    replicas = q.scale.replicas_of(service.name).render()
    expr = (
        f"{total} > {promql.number(q.scale.target_per_replica * q.scale.max)}\n"
        f"and on () deriv(({total})[{format_duration(GROWTH_WINDOW)}:1m]) > 0\n"
        f"and on () sum({replicas}) >= {q.scale.max}\n"
    )
    workload = q.scale.workload(service.name)
    return ops_alert(
        service, q, QUEUE_AT_MAX, expr, "critical", {"queue": q.name},
        f"The {q.name} queue of {service.name} grows although {workload} runs its maximum of {q.scale.max} replicas.",
        f"{{{{ $value | humanize }}}} messages wait in {q.name} and the backlog still grows over {format_duration(GROWTH_WINDOW)}: "
        f"scaling cannot catch up. Raise the maximum, or find what slows the workers.", url,
    )


def _saturation(service: Service, s: Saturation, url: str) -> list[AlertRule]:
    usage = f"{promql.usage_ratio(s.used.render(), s.capacity.render(), s.by)} * 100"
    return [
        ops_alert(
            service, s, SATURATION, f"{usage} > {promql.number(level)}", severity, {"resource": s.name},
            f"{s.name} of {service.name} is more than {level:g}% used.",
            f"{{{{ $labels.resource }}}} is at {{{{ $value | humanize }}}}% of capacity (over {level:g}%).", url,
        )
        for severity, level in (("warning", s.warning), ("critical", s.critical))
    ]


def _dependency(service: Service, d: ExternalDependency, url: str) -> list[AlertRule]:
    window = format_duration(RATE_WINDOW)
    ratio = f"sum(rate({d.failures.render()}[{window}])) / sum(rate({d.total.render()}[{window}])) * 100"
    rules = [ops_alert(
        service, d, DEPENDENCY_ERRORS, f"{ratio} > {promql.number(d.max_failure_ratio)}", "critical", {"dependency": d.name},
        f"Calls from {service.name} to {d.name} fail more than {d.max_failure_ratio:g}% of the time.",
        f"{{{{ $value | humanize }}}}% of calls to {d.name} failed over the last {window}.", url,
    )]
    if d.latency:
        buckets = d.latency.histogram.with_name(d.latency.histogram.name + "_bucket").render()
        q = promql.number(d.latency.percentile / 100)
        expr = f"histogram_quantile({q}, sum by (le) (rate({buckets}[{window}]))) > {promql.number(d.latency.max)}"
        rules.append(ops_alert(
            service, d, DEPENDENCY_LATENCY, expr, "warning", {"dependency": d.name},
            f"p{d.latency.percentile:g} latency of {d.name} is above {d.latency.max:g} s.",
            f"p{d.latency.percentile:g} of calls to {d.name} took {{{{ $value | humanizeDuration }}}}.", url,
        ))
    return rules


def _anomaly(service: Service, a: Anomaly, url: str) -> list[AlertRule]:
    window = format_duration(ANOMALY_WINDOW)
    now, before = f"sum(rate({a.rate.render()}[{window}]))", f"sum(rate({a.rate.render()}[{window}] offset {LAST_WEEK}))"
    expr = f"{now} < {promql.number(a.min_ratio / 100)} * {before}\nand\n{before} > 0\n"
    return [ops_alert(
        service, a, TRAFFIC_DROP, expr, "warning", {"signal": a.name},
        f"{a.name} of {service.name} fell below {a.min_ratio:g}% of last week's.",
        f"{a.name} runs at {{{{ $value | humanize }}}} per second, under {a.min_ratio:g}% of the same time one week ago.", url,
    )]


def ops_groups(service: Service, dashboard_url: str = "") -> list[RuleGroup]:
    ops = service.ops
    rules = [r for q in ops.queues for r in _queue(service, q, dashboard_url)]
    rules += [r for s in ops.saturation for r in _saturation(service, s, dashboard_url)]
    rules += [r for d in ops.dependencies for r in _dependency(service, d, dashboard_url)]
    rules += [r for a in ops.anomalies for r in _anomaly(service, a, dashboard_url)]
    several = len(rules) > GROUP_SIZE
    return [
        RuleGroup(names.ops_group_name(service.name, i // GROUP_SIZE + 1 if several else 0), tuple(rules[i : i + GROUP_SIZE]), INTERVAL)
        for i in range(0, len(rules), GROUP_SIZE)
    ]
