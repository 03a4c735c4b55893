"""`obsgen gate`: may we deploy? Each SLO's error budget left and alert state, against its policy.

The budget left is the attainment report's (live/attainment.py: the period's errors over its
events from the raw series, ending at the gate's moment), per group for a per-group SLO, where the
worst group decides. The alerts firing come from Prometheus's `ALERTS`. A policy comes from the
spec (`policy:`), else the gate's defaults (an exhausted budget or a firing page blocks); command
line flags override both. An SLO without events in its period cannot be decided: never a silent go.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from obsgen.core import names, promql, slo_math
from obsgen.core.durations import format_duration
from obsgen.errors import CannotDecide
from obsgen.live import select
from obsgen.live.attainment import Span, measure
from obsgen.model.project import Project
from obsgen.model.slo import SLO, Policy, Service
from obsgen.remote.prometheus import Prometheus

GO, BLOCKED, UNKNOWN = "go", "blocked", "cannot decide"


@dataclass(frozen=True)
class Verdict:
    service: str
    slo: str
    decision: str  # GO, BLOCKED or UNKNOWN
    budget_left: float | None  # of the period's budget, the worst group's; None: no events
    group: dict[str, str]  # the worst group's labels, {} for one budget
    firing: list[dict[str, str]]  # the SLO's alerts firing now that the policy freezes on
    policy: Policy
    policy_from: str  # where the policy came from: the spec, the flags, the defaults
    reasons: list[str]

    @property
    def name(self) -> str:
        return f"{self.service}/{self.slo}"


def policy_for(slo: SLO, min_budget: float | None, freeze_on: Sequence[slo_math.Severity] | None) -> tuple[Policy, str]:
    base, source = (slo.policy, "the spec") if slo.policy is not None else (Policy(), "the defaults")
    if min_budget is None and freeze_on is None:
        return base, source
    changed = base.model_copy(update={k: v for k, v in (("min_budget", min_budget), ("freeze_on", list(freeze_on or []) or None)) if v is not None})
    return changed, "the command line" if source == "the defaults" else "the spec and the command line"


def decide(client: Prometheus, service: Service, slo: SLO, at: float, policy: Policy, source: str) -> Verdict:
    span = Span("period", slo.period_start(at), at)
    found = measure(client, slo, span)
    lefts = [(a.budget_left, key) for key, a in found.items() if a.budget_left is not None]
    selector = promql.Selector.of("ALERTS", alertstate="firing", **{names.SERVICE: service.name, names.SLO: slo.name}).render()
    firing = [s.labels for s in client.query(selector, at) if s.labels.get(names.SEVERITY) in policy.freeze_on]
    if not lefts:
        return Verdict(service.name, slo.name, UNKNOWN, None, {}, firing, policy, source,
                       [f"no events in its {slo.calendar.label() if slo.calendar else format_duration(slo.period)} period up to then: the budget cannot be measured"])
    left, key = min(lefts)
    group = dict(zip(slo.group_by, key, strict=False)) if slo.group_by else {}
    reasons = []
    floor = float(policy.min_budget) / 100
    if left < floor or left <= 0:
        where = "".join(f" ({k}={v})" for k, v in group.items())
        reasons.append(f"{left:.1%} of the budget left{where}, below the policy's {float(policy.min_budget):g}% (from {source})"
                       if floor > 0 else f"the budget is spent{where}: {left:.1%} left")
    for labels in firing:
        window = labels.get(names.LONG_WINDOW)
        what = f"{labels.get(names.ALERTNAME, '?')}{f' {window}' if window else ''} ({labels.get(names.SEVERITY)})"
        reasons.append(f"{what} is firing, and the policy freezes on {', '.join(policy.freeze_on)} alerts (from {source})")
    return Verdict(service.name, slo.name, BLOCKED if reasons else GO, left, group, firing, policy, source, reasons)


def gate(client: Prometheus, project: Project, at: float, services: Sequence[str] = (), slos: Sequence[str] = (),
         min_budget: float | None = None, freeze_on: Sequence[slo_math.Severity] | None = None) -> list[Verdict]:
    picked = select.chosen(project, services, slos)
    if not picked:
        raise CannotDecide("no SLO to gate: the specs have none")
    return [decide(client, service, slo, at, *policy_for(slo, min_budget, freeze_on)) for service, slo in picked]
