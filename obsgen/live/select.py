"""Which SLOs a live command (backtest, gate) works on: --service and --slo, checked against the specs."""
from __future__ import annotations

from collections.abc import Sequence

from obsgen.errors import CannotDecide
from obsgen.model.project import Project
from obsgen.model.slo import SLO, Service


def chosen(project: Project, services: Sequence[str] = (), slos: Sequence[str] = ()) -> list[tuple[Service, SLO]]:
    """The SLOs `services` and `slos` (service/name) select, every SLO when both are empty; an unknown
    name is a CannotDecide naming what the specs have."""
    known = {s.name: s for s in project.services}
    wanted = {tuple(name.split("/", 1)) for name in slos}
    for name in services:
        if name not in known:
            raise CannotDecide(f"--service {name}: no such service (the specs have {', '.join(sorted(known)) or 'none'})")
    for pair in wanted:
        if len(pair) != 2 or pair[0] not in known or pair[1] not in {s.name for s in known[pair[0]].slos}:
            example = next((f"{s.name}/{o.name}" for s in project.services for o in s.slos), "service/slo")
            raise CannotDecide(f"--slo {'/'.join(pair)}: no such SLO (give service/name, e.g. {example})")
    return [(s, o) for s in project.services for o in s.slos
            if (not services or s.name in services) and (not wanted or (s.name, o.name) in wanted)]
