"""Validated spec files -> the typed model: defaults applied, tiers resolved, alerts attached."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from obsgen.core import slo_math
from obsgen.core.guard import Guard
from obsgen.model.ops import Operations
from obsgen.model.slo import SLI, SLO, AlertTier, Dashboard, Service
from obsgen.spec.files import OpsFile, ServiceFile, SLOSpec

Tiers = Sequence[AlertTier] | None


def tier_set(spec: SLOSpec, service_tiers: Tiers = None, project_tiers: Tiers = None) -> tuple[slo_math.Tier, ...]:
    """The SLO's tiers, fastest first: its own, else its service's, else the project's, else the
    Workbook's (any that a total outage could not fire scaled to fire at half its window failing:
    see slo_math.reachable; tiers a user wrote are never changed, an impossible one is an error)."""
    declared = spec.alerting.tiers or service_tiers or project_tiers
    if not declared:
        return slo_math.reachable(slo_math.DEFAULT_TIERS, spec.objective, spec.period)
    return tuple(sorted((t.tier(spec.period) for t in declared), key=lambda t: (t.long_window, t.short_window)))


def enabled_tiers(spec: SLOSpec, tiers: tuple[slo_math.Tier, ...]) -> tuple[slo_math.Tier, ...]:
    """The tiers whose severity the SLO's `alerting` leaves on."""
    on = {"critical": spec.alerting.critical, "warning": spec.alerting.warning}
    return tuple(t for t in tiers if on[t.severity])


def _sli(spec: SLOSpec) -> SLI:
    sli = spec.sli.ratio or spec.sli.latency or spec.sli.probe
    assert sli is not None, "SLISpec holds exactly one"
    return sli


def slo(spec: SLOSpec, service_runbook: str, service_tiers: Tiers = None, project_tiers: Tiers = None) -> SLO:
    tiers = tier_set(spec, service_tiers, project_tiers)
    return SLO(
        name=spec.name,
        objective=spec.objective,
        period=spec.period,
        sli=_sli(spec),
        runbook=spec.runbook or service_runbook,
        tiers=enabled_tiers(spec, tiers),
        tier_set=tiers,
        description=spec.description,
        group_by=tuple(spec.group_by),
        min_events=spec.min_events,
        guard=guard_of(spec),
        expected_rate=spec.expected_rate,
        no_data=spec.alerting.no_data,
        alert_labels=dict(spec.alerting.labels),
        alert_annotations=dict(spec.alerting.annotations),
        policy=spec.policy,
    )


def guard_of(spec: SLOSpec) -> Guard | None:
    return Guard(spec.guard.confidence, spec.guard.min_errors) if spec.guard.enabled else None


def service(spec: ServiceFile, ops: OpsFile | None, project_tiers: Tiers = None) -> Service:
    return Service(
        name=spec.service,
        team=spec.team,
        runbook=spec.runbook,
        slos=tuple(slo(s, spec.runbook, spec.tiers, project_tiers) for s in spec.slos),
        dashboard=Dashboard(spec.dashboard.folder or spec.team, spec.dashboard.breakdown, spec.dashboard.resources),
        description=spec.description,
        labels=dict(spec.labels),
        depends_on=tuple(spec.depends_on),
        ops=_operations(ops),
    )


def _operations(spec: OpsFile | None) -> Operations:
    if spec is None:
        return Operations()
    # Already validated: the file's lists, without its `service` key.
    return Operations.model_construct(**{name: getattr(spec, name) for name in Operations.model_fields})


def service_from_dict(data: dict[str, Any]) -> Service:
    """A service of the typed model from a spec given as data (benchmarks, tests); no file:line errors."""
    return service(ServiceFile.model_validate(data), None)
