"""Reads the spec folders into one typed Project, with file:line errors for every mistake found."""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from obsgen.core import guard, slo_math
from obsgen.core.durations import format_duration
from obsgen.errors import Origin, SpecError, SpecIssue
from obsgen.model.project import CustomDashboard, Project, Settings
from obsgen.model.routing import Routing, Target
from obsgen.model.slo import AlertTier
from obsgen.spec import openslo, resolve
from obsgen.spec.files import OpsFile, ServiceFile, SLOSpec, TiersFile
from obsgen.spec.yamlsrc import Located, YamlSyntaxError, field_path, load_located_all

SLO_DIR = "slo"
ROUTING_FILE = "alerts/routing.yaml"
SETTINGS_FILE = "obsgen.yaml"
DASHBOARDS_DIR = "dashboards"
EXTENSION_PREFIX = "x-"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Unloaded:
    """A spec file with errors: what it claims can still be checked against the rest."""

    shown: str
    located: Located | None  # None when not even its YAML parses
    bad: frozenset[str] = frozenset()  # top-level fields with errors of their own

    def claims(self, key: str) -> str | None:
        if key in self.bad:
            return None  # its own error is the root cause
        data = self.located.data if self.located else None
        value = data.get(key) if isinstance(data, dict) else None
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Source(Generic[M]):
    """A spec file as loaded: where it is shown, its lines, and the validated model."""

    shown: str
    located: Located
    model: M

    def issue(self, path: tuple[str | int, ...], message: str) -> SpecIssue:
        return SpecIssue(self.shown, self.located.line_of(path), field_path(path), message)


def load_project(root: Path) -> Project:
    """Load and cross-check every spec under `root`; raise SpecError listing all problems."""
    if not root.is_dir():
        raise SpecError([SpecIssue(_display(root), 0, "", "not a folder (--specs names the folder that holds slo/)")])
    slo_dir = root / SLO_DIR
    files = sorted(p for p in slo_dir.glob("*.y*ml") if p.suffix in (".yaml", ".yml")) if slo_dir.is_dir() else []
    if not files:
        raise SpecError([SpecIssue(_display(slo_dir), 0, "", "no service specs found (expected *.yaml files)")])

    issues: list[SpecIssue] = []
    failed: list[Unloaded] = []
    services, openslo_services = _load_services(files, issues, failed)
    # Services whose file has errors still exist: checks elsewhere must not call them unknown.
    declared = {s.model.service for s in services} | {f.claims("service") or "" for f in failed} | {Path(f.shown).stem for f in failed}
    declared |= openslo_services
    routing_files = [root / ROUTING_FILE, (root / ROUTING_FILE).with_suffix(".yml")]
    routing_files = [p for p in routing_files if p.exists() or p.is_symlink()]
    if len(routing_files) > 1:
        issues.append(SpecIssue(_display(routing_files[1]), 0, "", f"two routing files: keep {_display(routing_files[0])} or this one"))
    routing = _load(routing_files[0], Routing, issues) if routing_files else None
    ops_files = sorted(
        p for p in (root / "alerts").glob("*.y*ml") if p.suffix in (".yaml", ".yml") and p.stem != Path(ROUTING_FILE).stem
    )
    ops = [o for o in (_load(p, OpsFile, issues) for p in ops_files) if o is not None]
    settings = _load(root / SETTINGS_FILE, Settings, issues) if (root / SETTINGS_FILE).exists() else None
    project_tiers = settings.model.tiers if settings else None
    custom = _load_dashboards(root / DASHBOARDS_DIR, issues)
    if settings is not None:
        issues.extend(_duplicate_tiers(settings, (), settings.model.tiers))
    issues.extend(_cross_check(services, declared, project_tiers))
    issues.extend(_check_ops(ops, declared, routing))
    if routing is not None:
        issues.extend(_check_routing(routing, services, failed, settings.model if settings else Settings(), SETTINGS_FILE))
    if issues:
        raise SpecError(_with_import_origins(issues, files))
    ops_of = {o.model.service: o.model for o in ops}
    return Project(
        services=resolve.services([s.model for s in services], ops_of, project_tiers),
        routing=routing.model if routing else None,
        settings=settings.model if settings else Settings(),
        custom_dashboards=tuple(custom),
        sources={
            f"{o.model.service}/{signal.name}": Origin(o.shown, o.located.line_of(("logs", i, "match")), field_path(("logs", i, "match")))
            for o in ops
            for i, signal in enumerate(o.model.logs)
        },
    )


def load_tiers(path: Path, period: int) -> tuple[slo_math.Tier, ...]:
    """The tiers of a --tiers file for an SLO of `period`, sorted as the loader sorts an SLO's;
    problems are a SpecError naming file, line and field."""
    issues: list[SpecIssue] = []
    source = _load(path, TiersFile, issues)
    if source is None:
        raise SpecError(issues or [SpecIssue(_display(path), 0, "", "no tiers")])
    issues = _duplicate_tiers(source, ("tiers",), source.model.tiers)
    if issues:
        raise SpecError(issues)
    return tuple(sorted((t.tier(period) for t in source.model.tiers), key=lambda t: (t.long_window, t.short_window)))


def _check_ops(ops: list[Source[OpsFile]], known: set[str], routing: Source[Routing] | None) -> list[SpecIssue]:
    """Each alerts file names a known service once; every team an alert names exists."""
    issues = []
    seen: dict[str, str] = {}
    for source in ops:
        name = source.model.service
        if name not in known:
            issues.append(source.issue(("service",), f"unknown service {name!r}; services in slo/: {', '.join(sorted(known))}"))
            continue
        if name in seen:
            issues.append(source.issue(("service",), f"{name!r} already has its alerts in {seen[name]}"))
        seen.setdefault(name, source.shown)
        for kind in ("queues", "saturation", "dependencies", "anomalies", "logs"):
            lines: dict[str, int] = {}
            for i, alert in enumerate(getattr(source.model, kind)):
                line = source.located.line_of((kind, i, "name"))
                if alert.name in lines:  # two alerts of one name would be one rule written twice
                    issues.append(source.issue((kind, i, "name"), f"{alert.name!r} is already defined at line {lines[alert.name]}"))
                lines.setdefault(alert.name, line)
        if routing is None:
            continue
        for kind in ("queues", "saturation", "dependencies", "anomalies", "logs"):
            for i, alert in enumerate(getattr(source.model, kind)):
                if alert.team and alert.team not in routing.model.teams:
                    issues.append(source.issue((kind, i, "team"), f"unknown team {alert.team!r}; teams in {routing.shown}: {', '.join(routing.model.teams)}"))
    return issues


def _load_dashboards(folder: Path, issues: list[SpecIssue]) -> list[CustomDashboard]:
    """dashboards/*.dashboard.py, found here and run by pipeline/custom.py (team code runs in a
    child process, never in the loader)."""
    found = []
    for path in sorted(folder.glob("*.dashboard.py")) if folder.is_dir() else []:
        if not path.is_file():
            issues.append(SpecIssue(_display(path), 0, "", "cannot read: a dangling link or not a file"))
            continue
        found.append(CustomDashboard(_display(path), str(path.resolve())))
    return found


def _read(path: Path, issues: list[SpecIssue], failed: list[Unloaded] | None) -> list[Located] | None:
    """Every YAML document of a spec file, or None with the problem recorded."""
    shown = _display(path)
    try:
        return load_located_all(path.read_text(encoding="utf-8"))
    except YamlSyntaxError as exc:
        issues.append(SpecIssue(shown, exc.line, "", str(exc)))
        failed.append(Unloaded(shown, None)) if failed is not None else None
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(SpecIssue(shown, 0, "", f"cannot read: {exc}"))
    return None


def _load(path: Path, model: type[M], issues: list[SpecIssue], failed: list[Unloaded] | None = None) -> Source[M] | None:
    docs = _read(path, issues, failed)
    if docs is None:
        return None
    if len(docs) > 1:
        issues.append(SpecIssue(_display(path), docs[1].line_of(()), "", "invalid YAML: expected a single document in the stream"))
        return None
    return _validate(_display(path), docs[0] if docs else Located(None), model, issues, failed)


def _load_services(files: list[Path], issues: list[SpecIssue], failed: list[Unloaded]) -> tuple[list[Source[ServiceFile]], set[str]]:
    """slo/*.yaml: obsgen's own service specs, and OpenSLO documents (detected by apiVersion),
    converted to the same shape with lines that point into the OpenSLO files."""
    services: list[Source[ServiceFile]] = []
    documents: list[tuple[str, list[Located]]] = []
    for path in files:
        shown, docs = _display(path), _read(path, issues, failed)
        if docs is None:
            continue
        if openslo.is_openslo(docs):
            documents.append((shown, docs))
        elif len(docs) > 1:
            issues.append(SpecIssue(shown, docs[1].line_of(()), "", "a service spec is one YAML document; OpenSLO files start with `apiVersion: openslo/v1`"))
            failed.append(Unloaded(shown, docs[0]))
        elif (source := _validate(shown, docs[0] if docs else Located(None), ServiceFile, issues, failed)) is not None:
            services.append(source)
    converted, problems, named = openslo.convert(documents)
    issues.extend(problems)
    for shown, located in converted:
        if (source := _validate(shown, located, ServiceFile, issues, failed)) is not None:
            services.append(source)
    return services, named


def _validate(shown: str, located: Located, model: type[M], issues: list[SpecIssue], failed: list[Unloaded] | None) -> Source[M] | None:
    required = [f"`{name}`" for name, f in model.model_fields.items() if f.is_required()]
    if located.data is None and not required:
        located.data = {}  # an empty or comment-only settings file: the defaults
    if not isinstance(located.data, dict):
        empty = "empty; " if located.data is None else ""
        wanted = f"with {', '.join(required)}" if required else f"of settings such as {', '.join(_field_names(model)[:3])}"
        issues.append(SpecIssue(shown, located.line_of(()), "", f"{empty}expected a mapping {wanted}"))
        failed.append(Unloaded(shown, None)) if failed is not None else None
        return None
    # Top-level `x-` keys hold YAML anchors for `<<: *name` merges (as in Compose files); not fields.
    data = {k: v for k, v in located.data.items() if not str(k).startswith(EXTENSION_PREFIX)}
    try:
        return Source(shown, located, model.model_validate(data))
    except ValidationError as exc:
        issues.extend(_pydantic_issues(exc, shown, located, model))
        bad = frozenset(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        failed.append(Unloaded(shown, located, bad)) if failed is not None else None
        return None


IMPORT_HEADER = "# Imported by `obsgen import`"
_IMPORTED_FROM = re.compile(r"^\s*# from (?P<source>\S+:\d+) \((?P<kind>[^)]*)\)\s*$")


def _with_import_origins(issues: list[SpecIssue], files: list[Path]) -> list[SpecIssue]:
    """An error inside an SLO that `obsgen import` wrote names the file it was imported from too:
    the user fixes the Sloth, Pyrra or OpenSLO file, or knows where the SLO came from."""
    texts: dict[str, list[str]] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text.startswith(IMPORT_HEADER):
            texts[_display(path)] = text.splitlines()
    if not texts:
        return issues
    out = []
    for issue in issues:
        lines = texts.get(issue.file)
        found = None
        for line in reversed(lines[: max(issue.line - 1, 0)] if lines else []):
            if (found := _IMPORTED_FROM.match(line)) is not None:
                break
        out.append(replace(issue, message=f"{issue.message} (imported from {found['source']}, {found['kind']})") if found else issue)
    return out


def _display(path: Path) -> str:
    """Relative to the working directory when inside it, as users type paths; else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path.resolve()) if rel.startswith("..") else rel


def _pydantic_issues(exc: ValidationError, shown: str, located: Located, model: type[BaseModel]) -> list[SpecIssue]:
    issues = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p != "[key]")
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = _unknown_field(model, loc)
        elif err["type"] == "missing":
            message = "required field is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error") and not isinstance(err["input"], (dict, list)):
            message = f"{message} (got {err['input']!r})"
        issues.append(SpecIssue(shown, located.line_of(loc), field_path(loc), message))
    return issues


def _unknown_field(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    """Name the fields allowed where the unknown one stands, and the closest match."""
    allowed = _fields_at(model, loc[:-1])
    hint = ""
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        hint = f"; did you mean {close[0]!r}?"
    return f"unknown field{hint} (allowed here: {', '.join(allowed)})" if allowed else "unknown field"


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    current: object = model
    skip_key = False  # inside dict[str, Model] the next part is a user's key, not a field
    for part in loc:
        if isinstance(part, int) or skip_key:
            skip_key = False
            continue
        fields = {f.alias or name: f for name, f in current.model_fields.items()} if isinstance(current, type) and issubclass(current, BaseModel) else {}
        if part not in fields:
            return []
        annotation = fields[part].annotation
        skip_key = getattr(annotation, "__origin__", None) is dict
        current = _model_of(annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return _field_names(current)
    return []


def _field_names(model: type[BaseModel]) -> list[str]:
    """As users write them: `for`, not the Python name `for_`."""
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_of(annotation: object) -> object:
    """The BaseModel inside list[X], X | None and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _cross_check(loaded: list[Source[ServiceFile]], declared: set[str], project_tiers: resolve.Tiers) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    seen: dict[str, str] = {}
    for source in loaded:
        shown, located, service = source.shown, source.located, source.model
        issues.extend(_duplicate_tiers(source, (), service.tiers))
        where = f"{shown}:{located.line_of(('service',))}"
        if service.service in seen:
            issues.append(
                SpecIssue(shown, located.line_of(("service",)), "service", f"{service.service!r} is already defined at {seen[service.service]}")
            )
        else:
            seen[service.service] = where
        slo_lines: dict[str, int] = {}
        for i, slo in enumerate(service.slos):
            line = located.line_of(("slos", i, "name"))
            if slo.name in slo_lines:
                issues.append(
                    SpecIssue(shown, line, f"slos[{i}].name", f"SLO {slo.name!r} is already defined at line {slo_lines[slo.name]}")
                )
            slo_lines.setdefault(slo.name, line)
            issues.extend(_duplicate_tiers(source, ("slos", i, "alerting"), slo.alerting.tiers))
            issues.extend(_check_slo(slo, i, source, project_tiers))
    issues.extend(_check_dependencies(loaded, declared))
    issues.extend(_check_composites(loaded, declared))
    return issues


def _check_composites(loaded: list[Source[ServiceFile]], declared: set[str]) -> list[SpecIssue]:
    """Every part of a composite exists, has the composite's period and groups, and no composite is
    (through others) a part of itself; a muted part must not mute the composite back."""
    slos = {(s.model.service, slo.name): (s, i, slo) for s in loaded for i, slo in enumerate(s.model.slos)}
    issues: list[SpecIssue] = []
    edges: dict[tuple[str, str], list[tuple[tuple[str, str], int]]] = {}
    for (service, name), (source, i, slo) in slos.items():
        composite = slo.sli.composite
        if composite is None:
            continue
        for j, part in enumerate(composite.parts):
            at = ("slos", i, "sli", "composite", "parts", j, "slo")
            key = resolve.part_of(part.slo, service)
            found = slos.get(key)
            if found is None:
                if key[0] in declared and key[0] not in {s.model.service for s in loaded}:
                    continue  # its file has errors of its own
                known = sorted(f"{k[0]}/{k[1]}" for k in slos if k[0] == key[0]) or sorted({k[0] for k in slos})
                what = f"{key[0]} has no SLO {key[1]!r}" if any(k[0] == key[0] for k in slos) else f"unknown service {key[0]!r}"
                issues.append(source.issue(at, f"{what}; known: {', '.join(known)}"))
                continue
            edges.setdefault((service, name), []).append((key, j))
            part_spec = found[2]
            if (part_spec.period, part_spec.time_zone) != (slo.period, slo.time_zone):
                issues.append(source.issue(at, f"{key[0]}/{key[1]} has a {_period(part_spec)} period and this composite "
                                           f"{_period(slo)}: a journey's budget is its parts' budgets over one period; "
                                           "give them the same period"))
            if slo.group_by and list(part_spec.group_by) != list(slo.group_by):
                theirs = f"groups by {', '.join(part_spec.group_by)}" if part_spec.group_by else "has no groups"
                issues.append(source.issue(at, f"{key[0]}/{key[1]} {theirs}, this composite by {', '.join(slo.group_by)}: a group's "
                                           "budget needs the same groups in every part (or no group_by on the composite: parts summed)"))
    issues += _composite_cycles(slos, edges)
    return issues


def _period(slo: SLOSpec) -> str:
    return slo.calendar.label() if slo.calendar else format_duration(slo.seconds)


def _composite_cycles(
    slos: dict[tuple[str, str], tuple[Source[ServiceFile], int, SLOSpec]], edges: dict[tuple[str, str], list[tuple[tuple[str, str], int]]]
) -> list[SpecIssue]:
    """A composite that is, through its parts, a part of itself; and a composite that mutes a
    part's pages while that part's service mutes the composite (both pages silenced at once)."""
    issues = []

    def path_to(start: tuple[str, str], node: tuple[str, str], seen: frozenset[tuple[str, str]]) -> list[tuple[str, str]] | None:
        for target, _ in edges.get(node, []):
            if target == start:
                return [target]
            if target not in seen and (rest := path_to(start, target, seen | {target})) is not None:
                return [target, *rest]
        return None

    reported: set[frozenset[tuple[str, str]]] = set()
    for start in sorted(edges):
        cycle = path_to(start, start, frozenset({start}))
        if cycle is None or frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        source, i, _ = slos[start]
        j = next(j for target, j in edges[start] if target == cycle[0])
        chain = " -> ".join(f"{s}/{n}" for s, n in [start, *cycle])
        issues.append(source.issue(("slos", i, "sli", "composite", "parts", j, "slo"), f"a composite cannot contain itself: {chain}"))
    for start, parts in sorted(edges.items()):
        source, i, slo = slos[start]
        assert slo.sli.composite is not None
        if not slo.sli.composite.mute_parts:
            continue
        for (service, _), j in parts:
            muting = [d for d in source.model.depends_on if d.service == service != start[0] and start[1] in d.mute]
            if muting:
                issues.append(source.issue(
                    ("slos", i, "sli", "composite", "mute_parts"),
                    f"{start[0]} mutes {start[1]} while {service} pages, and {start[1]} mutes the pages of its part {service} "
                    f"(part {j + 1}): both pages would be silenced at once; set mute_parts: false or drop that mute",
                ))
    return issues


def _check_dependencies(loaded: list[Source[ServiceFile]], known: set[str]) -> list[SpecIssue]:
    issues = []
    for source in loaded:
        service = source.model
        for i, dep in enumerate(service.depends_on):
            if dep.service not in known or dep.service == service.service:
                what = "itself" if dep.service == service.service else f"unknown service {dep.service!r}"
                issues.append(source.issue(("depends_on", i, "service"), f"{what}; known services: {', '.join(sorted(known))}"))
            own = {slo.name for slo in service.slos}
            for j, name in enumerate(dep.mute):
                if name not in own:
                    issues.append(source.issue(("depends_on", i, "mute", j), f"{service.service} has no SLO {name!r} (it has {', '.join(sorted(own))})"))
    return issues + _mute_cycles(loaded)


def _mute_cycles(loaded: list[Source[ServiceFile]]) -> list[SpecIssue]:
    """Mutes that form a cycle (A mutes SLOs while B pages, B while A pages, ...) can silence every
    page of the cycle at once: Alertmanager inhibits with firing alerts, inhibited or not."""
    edges: dict[str, list[tuple[str, Source[ServiceFile], int]]] = {}
    for source in loaded:
        for i, dep in enumerate(source.model.depends_on):
            if dep.mute and dep.service != source.model.service:  # depending on itself is its own error
                edges.setdefault(source.model.service, []).append((dep.service, source, i))
    issues: list[SpecIssue] = []
    reported: set[frozenset[str]] = set()
    Edge = tuple[str, Source[ServiceFile], int]

    def walk(start: str, service: str, seen: frozenset[str]) -> list[Edge] | None:
        """A path of muting dependencies from `service` back to `start`, if there is one."""
        for target, source, i in edges.get(service, []):
            if target == start:
                return [(target, source, i)]
            if target not in seen and (found := walk(start, target, seen | {target})) is not None:
                return [(target, source, i), *found]
        return None

    for start in sorted(edges):
        cycle = walk(start, start, frozenset({start}))
        if cycle is None or frozenset(s.model.service for _, s, _ in cycle) in reported:
            continue
        reported.add(frozenset(s.model.service for _, s, _ in cycle))
        first_target, first, index = min(cycle, key=lambda c: c[1].shown)
        others = "; ".join(
            f"{s.shown}:{s.located.line_of(('depends_on', i, 'mute'))} mutes {', '.join(s.model.depends_on[i].mute)} while {t} pages"
            for t, s, i in cycle if s is not first
        )
        issues.append(first.issue(
            ("depends_on", index, "mute"),
            f"mutes {', '.join(first.model.depends_on[index].mute)} while {first_target} pages, and {others}: "
            "a cycle of mutes can silence both pages at once; drop the mute on one side",
        ))
    return issues


def _check_routing(
    routing: Source[Routing], services: list[Source[ServiceFile]], failed: list[Unloaded], settings: Settings, settings_file: str
) -> list[SpecIssue]:
    """Every team a service names exists (also in files with other errors: every problem at once);
    receivers refer to defined time intervals and mail settings, and use only what the oldest
    Alertmanager in settings can load."""
    issues = []
    teams = routing.model.teams
    named = [(s.shown, s.located, s.model.team) for s in services]
    named += [(f.shown, f.located, claimed) for f in failed if f.located and (claimed := f.claims("team"))]
    for shown, located, owner in named:
        if owner not in teams:
            issues.append(SpecIssue(shown, located.line_of(("team",)), "team", f"unknown team {owner!r}; teams in {routing.shown}: {', '.join(teams)}"))
    targets: list[tuple[tuple[str | int, ...], Target]] = [(("default",), routing.model.default)]
    for name, team in teams.items():
        targets += [(("teams", name, kind), t) for kind, t in (("critical", team.critical), ("warning", team.warning), ("escalation", team.escalation)) if t]
    for path, target in targets:
        for i, interval in enumerate(target.active_during):
            if interval not in routing.model.time_intervals:
                defined = ", ".join(routing.model.time_intervals) or "none"
                issues.append(routing.issue((*path, "active_during", i), f"unknown time interval {interval!r} (defined: {defined})"))
        if target.email is not None and routing.model.smtp is None:
            issues.append(routing.issue((*path, "email"), "sending email needs an `smtp` section (sender, smarthost)"))
        if target.webhook is not None and target.webhook.url_file and not settings.alertmanager_at_least("0.26"):
            issues.append(routing.issue(
                (*path, "webhook", "url_file"),
                f"`url_file` needs Alertmanager 0.26 or later; set `alertmanager_version: \"0.26\"` in {settings_file} "
                f"if every Alertmanager you run is that new (it says {settings.alertmanager_version})",
            ))
    return issues


def _duplicate_tiers(source: Source[ServiceFile] | Source[Settings] | Source[TiersFile], path: tuple[str | int, ...], tiers: list[AlertTier] | None) -> list[SpecIssue]:
    """Two tiers with the same windows would be one alert twice (their windows are its identity)."""
    issues: list[SpecIssue] = []
    seen: dict[tuple[int, int], int] = {}
    for j, tier in enumerate(tiers or []):
        windows = (tier.long, tier.short)
        if windows in seen:
            issues.append(source.issue(
                (*path, "tiers", j), f"a second tier with the windows {format_duration(tier.long)}/{format_duration(tier.short)} "
                f"(the first is at line {source.located.line_of((*path, 'tiers', seen[windows]))}); give each tier its own windows",
            ))
        seen.setdefault(windows, j)
    return issues


def _check_slo(slo: SLOSpec, index: int, source: Source[ServiceFile], project_tiers: resolve.Tiers) -> list[SpecIssue]:
    """Checks that need the SLO as a whole: the period against the tiers, tiers that cannot fire."""
    issues = []
    tiers = resolve.tier_set(slo, source.model.tiers, project_tiers)
    longest = max(t.long_window for t in tiers)

    def at(*path: str | int) -> tuple[str, int, str]:
        full = ("slos", index, *path)
        return source.shown, source.located.line_of(full), field_path(full)

    for j, label in enumerate(slo.group_by):
        if label in source.model.labels:
            issues.append(SpecIssue(*at("group_by", j), f"{label!r} is also one of the service's `labels`, which would overwrite "
                                    "every group's value with one; group by a label of the SLI's series"))
        elif label == "le" and slo.sli.latency is not None:
            issues.append(SpecIssue(*at("group_by", j), "`le` is the histogram's bucket bound, not a group; group by a label such as route"))
    if slo.seconds <= longest or slo.seconds % slo_math.HOUR:
        issues.append(
            SpecIssue(*at("period"), f"must be whole hours and longer than the longest alert window "
                      f"({format_duration(longest)}), e.g. 7d, 28d or 30d (got {_period(slo)})")
        )
        return issues
    # Where the tiers were written: an error points at the tier itself when it is in this file.
    own: list[AlertTier] = []
    at_tiers: tuple[str | int, ...] = ()
    if slo.alerting.tiers:
        own, at_tiers = slo.alerting.tiers, ("slos", index, "alerting", "tiers")
    elif source.model.tiers:
        own, at_tiers = source.model.tiers, ("tiers",)
    most = float(1 / slo_math.error_budget(slo.objective))
    for tier in resolve.enabled_tiers(slo, tiers):
        if slo_math.can_fire(tier, slo.objective, slo.seconds):
            continue
        rate = float(tier.burn_rate(slo.seconds))
        windows = f"{format_duration(tier.long_window)}/{format_duration(tier.short_window)}"
        cannot = (f"{slo.objective:g}% over {_period(slo)}: the {tier.severity} tier {windows} needs a "
                  f"{rate:g}x burn rate, but a total outage burns only {most:g}x, so it could never fire")
        if own:
            j = next(j for j, t in enumerate(own) if (t.long, t.short) == (tier.long_window, tier.short_window))
            issues.append(source.issue((*at_tiers, j), f"{cannot}; lower its burn rate or budget_percent, or raise the objective"))
        elif project_tiers:
            issues.append(SpecIssue(*at("objective"), f"{cannot} (a tier of {SETTINGS_FILE}); raise the objective, or give the SLO its own `alerting.tiers`"))
        else:
            issues.append(SpecIssue(*at("objective"), f"{cannot}; raise the objective, lengthen the period, or set alerting.{tier.severity}: false"))
        break
    if not issues and slo.expected_rate is not None:
        issues += _silent_at_expected_rate(slo, tiers, at("expected_rate"))
    return issues


def _silent_at_expected_rate(slo: SLOSpec, tiers: tuple[slo_math.Tier, ...], where: tuple[str, int, str]) -> list[SpecIssue]:
    """At the declared traffic, a total outage must fire at least one of the SLO's tiers: a guard or
    min_events that holds every tier back would silence its pages."""
    assert slo.expected_rate is not None
    rate, budget, held = slo.expected_rate, float(slo_math.error_budget(slo.objective)), resolve.guard_of(slo)
    enabled = resolve.enabled_tiers(slo, tiers)
    for tier in enabled:
        events = rate * tier.long_window
        count = guard.first_firing_count(held, float(slo_math.threshold(tier, slo.objective, slo.seconds)), budget, events, slo.min_events)
        if count is not None and count <= events:
            return []
    if not enabled:
        return []
    longest = enabled[-1].long_window
    events = rate * longest
    needs = f"min_events is {slo.min_events}" if events < slo.min_events else f"the guard asks for {held.min_errors if held else 1} errors"
    return [SpecIssue(*where, f"at this traffic no tier can fire, even in a total outage: the longest window ({format_duration(longest)}) "
                      f"holds {events:,.3g} events and {needs}; lower min_events or guard.min_errors, or add a longer tier")]
