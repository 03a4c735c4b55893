"""Validated spec files -> the typed model: defaults applied, tiers resolved, alerts attached."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from obsgen.core import slo_math
from obsgen.core.guard import Guard
from obsgen.model.ops import Operations
from obsgen.model.slo import SLI, SLO, AlertTier, CompositeSLI, Dashboard, Part, Service
from obsgen.spec.files import OpsFile, ServiceFile, SLOSpec

Parts = Callable[[str, str], SLO]  # (service, slo) -> that SLO, resolved

Tiers = Sequence[AlertTier] | None


def tier_set(spec: SLOSpec, service_tiers: Tiers = None, project_tiers: Tiers = None) -> tuple[slo_math.Tier, ...]:
    """The SLO's tiers, fastest first: its own, else its service's, else the project's, else the
    Workbook's (any that a total outage could not fire scaled to fire at half its window failing:
    see slo_math.reachable; tiers a user wrote are never changed, an impossible one is an error)."""
    declared = spec.alerting.tiers or service_tiers or project_tiers
    if not declared:
        return slo_math.reachable(slo_math.DEFAULT_TIERS, spec.objective, spec.seconds)
    return tuple(sorted((t.tier(spec.seconds) for t in declared), key=lambda t: (t.long_window, t.short_window)))


def enabled_tiers(spec: SLOSpec, tiers: tuple[slo_math.Tier, ...]) -> tuple[slo_math.Tier, ...]:
    """The tiers whose severity the SLO's `alerting` leaves on."""
    on = {"critical": spec.alerting.critical, "warning": spec.alerting.warning}
    return tuple(t for t in tiers if on[t.severity])


def part_of(ref: str, service: str) -> tuple[str, str]:
    """(service, slo) a composite's part names: `service/slo`, or an SLO of `service` by name."""
    owner, _, name = ref.rpartition("/")
    return owner or service, name


def _sli(spec: SLOSpec, service: str, parts: Parts | None) -> SLI:
    composite = spec.sli.composite
    if composite is not None:
        assert parts is not None, "a composite needs the project's SLOs (the loader checked its parts)"
        keys = [(part_of(p.slo, service), p.weight) for p in composite.parts]
        resolved = tuple(Part(owner, parts(owner, name), weight) for (owner, name), weight in keys)
        return CompositeSLI(resolved, composite.aggregate, composite.mute_parts)
    sli = spec.sli.ratio or spec.sli.latency or spec.sli.probe
    assert sli is not None, "SLISpec holds exactly one"
    return sli


def slo(spec: SLOSpec, service_runbook: str, service_tiers: Tiers = None, project_tiers: Tiers = None,
        service: str = "", parts: Parts | None = None) -> SLO:
    tiers = tier_set(spec, service_tiers, project_tiers)
    return SLO(
        name=spec.name,
        objective=spec.objective,
        period=spec.seconds,
        calendar=spec.calendar,
        sli=_sli(spec, service, parts),
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


def services(specs: Sequence[ServiceFile], ops_of: dict[str, OpsFile], project_tiers: Tiers = None) -> tuple[Service, ...]:
    """Every service; a composite's parts are resolved first (the loader refused cycles)."""
    files = {s.service: s for s in specs}
    done: dict[tuple[str, str], SLO] = {}

    def resolved(service_name: str, slo_name: str) -> SLO:
        key = (service_name, slo_name)
        if key not in done:
            owner = files[service_name]
            spec = next(s for s in owner.slos if s.name == slo_name)
            done[key] = slo(spec, owner.runbook, owner.tiers, project_tiers, service_name, resolved)
        return done[key]

    return tuple(service(s, ops_of.get(s.service), project_tiers, resolved) for s in specs)


def service(spec: ServiceFile, ops: OpsFile | None, project_tiers: Tiers = None, parts: Parts | None = None) -> Service:
    return Service(
        name=spec.service,
        team=spec.team,
        runbook=spec.runbook,
        slos=tuple(parts(spec.service, s.name) if parts else slo(s, spec.runbook, spec.tiers, project_tiers, spec.service) for s in spec.slos),
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
