"""Prometheus alerts for the operational signals of alerts/<service>.yaml. Pure.

Queue backlogs, resource saturation, failing or slow external dependencies, and traffic that
falls far below the same time last week. One group per service, evaluated every minute.
"""
from __future__ import annotations

from typing import Any

from obsgen import names, promql
from obsgen.durations import parse_duration
from obsgen.ops_spec import OpsSpec
from obsgen.spec import Service

DRAIN_TREND = "30m"  # the trend predict_linear extends
SMALL_BACKLOG = 0.1  # of max_depth: a backlog smaller than this never counts as "not draining"

QUEUE_BACKLOG = "QueueBacklogHigh"
QUEUE_AGE = "QueueMessagesTooOld"
QUEUE_DRAIN = "QueueNotDraining"
SATURATION = "ResourceSaturated"
DEPENDENCY_ERRORS = "DependencyErrorsHigh"
DEPENDENCY_LATENCY = "DependencyLatencyHigh"
TRAFFIC_DROP = "TrafficDropped"
ALERTS = (QUEUE_BACKLOG, QUEUE_AGE, QUEUE_DRAIN, SATURATION, DEPENDENCY_ERRORS, DEPENDENCY_LATENCY, TRAFFIC_DROP)


def runbook_url(service: Service, alert: str) -> str:
    """The service's runbook, at the section docs/runbooks.md gives every alert obsgen writes."""
    return f"{service.runbook}#{alert.lower()}"


def _alert(service: Service, spec: Any, name: str, expr: str, severity: str, what: dict[str, str],
           summary: str, description: str, dashboard_url: str) -> dict[str, Any]:
    labels = {names.SEVERITY: spec.severity or severity, names.TEAM: spec.team or service.team, names.SERVICE: service.service, **what}
    annotations = {"summary": summary, "description": description, "runbook_url": runbook_url(service, name)}
    if dashboard_url:
        annotations["dashboard_url"] = dashboard_url
    return {"alert": name, "expr": expr, "for": spec.for_, "labels": labels, "annotations": annotations}


def ops_groups(service: Service, ops: OpsSpec, dashboard_url: str = "") -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for q in ops.queues:
        depth = q.depth
        what = {"queue": q.name}
        rules.append(_alert(
            service, q, QUEUE_BACKLOG, f"{depth} > {q.max_depth}", "warning", what,
            f"The {q.name} queue of {service.service} holds more than {q.max_depth} messages.",
            "{{ $value | humanize }} messages wait in {{ $labels.queue }}; workers are not keeping up.", dashboard_url,
        ))
        if q.oldest_age and q.max_age:
            rules.append(_alert(
                service, q, QUEUE_AGE, f"{q.oldest_age} > {parse_duration(q.max_age)}", "warning", what,
                f"Messages in the {q.name} queue of {service.service} wait longer than {q.max_age}.",
                "The oldest message in {{ $labels.queue }} is {{ $value | humanizeDuration }} old.", dashboard_url,
            ))
        horizon = parse_duration(q.drain_within)
        trend = f"predict_linear({depth}[{DRAIN_TREND}], {horizon})"
        # Will pass the limit within drain_within, or a real backlog will still be there then.
        expr = f"{trend} > {q.max_depth}\nor\n({depth} > {promql.number(q.max_depth * SMALL_BACKLOG)} and {trend} > 0)\n"
        rules.append(_alert(
            service, q, QUEUE_DRAIN, expr, "warning", what,
            f"The {q.name} queue of {service.service} will not drain within {q.drain_within}.",
            f"At the last {DRAIN_TREND}'s pace, {{{{ $labels.queue }}}} still holds {{{{ $value | humanize }}}} messages "
            f"in {q.drain_within}, or passes {q.max_depth}.", dashboard_url,
        ))
    for s in ops.saturation:
        by = ", ".join(s.by)
        usage = f"sum by ({by}) ({s.used}) / sum by ({by}) ({s.capacity}) * 100"
        for severity, level in (("warning", s.warning), ("critical", s.critical)):
            rules.append(_alert(
                service, s, SATURATION, f"{usage} > {promql.number(level)}", severity, {"resource": s.name},
                f"{s.name} of {service.service} is more than {level:g}% used.",
                f"{{{{ $labels.resource }}}} is at {{{{ $value | humanize }}}}% of capacity (over {level:g}%).", dashboard_url,
            ))
    for d in ops.dependencies:
        window = "5m"
        ratio = f"sum(rate({d.failures}[{window}])) / sum(rate({d.total}[{window}])) * 100"
        rules.append(_alert(
            service, d, DEPENDENCY_ERRORS, f"{ratio} > {promql.number(d.max_failure_ratio)}", "critical",
            {"dependency": d.name},
            f"Calls from {service.service} to {d.name} fail more than {d.max_failure_ratio:g}% of the time.",
            f"{{{{ $value | humanize }}}}% of calls to {d.name} failed over the last {window}.", dashboard_url,
        ))
        if d.latency:
            base = promql.parse_selector(d.latency.histogram)
            buckets = base.with_name(base.name + "_bucket").render()
            q = promql.number(d.latency.percentile / 100)
            expr = f"histogram_quantile({q}, sum by (le) (rate({buckets}[{window}]))) > {promql.number(d.latency.max)}"
            rules.append(_alert(
                service, d, DEPENDENCY_LATENCY, expr, "warning", {"dependency": d.name},
                f"p{d.latency.percentile:g} latency of {d.name} is above {d.latency.max:g} s.",
                f"p{d.latency.percentile:g} of calls to {d.name} took {{{{ $value | humanizeDuration }}}}.", dashboard_url,
            ))
    for a in ops.anomalies:
        now, before = f"sum(rate({a.rate}[10m]))", f"sum(rate({a.rate}[10m] offset 1w))"
        expr = f"{now} < {promql.number(a.min_ratio / 100)} * {before}\nand\n{before} > 0\n"
        rules.append(_alert(
            service, a, TRAFFIC_DROP, expr, "warning", {"signal": a.name},
            f"{a.name} of {service.service} fell below {a.min_ratio:g}% of last week's.",
            f"{a.name} runs at {{{{ $value | humanize }}}} per second, under {a.min_ratio:g}% of the same time one week ago.",
            dashboard_url,
        ))
    if not rules:
        return []
    # Groups of at most 20 rules, as the mixins do.
    return [
        {"name": f"ops:{service.service}" + (f":{i // 20 + 1}" if len(rules) > 20 else ""), "interval": "1m", "rules": rules[i : i + 20]}
        for i in range(0, len(rules), 20)
    ]
