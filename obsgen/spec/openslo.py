"""OpenSLO in slo/: `openslo/v1` documents (and `openslo/v1alpha`, as Sloth reads it), resolved
across files (indicatorRef, alert policies and conditions, data sources) and converted to the
shape of obsgen's service spec, each value keeping the line of the OpenSLO document it came from.

What obsgen cannot honour (time slices, calendar windows, sources other than Prometheus, gauges,
precomputed ratios) is an error at its line, never a silent approximation. Alert policies choose
which of obsgen's tiers page and ticket; their own burn-rate conditions are replaced by obsgen's
multiwindow tiers, and the SLO's description says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from obsgen.core import promql
from obsgen.core.durations import parse_duration
from obsgen.errors import SpecIssue
from obsgen.spec.yamlsrc import Located, field_path

V1, V1ALPHA = "openslo/v1", "openslo/v1alpha"
KINDS = ("Service", "SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource")
PAGE_SEVERITIES = frozenset({"page", "critical", "sev1", "sev-1", "p1", "high", "urgent"})
TEAM_LABEL = "team"
PLACEHOLDER_RUNBOOK = "https://runbooks.example.com/{service}"  # what import writes when nothing names a runbook
RUNBOOK_ANNOTATIONS = ("obsgen/runbook", "runbook", "runbook_url")
WINDOW_UNITS = {"Second": "s", "Minute": "m", "Hour": "h", "Day": "d", "Week": "w"}  # v1alpha timeWindows
SLOTH_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")

Path = tuple[str | int, ...]
Objects = dict[tuple[str, str], "Doc"]


@dataclass(frozen=True)
class Doc:
    """One OpenSLO document of a file."""

    shown: str
    located: Located

    @property
    def data(self) -> dict[str, Any]:
        return self.located.data if isinstance(self.located.data, dict) else {}

    def get(self, *path: str | int) -> Any:
        value: Any = self.data
        for part in path:
            if isinstance(part, int):
                value = value[part] if isinstance(value, list) and part < len(value) else None
            else:
                value = value.get(part) if isinstance(value, dict) else None
        return value

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.get("metadata", "name") or "")

    def line(self, path: Path) -> int:
        return self.located.line_of(path)


class Unsupported(Exception):
    """One thing obsgen cannot read, where it stands."""

    def __init__(self, doc: Doc, path: Path, message: str):
        super().__init__(message)
        self.issue = SpecIssue(doc.shown, doc.line(path), field_path(path), message)


def is_openslo(docs: list[Located]) -> bool:
    first = docs[0].data if docs else None
    return isinstance(first, dict) and str(first.get("apiVersion", "")).startswith("openslo/")


@dataclass
class _Service:
    """A service's converted spec, and the OpenSLO line of each of its values."""

    shown: str
    data: dict[str, Any]
    lines: dict[Path, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Owner:
    """What OpenSLO never carries and obsgen needs: the owning team and a runbook. `import` takes
    them from --team/--runbook (or writes placeholders) and says so in `notes`; without them a
    document must name its own."""

    team: str | None = None
    runbook: str | None = None
    notes: list[str] = field(default_factory=list, compare=False)


def convert(
    files: list[tuple[str, list[Located]]], owner: Owner | None = None
) -> tuple[list[tuple[str, Located]], list[SpecIssue], set[str]]:
    """The service specs the OpenSLO files describe, as (file shown, located data), every problem,
    and the name of every service an SLO names (also those whose SLOs had errors)."""
    issues: list[SpecIssue] = []
    objects: dict[tuple[str, str], Doc] = {}
    for shown, located_docs in files:
        for located in located_docs:
            doc = Doc(shown, located)
            try:
                _check_header(doc)
            except Unsupported as exc:
                issues.append(exc.issue)
                continue
            if (doc.kind, doc.name) in objects:
                other = objects[(doc.kind, doc.name)]
                issues.append(SpecIssue(shown, doc.line(("metadata", "name")), "metadata.name",
                                        f"{doc.kind} {doc.name!r} is already defined at {other.shown}:{other.line(('metadata', 'name'))}"))
                continue
            objects[(doc.kind, doc.name)] = doc
    services: dict[str, _Service] = {}
    named = {str(doc.get("spec", "service")) for (kind, _), doc in objects.items() if kind == "SLO"}
    for (kind, _), doc in objects.items():
        if kind != "SLO":
            continue
        try:
            _add_slo(doc, objects, services, owner)
        except Unsupported as exc:
            issues.append(exc.issue)
    return [(s.shown, Located(s.data, s.lines)) for s in services.values() if s.data["slos"]], issues, named


def _check_header(doc: Doc) -> None:
    if not isinstance(doc.located.data, dict):
        raise Unsupported(doc, (), "an OpenSLO document is a mapping with apiVersion, kind, metadata and spec")
    api = doc.data.get("apiVersion")
    if api not in (V1, V1ALPHA):
        raise Unsupported(doc, ("apiVersion",), f"obsgen reads {V1} and {V1ALPHA} (got {api!r})")
    if doc.kind not in KINDS:
        raise Unsupported(doc, ("kind",), f"unknown kind {doc.kind!r}; OpenSLO kinds: {', '.join(KINDS)}")
    if not doc.name:
        raise Unsupported(doc, ("metadata", "name"), "required field is missing")


def _add_slo(doc: Doc, objects: Objects, services: dict[str, _Service], owner: Owner | None = None) -> None:
    alpha = doc.data.get("apiVersion") == V1ALPHA
    service = doc.get("spec", "service")
    if not isinstance(service, str) or not service:
        raise Unsupported(doc, ("spec", "service"), "required field is missing: the service this SLO belongs to")
    method = doc.get("spec", "budgetingMethod")
    if method is None and not alpha:
        raise Unsupported(doc, ("spec", "budgetingMethod"), "required field is missing; obsgen supports Occurrences")
    if method not in (None, "Occurrences"):
        raise Unsupported(doc, ("spec", "budgetingMethod"),
                          f"obsgen budgets over events (Occurrences); {method!r} is not supported")
    period, period_path = _period(doc, alpha)
    entry = services.get(service) or _service(doc, service, objects, owner)
    if entry.shown != doc.shown:
        raise Unsupported(doc, ("spec", "service"), f"service {service!r} has OpenSLO SLOs in {entry.shown} already; keep them in one file")
    objectives = doc.get("spec", "objectives")
    if not isinstance(objectives, list) or not objectives:
        raise Unsupported(doc, ("spec", "objectives"), "required field is missing: at least one objective")
    composite = not alpha and _is_composite(doc, objectives)
    indicator, where = ({}, doc) if alpha or composite else _indicator(doc, objects)
    alerting, note = _alerting(doc, objects)
    converted: list[tuple[dict[str, Any], dict[Path, int]]] = []  # added to the service only when all convert
    for i, objective in enumerate(objectives):
        path: Path = ("spec", "objectives", i)
        if not isinstance(objective, dict):
            raise Unsupported(doc, path, "an objective is a mapping with target or targetPercent")
        slo_index = len(entry.data["slos"])
        name = doc.name if len(objectives) == 1 and not composite else f"{doc.name}-{_slug(objective.get('displayName')) or i + 1}"
        if composite:
            indicator, where = _indicator(doc, objects, path)
        sli, sli_lines = _alpha_sli(doc, path, objects) if alpha else _sli(where, indicator, objective, doc, path, len(objectives), objects)
        slo: dict[str, Any] = {
            "name": name,
            "objective": _target(doc, path, objective),
            "sli": sli,
            "description": " ".join(t for t in (str(doc.get("spec", "description") or ""), note) if t),
            "alerting": alerting,
        }
        if period is not None:
            slo["period"] = period
        base: Path = ("slos", slo_index + len(converted))
        lines: dict[Path, int] = {
            base: doc.line(path), (*base, "name"): doc.line(("metadata", "name")),
            (*base, "objective"): doc.line((*path, "target") if "target" in objective else (*path, "targetPercent")),
            (*base, "period"): doc.line(period_path), (*base, "alerting"): doc.line(("spec", "alertPolicies")),
        }
        lines.update({(*base, "sli", *k): v for k, v in sli_lines.items()})
        converted.append((slo, lines))
    if composite:
        converted.append(_composite(doc, objectives, converted, len(entry.data["slos"]) + len(converted), period, alerting, note))
        if owner is not None:
            owner.notes.append(f"{doc.shown}:{doc.line(('spec', 'objectives'))}: spec.objectives: composite SLO {doc.name!r}: one SLO "
                               f"per objective, and {doc.name!r} over them weighted by compositeWeight, its objective "
                               f"{converted[-1][0]['objective']:g}% (the weighted mean of theirs; OpenSLO v1 gives none)")
    services[service] = entry
    for slo, lines in converted:
        entry.data["slos"].append(slo)
        entry.lines.update(lines)


def _service(slo: Doc, name: str, objects: dict[tuple[str, str], Doc], given: Owner | None = None) -> _Service:
    """The service spec's head: team and runbook from the Service object (or else the SLO), or
    else from `given`."""
    owner = objects.get(("Service", name), slo)
    labels = owner.get("metadata", "labels") or {}
    team = labels.get(TEAM_LABEL) if isinstance(labels, dict) else None
    team = team[0] if isinstance(team, list) and team else team
    annotations = owner.get("metadata", "annotations") or {}
    runbook = next((annotations[k] for k in RUNBOOK_ANNOTATIONS if isinstance(annotations, dict) and k in annotations), None)
    what = f"Service {name!r}" if owner is not slo else f"SLO {slo.name!r} (or a Service {name!r})"
    where = f"{owner.shown}:{owner.line(('metadata',))}: metadata"
    if given is not None and (not isinstance(team, str) or not team):
        team = given.team or name
        given.notes.append(f"{where}: no metadata.labels.team on the {what}: team {team!r} "
                           + ("from --team" if given.team else "(the service's name; set `team:` or pass --team)"))
    if given is not None and (not isinstance(runbook, str) or not runbook):
        runbook = given.runbook or PLACEHOLDER_RUNBOOK.format(service=name)
        given.notes.append(f"{where}: no runbook annotation on the {what}: runbook {runbook} "
                           + ("from --runbook" if given.runbook else "(a placeholder; set `runbook:` or pass --runbook)"))
    if not isinstance(team, str) or not team:
        raise Unsupported(owner, ("metadata", "labels"), f"obsgen needs the owning team: set metadata.labels.team on the {what}")
    if not isinstance(runbook, str) or not runbook:
        raise Unsupported(owner, ("metadata", "annotations"),
                          f"obsgen needs a runbook: set metadata.annotations.runbook (a URL) on the {what}")
    data: dict[str, Any] = {"service": name, "team": team, "runbook": runbook, "slos": []}
    if isinstance(owner.get("spec", "description"), str) and owner is not slo:
        data["description"] = owner.get("spec", "description")
    lines: dict[Path, int] = {(): owner.line(()), ("service",): slo.line(("spec", "service")),
             ("team",): owner.line(("metadata", "labels", TEAM_LABEL)), ("runbook",): owner.line(("metadata", "annotations"))}
    return _Service(slo.shown, data, lines)


def _period(doc: Doc, alpha: bool) -> tuple[str | None, Path]:
    """The rolling window, in obsgen's duration notation (None: obsgen's default, 30d)."""
    key = "timeWindows" if alpha else "timeWindow"
    windows = doc.get("spec", key)
    if windows is None:
        return None, ("spec",)
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        raise Unsupported(doc, ("spec", key), "exactly one time window")
    window, path = windows[0], ("spec", key, 0)
    if window.get("calendar") is not None or window.get("isRolling") is False:
        raise Unsupported(doc, path, "calendar-aligned windows are not supported yet; use a rolling window (isRolling: true)")
    if alpha:
        unit = WINDOW_UNITS.get(str(window.get("unit")))
        if unit is None or not isinstance(window.get("count"), int):
            raise Unsupported(doc, path, f"a rolling window of count and unit ({', '.join(WINDOW_UNITS)}), e.g. count: 28, unit: Day")
        return f"{window['count']}{unit}", (*path, "count")
    duration = window.get("duration")
    try:
        parse_duration(str(duration))
    except ValueError:
        raise Unsupported(doc, (*path, "duration"),
                          f"{duration!r} is not a rolling duration obsgen reads (s, m, h, d, w), e.g. 28d or 4w") from None
    return str(duration), (*path, "duration")


def _indicator(doc: Doc, objects: dict[tuple[str, str], Doc], at: Path = ("spec",)) -> tuple[dict[str, Any], Doc]:
    """The SLI's spec and the document that holds it (inline in the SLO, or referenced); `at`: the
    SLO's spec, or one objective of a composite SLO."""
    inline = doc.get(*at, "indicator")
    ref = doc.get(*at, "indicatorRef")
    if isinstance(inline, dict) and isinstance(inline.get("spec"), dict):
        return {"prefix": (*at, "indicator", "spec"), **inline["spec"]}, doc
    if isinstance(ref, str):
        sli = objects.get(("SLI", ref))
        if sli is None:
            known = ", ".join(sorted(n for k, n in objects if k == "SLI")) or "none"
            raise Unsupported(doc, (*at, "indicatorRef"), f"no SLI named {ref!r} (SLIs: {known})")
        return {"prefix": ("spec",), **sli.data.get("spec", {})}, sli
    raise Unsupported(doc, at, "give the SLI inline (indicator) or by name (indicatorRef)")


def _is_composite(doc: Doc, objectives: list[Any]) -> bool:
    """OpenSLO v1's composite SLO: objectives with their own indicators (and compositeWeight)."""
    own = [isinstance(o, dict) and ("indicator" in o or "indicatorRef" in o) for o in objectives]
    if any(own) and (doc.get("spec", "indicator") is not None or doc.get("spec", "indicatorRef") is not None):
        raise Unsupported(doc, ("spec",), "give the indicator on the SLO or on each objective (a composite SLO), not both")
    if any(isinstance(o, dict) and "compositeWeight" in o for o in objectives) and not all(own):
        raise Unsupported(doc, ("spec", "objectives"), "a composite SLO (compositeWeight) gives each objective its own indicator or indicatorRef")
    return all(own)


def _composite(
    doc: Doc, objectives: list[dict[str, Any]], parts: list[tuple[dict[str, Any], dict[Path, int]]], index: int,
    period: str | None, alerting: dict[str, Any], note: str,
) -> tuple[dict[str, Any], dict[Path, int]]:
    """The composite SLO over the objectives' SLOs: events weighted by compositeWeight, its target
    the weighted mean of theirs (met whenever every part meets its own at equal traffic)."""
    weights = []
    for i, objective in enumerate(objectives):
        weight = objective.get("compositeWeight", 1)
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not 0 < weight <= 1000:
            raise Unsupported(doc, ("spec", "objectives", i, "compositeWeight"), "a weight above 0, at most 1000")
        weights.append(float(weight))
    target = sum(w * slo["objective"] for w, (slo, _) in zip(weights, parts, strict=True)) / sum(weights)
    slo: dict[str, Any] = {
        "name": doc.name,
        "objective": float(f"{target:.6g}"),
        "sli": {"composite": {"parts": [{"slo": p["name"], "weight": w} for w, (p, _) in zip(weights, parts, strict=True)]}},
        "description": " ".join(t for t in (
            str(doc.get("spec", "description") or ""),
            f"(OpenSLO composite of {len(parts)} objectives weighted by compositeWeight; its objective, the weighted "
            f"mean of theirs, is {target:.6g}%.)", note) if t),
        "alerting": alerting,
    }
    if period is not None:
        slo["period"] = period
    base: Path = ("slos", index)
    line = doc.line(("spec", "objectives"))
    return slo, {base: line, (*base, "name"): doc.line(("metadata", "name")), (*base, "objective"): line, (*base, "sli"): line,
                 **{(*base, "sli", "composite", "parts", i): doc.line(("spec", "objectives", i)) for i in range(len(parts))}}


def _sli(
    where: Doc, spec: dict[str, Any], objective: dict[str, Any], doc: Doc, path: Path, count: int, objects: Objects
) -> tuple[dict[str, Any], dict[Path, int]]:
    prefix: Path = spec["prefix"]
    if "ratioMetric" in spec:
        return _ratio(where, spec["ratioMetric"], (*prefix, "ratioMetric"), objective, doc, path, objects)
    if "thresholdMetric" in spec:
        if count != 1:
            raise Unsupported(doc, ("spec", "objectives"), "a thresholdMetric SLO has exactly one objective")
        op, value = objective.get("op"), objective.get("value")
        if op not in ("lte", "lt"):
            raise Unsupported(doc, (*path, "op"), "obsgen's latency SLOs count requests at or under a threshold: op: lte")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise Unsupported(doc, (*path, "value"), "the threshold in seconds, a histogram bucket bound, e.g. 0.5")
        query = _query(where, spec["thresholdMetric"], (*prefix, "thresholdMetric"), objects)
        histogram = re.sub(r"_bucket(?=\{|$)", "", query.strip())
        sli = {"latency": {"histogram": histogram, "buckets": [value], "threshold": value}}
        line = where.line((*prefix, "thresholdMetric"))
        return sli, {(): line, ("latency", "histogram"): line, ("latency", "threshold"): doc.line((*path, "value"))}
    raise Unsupported(where, prefix, "give ratioMetric or thresholdMetric")


def _ratio(
    where: Doc, metric: Any, path: Path, objective: dict[str, Any], doc: Doc, objective_path: Path, objects: Objects
) -> tuple[dict[str, Any], dict[Path, int]]:
    if not isinstance(metric, dict):
        raise Unsupported(where, path, "ratioMetric is a mapping of good or bad, and total")
    if "op" in objective or "value" in objective:
        raise Unsupported(doc, objective_path, "op and value apply to a thresholdMetric; a ratioMetric objective has a target only")
    if "raw" in metric:
        raise Unsupported(where, (*path, "raw"), "precomputed (raw) ratios are not supported: give good or bad, and total")
    if metric.get("counter") is False:
        raise Unsupported(where, (*path, "counter"), "obsgen reads counters (counter: true); a ratio of gauges is not supported")
    numerator = [k for k in ("good", "bad") if k in metric]
    if len(numerator) != 1 or "total" not in metric:
        raise Unsupported(where, path, "give exactly one of good or bad, and total")
    key = "errors" if numerator[0] == "bad" else "good"
    sli = {"ratio": {key: _counter(where, metric[numerator[0]], (*path, numerator[0]), objects),
                     "total": _counter(where, metric["total"], (*path, "total"), objects)}}
    return sli, {(): where.line(path), ("ratio", key): where.line((*path, numerator[0])), ("ratio", "total"): where.line((*path, "total"))}


def _alpha_sli(doc: Doc, path: Path, objects: Objects) -> tuple[dict[str, Any], dict[Path, int]]:
    """v1alpha, as Sloth reads it: objectives[].ratioMetrics with good (or bad) and total queries."""
    metric = doc.get(*path, "ratioMetrics")
    if not isinstance(metric, dict):
        raise Unsupported(doc, path, "obsgen reads v1alpha ratioMetrics (good or bad, and total)")
    wrapped = {k: {"metricSource": {"type": v.get("source"), "spec": {"query": v.get("query")}}}
               for k, v in metric.items() if k in ("good", "bad", "total") and isinstance(v, dict)}
    wrapped["counter"] = metric.get("incremental", True)
    alpha_doc = Doc(doc.shown, Located({**doc.data, "_wrapped": wrapped}, doc.located.lines))
    sli, lines = _ratio(alpha_doc, wrapped, ("_wrapped",), {}, doc, path, objects)
    return sli, {k: doc.line((*path, "ratioMetrics")) for k in lines}


def _counter(where: Doc, side: Any, path: Path, objects: Objects) -> str:
    """A counter query as obsgen's SLI takes it: a selector, or an expression over [$window]."""
    query = _query(where, side, path, objects)
    query = SLOTH_WINDOW.sub("$window", query).strip()
    try:
        promql.parse_events(query)
        return query
    except ValueError:
        pass
    try:
        gauge = promql.parse_gauge(query)  # sum(counter{...}): obsgen sums the rates itself
    except ValueError as exc:
        raise Unsupported(where, (*path, "metricSource", "spec", "query"),
                          f"{exc}; obsgen takes a counter selector, or an expression with [$window] (Sloth's [{{{{.window}}}}])") from None
    if isinstance(gauge, promql.Aggregate) and gauge.op != "sum":
        raise Unsupported(where, (*path, "metricSource", "spec", "query"), f"{gauge.op}() of a counter is not a count of events; use the counter or sum()")
    return gauge.selector.render()


def _query(where: Doc, side: Any, path: Path, objects: Objects) -> str:
    """The PromQL of a metric source; its type from the source or the DataSource it names."""
    source = side.get("metricSource") if isinstance(side, dict) else None
    if not isinstance(source, dict):
        raise Unsupported(where, path, "required field is missing: metricSource")
    kind = str(source.get("type") or "")
    ref = source.get("metricSourceRef")
    if not kind and isinstance(ref, str):
        data_source = objects.get(("DataSource", ref))
        if data_source is None:
            raise Unsupported(where, (*path, "metricSource", "metricSourceRef"), f"no DataSource named {ref!r}")
        kind = str(data_source.get("spec", "type") or "")
    if kind.lower() != "prometheus":
        raise Unsupported(where, (*path, "metricSource", "type"), f"obsgen reads Prometheus sources only (got {kind or 'none'!r})")
    query = (source.get("spec") or {}).get("query") if isinstance(source.get("spec"), dict) else None
    if not isinstance(query, str) or not query.strip():
        raise Unsupported(where, (*path, "metricSource", "spec"), "required field is missing: spec.query (PromQL)")
    return query


def _target(doc: Doc, path: Path, objective: dict[str, Any]) -> Any:
    if "timeSliceTarget" in objective or "timeSliceWindow" in objective:
        raise Unsupported(doc, path, "time slices are not supported: obsgen budgets over events (Occurrences)")
    if "target" in objective and "targetPercent" in objective:
        raise Unsupported(doc, path, "give target or targetPercent, not both")
    if "target" in objective:
        target = objective["target"]
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < 1:
            raise Unsupported(doc, (*path, "target"), f"a share between 0 and 1, e.g. 0.999 (got {target!r})")
        return round(target * 100, 10)
    if "targetPercent" in objective:
        return objective["targetPercent"]
    raise Unsupported(doc, path, "required field is missing: target (0-1) or targetPercent")


def _alerting(doc: Doc, objects: dict[tuple[str, str], Doc]) -> tuple[dict[str, Any], str]:
    """The SLO's tiers from its alert policies' burn-rate conditions: each condition is a tier (its
    lookback window the long one, a twelfth of it the short one, as the Workbook pairs them; its
    threshold the burn rate; page severities page, others ticket)."""
    policies = doc.get("spec", "alertPolicies")
    if not policies:
        return {}, ""
    if not isinstance(policies, list):
        raise Unsupported(doc, ("spec", "alertPolicies"), "a list of alert policies, inline or by alertPolicyRef")
    tiers: list[dict[str, Any]] = []
    no_data = False
    names = []
    waits = []
    for i, item in enumerate(policies):
        path: Path = ("spec", "alertPolicies", i)
        policy, holder = _resolve(doc, item, path, "AlertPolicy", "alertPolicyRef", objects)
        names.append(str(_mapping(policy.get("metadata")).get("name") or holder.name))
        spec = _mapping(policy.get("spec"))
        no_data = no_data or bool(spec.get("alertWhenNoData"))
        for j, condition in enumerate(spec.get("conditions") or []):
            at: Path = (*path, "spec", "conditions", j)
            found, _ = _resolve(holder, condition, at, "AlertCondition", "conditionRef", objects)
            cond_spec = _mapping(found.get("spec"))
            detail = _mapping(cond_spec.get("condition"))
            kind = detail.get("kind", "burnrate")
            if kind != "burnrate":
                raise Unsupported(holder, at, f"obsgen alerts on burn rate; condition kind {kind!r} is not supported")
            tiers.append(_tier(holder, at, cond_spec, detail))
            if detail.get("alertAfter"):
                waits.append(str(detail["alertAfter"]))
    alerting: dict[str, Any] = {"no_data": no_data}
    if tiers:
        alerting["tiers"] = tiers
    note = f"(OpenSLO alert policies {', '.join(names)}: each burn-rate condition is a tier, its lookback the long window and a twelfth of it the short one"
    note += f"; alertAfter ({', '.join(sorted(set(waits)))}) is left to the short window, which keeps a tier from firing on a blip.)" if waits else ".)"
    return alerting, note


def _tier(holder: Doc, at: Path, spec: dict[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    """An obsgen tier from an OpenSLO burnrate condition."""
    if str(detail.get("op", "gte")) not in ("gt", "gte"):
        raise Unsupported(holder, (*at, "spec", "condition", "op"), "a burn-rate condition fires above its threshold: op gt or gte")
    try:
        rate = float(detail["threshold"])
        long = parse_duration(str(detail["lookbackWindow"]))
    except (KeyError, TypeError, ValueError):
        raise Unsupported(holder, (*at, "spec", "condition"), "a burnrate condition needs threshold (a number) and lookbackWindow (e.g. 1h)") from None
    base = 300  # obsgen's windows are whole 5m slices
    short = max(base, round(long / 12 / base) * base)
    if long <= base or long % base:
        raise Unsupported(holder, (*at, "spec", "condition", "lookbackWindow"),
                          f"obsgen's windows are whole 5m slices longer than 5m (got {detail['lookbackWindow']})")
    severity = "critical" if str(spec.get("severity", "")).lower() in PAGE_SEVERITIES else "warning"
    return {"severity": severity, "long": str(detail["lookbackWindow"]), "short": f"{short // 60}m", "burn_rate": rate}


def _resolve(doc: Doc, item: Any, path: Path, kind: str, ref_key: str, objects: dict[tuple[str, str], Doc]) -> tuple[dict[str, Any], Doc]:
    if isinstance(item, dict) and isinstance(item.get(ref_key), str):
        found = objects.get((kind, item[ref_key]))
        if found is None:
            raise Unsupported(doc, (*path, ref_key), f"no {kind} named {item[ref_key]!r}")
        return found.data, found
    if isinstance(item, dict):
        return item, doc
    raise Unsupported(doc, path, f"an inline {kind} or {{{ref_key}: name}}")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _slug(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text or "").lower()).strip("-")[:40]
