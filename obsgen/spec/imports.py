"""`obsgen import`: Sloth (`prometheus/v1` and the `PrometheusServiceLevel` CRD), Pyrra
(`ServiceLevelObjective`) and OpenSLO documents, converted to obsgen's own service specs.

Pure: file texts in, spec texts and a report out (the CLI reads and writes). Common query shapes
become selectors, so imported SLOs get obsgen's layered windows and generated tests:
`sum(rate(SELECTOR[{{.window}}]))` and Pyrra's `errors`/`total` metrics. Other queries stay
expressions over `[$window]`, and the report says so; every field dropped or approximated is one
report line with its file and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import promql_parser
import yaml

from obsgen.core import names, promql
from obsgen.errors import SpecError, SpecIssue
from obsgen.spec import openslo
from obsgen.spec.load import IMPORT_HEADER
from obsgen.spec.yamlsrc import Located, YamlSyntaxError, field_path, load_located_all

SLOTH, SLOTH_CRD, PYRRA, OPENSLO = "Sloth prometheus/v1", "Sloth PrometheusServiceLevel", "Pyrra ServiceLevelObjective", "OpenSLO"
PLACEHOLDER_RUNBOOK = openslo.PLACEHOLDER_RUNBOOK
_LATENCY_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_LATENCY = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def latency_seconds(text: str) -> float:
    """A Prometheus duration as a latency threshold in seconds: 100ms, 1s, 1m30s."""
    parts = _LATENCY.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"{text!r} is not a duration such as 100ms or 1s")
    return sum(float(n) * _LATENCY_UNITS[u] for n, u in parts)


@dataclass
class Imported:
    """What one import run produced: spec file name -> text, and the report's lines."""

    specs: dict[str, str] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)


@dataclass
class _Source:
    shown: str
    located: Located

    def note(self, out: Imported, path: tuple[str | int, ...], message: str) -> None:
        out.report.append(f"{self.shown}:{self.located.line_of(path)}: {field_path(path) or '-'}: {message}")

    def issue(self, path: tuple[str | int, ...], message: str) -> SpecIssue:
        return SpecIssue(self.shown, self.located.line_of(path), field_path(path), message)


def import_files(files: list[tuple[str, str]], team: str | None = None, runbook: str | None = None) -> Imported:
    """Convert (shown name, text) files; SpecError (exit 2) for what cannot be read at all. `team`
    and `runbook` stand in where a file names none (else the service's name and a placeholder)."""
    out = Imported()
    owner = openslo.Owner(team, runbook)
    issues: list[SpecIssue] = []
    services: dict[str, tuple[dict[str, Any], list[str]]] = {}  # name -> (spec, comment per SLO)
    openslo_files: list[tuple[str, list[Located]]] = []
    for shown, text in files:
        try:
            docs = load_located_all(text)
        except YamlSyntaxError as exc:
            issues.append(SpecIssue(shown, exc.line, "", str(exc)))
            continue
        if openslo.is_openslo(docs):
            openslo_files.append((shown, docs))
            continue
        for located in docs:
            source = _Source(shown, located)
            data = located.data if isinstance(located.data, dict) else {}
            try:
                if data.get("version") == "prometheus/v1":
                    _sloth(source, data, (), out, services, SLOTH, owner)
                elif data.get("kind") == "PrometheusServiceLevel" and str(data.get("apiVersion", "")).startswith("sloth.slok.dev/"):
                    _sloth(source, data.get("spec") or {}, ("spec",), out, services, SLOTH_CRD, owner)
                elif data.get("kind") == "ServiceLevelObjective" and str(data.get("apiVersion", "")).startswith("pyrra.dev/"):
                    _pyrra(source, data, out, services, owner)
                elif isinstance(data.get("groups"), list) or (data.get("kind") == "PrometheusRule"):
                    issues.append(source.issue(("groups",) if "groups" in data else ("kind",), (
                        "a Prometheus rule file (Sloth's or Pyrra's output?), not an SLO spec: import the spec it was generated from")))
                else:
                    issues.append(source.issue(("apiVersion",) if "apiVersion" in data else (), (
                        "not a format obsgen imports: Sloth `version: prometheus/v1`, `sloth.slok.dev/v1` "
                        "PrometheusServiceLevel, `pyrra.dev/v1alpha1` ServiceLevelObjective, or OpenSLO v1/v1alpha")))
            except _Refused as exc:
                issues.append(exc.issue)
    converted, problems, _ = openslo.convert(openslo_files, owner)
    issues += problems
    out.report += owner.notes
    for shown, located in converted:
        spec = dict(located.data)
        comments = [f"from {shown}:{located.line_of(('slos', i))} ({OPENSLO})" for i in range(len(spec["slos"]))]
        try:
            _merge(services, spec, comments, _Source(shown, located))
        except _Refused as exc:
            issues.append(exc.issue)
    if issues:
        raise SpecError(issues)
    for name, (spec, comments) in sorted(services.items()):
        out.specs[f"{name}.yaml"] = _render(spec, comments)
    return out


class _Refused(Exception):
    def __init__(self, issue: SpecIssue):
        super().__init__(issue.message)
        self.issue = issue


def _require(source: _Source, data: dict[str, Any], key: str, path: tuple[str | int, ...]) -> Any:
    if data.get(key) in (None, "", []):
        raise _Refused(source.issue((*path, key), "required field is missing"))
    return data[key]


def _sloth(source: _Source, spec: dict[str, Any], path: tuple[str | int, ...], out: Imported,
           services: dict[str, tuple[dict[str, Any], list[str]]], kind: str, owner: openslo.Owner) -> None:
    service = str(_require(source, spec, "service", path))
    labels = spec.get("labels") or {}
    team = labels.get("team") or labels.get("owner")
    if not team:
        team = owner.team or service
        source.note(out, (*path, "labels"), f"Sloth has no owning team: team {team!r} "
                    + ("from --team" if owner.team else "(the service's name; set `team:` or pass --team)"))
    slos, comments = [], []
    for i, slo in enumerate(_require(source, spec, "slos", path)):
        at = (*path, "slos", i)
        comments.append(f"from {source.shown}:{source.located.line_of(at)} ({kind})")
        slos.append(_sloth_slo(source, slo, at, out))
    # The first SLO's runbook is the service's; an SLO with another keeps its own.
    runbooks = [s.pop("_runbook", None) for s in slos]
    runbook = next((r for r in runbooks if r), None)
    for s, own_runbook in zip(slos, runbooks, strict=True):
        if own_runbook and own_runbook != runbook:
            s["runbook"] = own_runbook
    if not runbook:
        runbook = owner.runbook or PLACEHOLDER_RUNBOOK.format(service=service)
        source.note(out, path or ("service",), f"no runbook annotation: runbook {runbook} "
                    + ("from --runbook" if owner.runbook else "(a placeholder; set `runbook:` or pass --runbook)"))
    own = {k: v for k, v in labels.items() if k not in ("team", "owner")}
    spec_out: dict[str, Any] = {"service": service, "team": str(team), "runbook": runbook}
    if own:
        spec_out["labels"] = _labels(source, own, (*path, "labels"), out)
    _plugins(source, spec.get("slo_plugins"), (*path, "slo_plugins"), out)
    spec_out["slos"] = slos
    _merge(services, spec_out, comments, source)


def _sloth_slo(source: _Source, slo: dict[str, Any], at: tuple[str | int, ...], out: Imported) -> dict[str, Any]:
    result: dict[str, Any] = {"name": _require(source, slo, "name", at), "objective": _require(source, slo, "objective", at)}
    if slo.get("description"):
        result["description"] = slo["description"]
    _plugins(source, slo.get("plugins"), (*at, "plugins"), out)
    sli = _require(source, slo, "sli", at)
    events = sli.get("events") if isinstance(sli, dict) else None
    if isinstance(sli, dict) and isinstance(sli.get("plugin"), dict):
        raise _Refused(source.issue((*at, "sli", "plugin"), f"SLI plugin {sli['plugin'].get('id')!r} is Go code Sloth runs: write its "
                                    "errors and total queries as `events` (obsgen cannot run Sloth plugins)"))
    if isinstance(sli, dict) and isinstance(sli.get("raw"), dict):
        result["sli"] = _raw_ratio(source, sli["raw"], (*at, "sli", "raw"), out)
        result["guard"] = False
        source.note(out, (*at, "sli", "raw"), "approximated: a raw error ratio has no events, so each window is the mean of its "
                    "5m ratios (not weighted by traffic) and the low-traffic guard is off; write error and total queries as "
                    "`events` to get both")
        events = None
    elif not isinstance(events, dict):
        raise _Refused(source.issue((*at, "sli"), "an SLI is `events` (error_query, total_query), `raw` or `plugin`"))
    if events is not None:
        result["sli"] = _sloth_events(source, events, at, out)
    _sloth_alerting(source, slo, at, out, result)
    return result


def _sloth_events(source: _Source, events: dict[str, Any], at: tuple[str | int, ...], out: Imported) -> dict[str, Any]:
    # The CRD spells the same fields in camelCase.
    error_key, total_key = ("error_query", "total_query") if "error_query" in events or "total_query" in events else ("errorQuery", "totalQuery")
    errors = str(_require(source, events, error_key, (*at, "sli", "events")))
    total = str(_require(source, events, total_key, (*at, "sli", "events")))
    good = _good_of(errors, total)
    if good is not None:
        return {"ratio": {"good": good.render(), "total": _events(source, total, (*at, "sli", "events", total_key), out)}}
    return {"ratio": {
        "errors": _events(source, errors, (*at, "sli", "events", error_key), out),
        "total": _events(source, total, (*at, "sli", "events", total_key), out),
    }}


def _raw_ratio(source: _Source, raw: dict[str, Any], at: tuple[str | int, ...], out: Imported) -> dict[str, Any]:
    """A raw error ratio as a ratio SLI: the ratio over one, so errors / total is the ratio itself."""
    key = "error_ratio_query" if "error_ratio_query" in raw else "errorRatioQuery"
    query = str(_require(source, raw, key, at))
    expression = openslo.SLOTH_WINDOW.sub("$window", query).strip()
    if "$window" not in expression:
        raise _Refused(source.issue((*at, key), "a raw error ratio needs [{{.window}}] ranges, so obsgen can read it over 5m"))
    try:
        promql.check_window_expression(expression)
    except ValueError as exc:
        raise _Refused(source.issue((*at, key), str(exc))) from None
    return {"ratio": {"errors": f"({expression})", "total": f"({expression}) * 0 + 1"}}


def _sloth_alerting(source: _Source, slo: dict[str, Any], at: tuple[str | int, ...], out: Imported, result: dict[str, Any]) -> None:
    alerting = slo.get("alerting") or {}
    for snake, camel in (("page_alert", "pageAlert"), ("ticket_alert", "ticketAlert")):
        if camel in alerting:
            alerting = {**alerting, snake: alerting[camel]}
    mine: dict[str, Any] = {}
    if (alerting.get("page_alert") or {}).get("disable"):
        mine["critical"] = False
    if (alerting.get("ticket_alert") or {}).get("disable"):
        mine["warning"] = False
    if alerting.get("labels"):
        mine["labels"] = _labels(source, alerting["labels"], (*at, "alerting", "labels"), out)
    annotations = dict(alerting.get("annotations") or {})
    for key in ("runbook", "runbook_url"):
        if key in annotations:
            result["_runbook"] = annotations.pop(key)
    if annotations:
        mine["annotations"] = annotations
    if alerting.get("name"):
        source.note(out, (*at, "alerting", "name"), "dropped: obsgen names its alerts ErrorBudgetBurn, with slo and tier labels")
    for kind in ("page_alert", "ticket_alert"):
        if (alerting.get(kind) or {}).get("labels"):
            source.note(out, (*at, "alerting", kind, "labels"),
                        "dropped: obsgen sets severity per tier (critical pages, warning tickets); route on it in alerts/routing.yaml")
    if slo.get("labels"):
        source.note(out, (*at, "labels"), "moved to alerting.labels (obsgen's SLO series carry the service's labels)")
        mine.setdefault("labels", {}).update(_labels(source, slo["labels"], (*at, "labels"), out))
    if not (mine.get("critical", True) or mine.get("warning", True)):
        source.note(out, (*at, "alerting"), "page and ticket alerts are both disabled: the SLO records its windows and "
                    "budget, and only its no-data alert fires")
    if mine:
        result["alerting"] = mine


def _labels(source: _Source, labels: Any, at: tuple[str | int, ...], out: Imported) -> dict[str, str]:
    """Label values as the strings Prometheus holds: YAML's `true` is "true", not Python's "True"."""
    found: dict[str, str] = {}
    for key, value in (labels or {}).items() if isinstance(labels, dict) else []:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif value is None:
            text = ""
        else:
            text = str(value)
        if not isinstance(value, str):
            source.note(out, (*at, key), f"YAML {type(value).__name__} {value!r} written as the label value {text!r}; quote it to be sure")
        found[str(key)] = text
    return found


def _plugins(source: _Source, plugins: Any, at: tuple[str | int, ...], out: Imported) -> None:
    """Sloth's SLO plugins change the rules Sloth writes; obsgen runs none, so each is named."""
    chain = plugins.get("chain") if isinstance(plugins, dict) else None
    for i, plugin in enumerate(chain or []):
        ident = plugin.get("id") if isinstance(plugin, dict) else plugin
        source.note(out, (*at, "chain", i), f"dropped: Sloth SLO plugin {ident!r} changes Sloth's rules and obsgen does not run "
                    "Sloth plugins; obsgen's own settings may cover it (labels, alerting, tiers, min_events, guard)")


def _rate_of(query: str) -> promql.Selector | None:
    """The selector of `sum(rate(selector[{{.window}}]))` (or increase), else None."""
    try:
        node = promql_parser.parse(openslo.SLOTH_WINDOW.sub("5m", query).replace("$window", "5m"))
    except ValueError:
        return None
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    if not (isinstance(node, promql_parser.AggregateExpr) and str(node.op) == "sum" and node.modifier is None and node.param is None):
        return None
    call = node.expr
    if not (isinstance(call, promql_parser.Call) and call.func.name in ("rate", "increase") and len(call.args) == 1
            and isinstance(call.args[0], promql_parser.MatrixSelector)):
        return None
    try:
        return promql.parse_selector(str(call.args[0].vector_selector))
    except ValueError:
        return None  # an offset, @ or a name-less selector: not a plain counter


def _good_of(errors: str, total: str) -> promql.Selector | None:
    """Y in errors `sum(rate(T[w])) - sum(rate(Y[w]))` with total `sum(rate(T[w]))`: errors are the
    total less the good events (Sloth's latency SLOs), so obsgen's good over total is exact."""
    try:
        node = promql_parser.parse(openslo.SLOTH_WINDOW.sub("5m", errors))
    except ValueError:
        return None
    if not isinstance(node, promql_parser.BinaryExpr) or str(node.op) != "-" or node.modifier is not None:
        return None
    counted = _rate_of(str(node.lhs))
    return _rate_of(str(node.rhs)) if counted is not None and counted == _rate_of(total) else None


def _events(source: _Source, query: str, at: tuple[str | int, ...], out: Imported) -> str:
    """`sum(rate(selector[{{.window}}]))` -> the selector; anything else stays an expression."""
    found = _rate_of(query)
    if found is not None:
        return found.render()
    expression = openslo.SLOTH_WINDOW.sub("$window", query).strip()
    try:
        promql.check(expression.replace("$window", "5m"))
    except ValueError as exc:
        raise _Refused(source.issue(at, f"not PromQL, so no Prometheus can run it (MetricsQL or another dialect?): {exc}")) from None
    source.note(out, at, "kept as an expression over [$window]: not sum(rate(selector[window])), so obsgen cannot "
                "layer its windows or generate this SLO's tests")
    return expression


def _pyrra(source: _Source, data: dict[str, Any], out: Imported, services: dict[str, tuple[dict[str, Any], list[str]]],
           owner: openslo.Owner) -> None:
    meta, spec = data.get("metadata") or {}, data.get("spec") or {}
    name = str(_require(source, meta, "name", ("metadata",)))
    labels = meta.get("labels") or {}
    service = str(labels.get("service") or labels.get("app") or meta.get("namespace") or name)
    source.note(out, ("metadata",), f"service {service!r} from metadata.labels.service, .app or the namespace")
    try:
        objective = float(_require(source, spec, "target", ("spec",)))
    except (TypeError, ValueError):
        raise _Refused(source.issue(("spec", "target"), f"a percentage such as \"99.5\" (got {spec.get('target')!r})")) from None
    indicator = _require(source, spec, "indicator", ("spec",))
    slo: dict[str, Any] = {"name": name, "objective": objective, "period": str(spec.get("window") or "28d")}
    if spec.get("description"):
        slo["description"] = spec["description"]
    sli, grouping = _pyrra_indicator(source, indicator, out)
    slo["sli"] = sli
    clash = [g for g in grouping if str(g) in names.RESERVED_LABELS]
    if clash:
        kind = next(iter(indicator))
        raise _Refused(source.issue(("spec", "indicator", kind, "grouping"), (
            f"grouping by {', '.join(map(repr, clash))}: obsgen's SLO series and alerts carry their own {clash[0]!r} label, so a "
            "group label by that name would be overwritten; relabel it in Prometheus (e.g. to rpc_service) and group by that")))
    if grouping:
        slo["group_by"] = [str(g) for g in grouping]  # Pyrra's grouping: an SLO and alerts per group, as obsgen's group_by
    source.note(out, ("spec", "window"), "approximated: alerts use obsgen's multiwindow tiers (1h/5m, 6h/30m, 1d/2h, 3d/6h "
                "spending 2%, 5%, 10% and 10% of the budget); Pyrra scales its alert windows with the SLO window")
    alerting = spec.get("alerting") or {}
    if alerting.get("disabled"):
        slo["alerting"] = {"critical": False, "warning": False, "no_data": False}
    if alerting.get("name"):
        source.note(out, ("spec", "alerting", "name"), "dropped: obsgen names its alerts ErrorBudgetBurn")
    team, runbook = owner.team or service, owner.runbook or PLACEHOLDER_RUNBOOK.format(service=service)
    given = "from --team/--runbook" if owner.team and owner.runbook else "set `team:` and `runbook:` or pass --team/--runbook"
    source.note(out, ("metadata",), f"Pyrra has no team or runbook: written as {team!r}, {runbook} ({given})")
    comment = f"from {source.shown}:{source.located.line_of(())} ({PYRRA})"
    _merge(services, {"service": service, "team": team, "runbook": runbook, "slos": [slo]}, [comment], source)


def _pyrra_indicator(source: _Source, indicator: Any, out: Imported) -> tuple[dict[str, Any], list[Any]]:
    """The SLI and the grouping of a Pyrra indicator: ratio, latency, latencyNative or bool_gauge."""
    at: tuple[str | int, ...]
    if "ratio" in indicator:
        ratio, at = indicator["ratio"] or {}, ("spec", "indicator", "ratio")
        return {"ratio": {"errors": _metric(source, ratio, "errors", at), "total": _metric(source, ratio, "total", at)}}, ratio.get("grouping") or []
    if "latency" in indicator:
        latency, at = indicator["latency"] or {}, ("spec", "indicator", "latency")
        bucket = promql.parse_selector(_metric(source, latency, "success", at))
        total = promql.parse_selector(_metric(source, latency, "total", at))
        le = next((m for m in bucket.matchers if m.name == "le" and m.op == "="), None)
        if le is None or not bucket.name.endswith("_bucket"):
            raise _Refused(source.issue((*at, "success", "metric"), "a latency success metric is a _bucket series with an le=\"...\" matcher"))
        histogram = promql.Selector(bucket.name.removesuffix("_bucket"), tuple(m for m in bucket.matchers if m.name != "le"))
        grouping = latency.get("grouping") or []
        if total == promql.Selector(f"{histogram.name}_count", histogram.matchers):
            threshold = float(le.value)
            return {"latency": {"histogram": histogram.render(), "buckets": [threshold], "threshold": threshold}}, grouping
        # Pyrra counts every event of `total`, fast or not: the fast ones over those, as obsgen's good over total.
        source.note(out, (*at, "total"), "imported as a ratio SLI (good: the success bucket, total: the total metric), as Pyrra "
                    "counts it: the two select different series, so obsgen's latency SLI (one histogram) would change it")
        return {"ratio": {"good": bucket.render(), "total": total.render()}}, grouping
    if "latencyNative" in indicator:
        native, at = indicator["latencyNative"] or {}, ("spec", "indicator", "latencyNative")
        try:
            threshold = latency_seconds(str(native.get("latency", "")))
        except ValueError as exc:
            raise _Refused(source.issue((*at, "latency"), str(exc))) from None
        return {"latency": {"histogram": _metric(source, native, "total", at), "native": True, "threshold": threshold}}, native.get("grouping") or []
    if "bool_gauge" in indicator:
        gauge, at = indicator["bool_gauge"] or {}, ("spec", "indicator", "bool_gauge")
        # Pyrra counts the gauge's samples and its 1s over the window: obsgen's probe SLI does the same.
        return {"probe": {"success": _metric(source, {"gauge": gauge}, "gauge", at)}}, gauge.get("grouping") or []
    kinds = ", ".join(sorted(indicator)) if isinstance(indicator, dict) else "?"
    raise _Refused(source.issue(("spec", "indicator"), f"obsgen imports ratio, latency, latencyNative and bool_gauge indicators (got {kinds})"))


def _metric(source: _Source, parent: dict[str, Any], key: str, at: tuple[str | int, ...]) -> str:
    side = parent.get(key) if isinstance(parent, dict) else None
    metric = side.get("metric") if isinstance(side, dict) else None
    if not isinstance(metric, str):
        raise _Refused(source.issue((*at, key), "required field is missing: metric"))
    try:
        return promql.parse_selector(metric).render()
    except ValueError as exc:
        raise _Refused(source.issue((*at, key, "metric"), str(exc))) from None


def _merge(services: dict[str, tuple[dict[str, Any], list[str]]], spec: dict[str, Any], comments: list[str], source: _Source) -> None:
    """Several files may hold SLOs of one service: one spec file per service."""
    name = spec["service"]
    if name not in services:
        services[name] = (spec, comments)
        return
    known, known_comments = services[name]
    taken = {s["name"] for s in known["slos"]}
    for slo, comment in zip(spec["slos"], comments, strict=True):
        if slo["name"] in taken:
            raise _Refused(source.issue(("slos",), f"SLO {slo['name']!r} of service {name!r} is imported twice"))
        known["slos"].append(slo)
        known_comments.append(comment)


def _render(spec: dict[str, Any], comments: list[str]) -> str:
    head = {k: v for k, v in spec.items() if k != "slos"}
    lines = [f"{IMPORT_HEADER}; the import report lists what changed.",
             yaml.safe_dump(head, sort_keys=False, allow_unicode=True).rstrip("\n"), "slos:"]
    for slo, comment in zip(spec["slos"], comments, strict=True):
        lines.append(f"  # {comment}")
        body = yaml.safe_dump([slo], sort_keys=False, allow_unicode=True, width=1_000_000).rstrip("\n")
        lines += [f"  {line}" for line in body.splitlines()]
    return "\n".join(lines) + "\n"
