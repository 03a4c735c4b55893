"""`obsgen check`: the specs against a running Prometheus.

The most common way an SLO breaks silently is a selector that selects nothing (a renamed metric, a
wrong job label, buckets that changed): its alerts can then never fire. For every selector the specs
use, this asks Prometheus how many series it selects now and over the last day; for classic latency
SLIs, which `le` bounds exist (both spellings, 1 and 1.0); whether an error selector picks series
its total does not; and how many series each SLO reads (per group, for per-group SLOs).

`targets` and `verdict` are pure; `check` runs the queries through the client it is given.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from obsgen.core import promql
from obsgen.model.project import Project
from obsgen.model.slo import SLO, CompositeSLI, ProbeSLI, RatioSLI, Service
from obsgen.remote.prometheus import Prometheus

Level = Literal["ok", "warning", "error"]
LOOKBACK = "1d"


@dataclass(frozen=True)
class Target:
    """One selector the specs use, and where."""

    service: str
    what: str  # "availability: total", "queue jobs: depth", "dashboard: cpu"
    selector: promql.Selector
    sli: bool  # an SLI's events: selecting nothing is an error, not a warning
    buckets: tuple[float, ...] = ()  # a classic latency SLI's bucket series: the bounds the spec declares
    events: bool = False  # the series that count the SLO's events: their number is what the rules read


@dataclass(frozen=True)
class Finding:
    service: str
    what: str
    selector: str
    level: Level
    message: str
    now: int | None = None  # series selected now
    day: int | None = None  # series selected at some point in the last day
    extra: dict[str, float] = field(default_factory=dict)


def _events(value: promql.Events | None) -> list[promql.Selector]:
    if isinstance(value, promql.WindowExpression):
        return list(value.selectors)
    return [value] if value is not None else []


def _sli_targets(service: Service, slo: SLO) -> list[Target]:
    sli, name = slo.sli, service.name
    if isinstance(sli, RatioSLI):
        # An error counter may rightly not exist before the first error: a warning, not an error.
        return [
            Target(name, f"{slo.name}: {role}", sel, role != "errors", events=role == "total")
            for role, value in (("errors", sli.errors), ("good", sli.good), ("total", sli.total))
            for sel in _events(value)
        ]
    if isinstance(sli, ProbeSLI):
        return [Target(name, f"{slo.name}: probe", sli.success, True, events=True)]
    if isinstance(sli, CompositeSLI):
        return []  # its parts' series, checked with the parts
    if sli.native:
        return [Target(name, f"{slo.name}: native histogram", sli.histogram, True, events=True)]
    assert sli.buckets is not None
    return [
        Target(name, f"{slo.name}: buckets", sli.bucket, True, tuple(sli.buckets)),
        Target(name, f"{slo.name}: count", sli.count, True, events=True),
    ]


def targets(project: Project) -> list[Target]:
    """Every selector of the specs: SLIs first, then operational alerts and dashboard panels."""
    found: list[Target] = []
    for service in project.services:
        for slo in service.slos:
            found += _sli_targets(service, slo)
        ops, name = service.ops, service.name
        for q in ops.queues:
            found += [Target(name, f"queue {q.name}: {role}", sel, False)
                      for role, sel in (("depth", q.depth.selector), ("oldest age", q.oldest_age), ("processed", q.processed), ("enqueued", q.enqueued),
                                        ("replicas", q.scale.replicas_of(name) if q.scale else None))
                      if sel is not None]
        for s in ops.saturation:
            found += [Target(name, f"saturation {s.name}: used", s.used, False), Target(name, f"saturation {s.name}: capacity", s.capacity, False)]
        for d in ops.dependencies:
            found += [Target(name, f"dependency {d.name}: failures", d.failures, False), Target(name, f"dependency {d.name}: total", d.total, False)]
        for a in ops.anomalies:
            found.append(Target(name, f"anomaly {a.name}", a.rate, False))
        resources = service.dashboard.resources
        found += [Target(name, f"dashboard: {role}", sel, False) for role, sel in (("cpu", resources.cpu), ("memory", resources.memory)) if sel]
    return found


def _le(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def verdict(target: Target, now: int, day: int, bounds: set[float] | None = None) -> tuple[Level, str]:
    """What the counts mean: an SLI selecting nothing, or missing a declared bucket, is an error."""
    if now == 0 and day == 0:
        level: Level = "error" if target.sli else "warning"
        why = "a renamed metric or a wrong label?"
        if target.what.endswith(("errors", "failures")):
            why = "a wrong label, or a counter that appears only with the first failure (initialise it at zero)"
        return level, f"selects no series now or in the last {LOOKBACK}: {why}"
    if now == 0:
        return ("error" if target.sli else "warning"), f"selected series in the last {LOOKBACK} but none now: has the target gone?"
    if target.buckets and bounds is not None:
        missing = [b for b in target.buckets if not any(math.isclose(b, found) for found in bounds)]
        extra = sorted(b for b in bounds if math.isfinite(b) and not any(math.isclose(b, d) for d in target.buckets))
        if missing:
            return "error", (
                f"declared bucket(s) {', '.join(f'{b:g}' for b in missing)} not exposed (the service has "
                f"{', '.join(f'{b:g}' for b in sorted(x for x in bounds if math.isfinite(x)))}): the SLI would read an empty series"
            )
        if extra:
            return "warning", f"the service also has bucket(s) {', '.join(f'{b:g}' for b in extra)} the spec does not declare"
    return "ok", "ok"


Count = Callable[[str], int]


def check(client: Prometheus, project: Project, at: float) -> list[Finding]:
    counts: dict[str, int] = {}

    def count(expr: str) -> int:
        """How many series `expr` counts at `at`; asked once per expression (selectors repeat across targets)."""
        if expr not in counts:
            found = client.query(expr, at)
            counts[expr] = int(found[0].value) if found and math.isfinite(found[0].value) else 0
        return counts[expr]

    findings = []
    for target in targets(project):
        rendered = target.selector.render()
        now = count(f"count({rendered})")
        day = count(f"count(last_over_time({rendered}[{LOOKBACK}]))")
        bounds = None
        if target.buckets:
            found = client.query(f"count by (le) (last_over_time({rendered}[{LOOKBACK}]))", at)
            bounds = {b for b in (_le(s.labels.get("le", "")) for s in found) if b is not None}
        level, message = verdict(target, now, day, bounds)
        findings.append(Finding(target.service, target.what, rendered, level, message, now, day))
    return findings + _subsets(count, project) + _cardinality(count, project)


def _subsets(count: Count, project: Project) -> list[Finding]:
    """An errors (or good) selector on the total's own metric must pick only series the total picks."""
    out = []
    for service in project.services:
        for slo in service.slos:
            sli = slo.sli
            if not isinstance(sli, RatioSLI) or not isinstance(sli.total, promql.Selector):
                continue
            for role, part in (("errors", sli.errors), ("good", sli.good)):
                if not isinstance(part, promql.Selector) or part.name != sli.total.name:
                    continue
                stray = count(f"count({part.render()} unless {sli.total.render()})")
                if stray:
                    out.append(Finding(service.name, f"{slo.name}: {role}", part.render(), "warning",
                                       f"selects {stray} series the total does not: they count as {role} but not as events"))
    return out


def _cardinality(count: Count, project: Project) -> list[Finding]:
    """Series each SLO's rules read, and how many groups a per-group SLO has."""
    out = []
    for service in project.services:
        for slo in service.slos:
            main = next((t for t in _sli_targets(service, slo) if t.events), None)
            if main is None:
                continue
            rendered = main.selector.render()
            series = count(f"count({rendered})")
            extra = {"series": float(series)}
            message = f"the SLO reads {series} series"
            if slo.group_by:
                groups = count(f"count(count by ({', '.join(slo.group_by)}) ({rendered}))")
                extra["groups"] = float(groups)
                message += f" in {groups} group(s) by {', '.join(slo.group_by)}: each has its own recordings and alerts"
            out.append(Finding(service.name, f"{slo.name}: cardinality", rendered, "ok", message, series, None, extra))
    return out
