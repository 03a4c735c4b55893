"""Grafana dashboards from the specs: one per service, an SLO overview, and the teams' own.

Pure: models in, dashboard JSON out. Panels read obsgen's recording rules where one exists (cheap
and consistent with the alerts) and the raw series only for breakdowns and percentiles.
"""
from __future__ import annotations

from typing import Any

from obsgen.core import names, promql, slo_math
from obsgen.core.durations import format_duration
from obsgen.grafana import panels
from obsgen.grafana.panels import Row
from obsgen.loki import rules as loki
from obsgen.model.ops import Operations
from obsgen.model.project import Traces
from obsgen.model.slo import SLO, CompositeSLI, LatencySLI, ProbeSLI, RatioSLI, Service

RATE = "$__rate_interval"
ENV = promql.Matcher("env", "=~", "$env")
PERCENTILES = (0.5, 0.95, 0.99)
TAGS = ["obsgen"]
SLO_FOLDER = "slo"
COLLAPSE_FROM = 8  # services; larger overviews open with their rows collapsed


def service_uid(service: str) -> str:
    return names.dashboard_uid(names.SERVICE_DASHBOARD, service)


def service_url(service: str, base: str = "") -> str:
    return base.rstrip("/") + names.dashboard_path(service_uid(service), names.service_dashboard_title(service))


def overview_url(team: str, base: str = "") -> str:
    return base.rstrip("/") + names.dashboard_path(names.slo_overview_uid(team), names.slo_overview_title(team))


def _env(selector: promql.Selector | promql.Aggregate) -> str:
    """The selector, scoped to the dashboard's environment variable."""
    return selector.with_matcher(ENV).render()


def _raw(events: promql.Events, by: str | None = None) -> str:
    """sum(rate(...)) of a spec's counter, scoped to $env, optionally split by a label."""
    agg = f"sum by ({by})" if by else "sum"
    if isinstance(events, promql.WindowExpression):
        return f"{agg} ({events.at(RATE)})"
    return f"{agg} (rate({_env(events)}[{RATE}]))"


def _rec(metric: str, service: Service, slo: SLO, worst: str = "") -> str:
    """An SLO's recording. Per-group SLOs: `worst` (max or min) of the groups, for an SLO-wide
    panel; otherwise the groups the dashboard's variables select."""
    selector = promql.Selector.of(metric, **service.ids(slo))
    if not slo.group_by:
        return selector.render()
    if worst:
        return f"{worst}({selector.render()})"
    for label in slo.group_by:
        selector = selector.with_matcher(promql.Matcher(label, "=~", f"${label}"))
    return selector.render()


def _worst(slo: SLO) -> str:
    return f" (worst {', '.join(slo.group_by)})" if slo.group_by else ""


def _slo_status(service: Service, slo: SLO) -> list[Any]:
    """SLI over the period against its objective, and the budget left; a per-group SLO's worst group."""
    objective = float(slo_math.objective_ratio(slo.objective))
    period = slo.period_label
    over = f"since this {slo.calendar.unit} started ({slo.calendar.zone})" if slo.calendar else f"over the last {period}"
    return [
        panels.stat(
            f"{slo.name}: SLI over {period}{_worst(slo)}", f"1 - {_rec(slo.period_ratio, service, slo, 'max')}", "percentunit",
            description=f"Good events {over}; objective {slo.objective:g}%.",
            thresholds=[(None, "red"), (objective, "green")],
        ),
        panels.gauge(
            f"{slo.name}: error budget left{_worst(slo)}", _rec(names.BUDGET_REMAINING, service, slo, "min"), "percentunit", 0, 1,
            description=f"Share of the {period} error budget not yet spent; below zero the SLO is missed.",
            thresholds=[(None, "red"), (0.25, "orange"), (0.5, "green")],
        ),
    ]


def _groups(service: Service) -> Row | None:
    """Per-group SLOs: every group by budget left, the least first, and each group's burn rate."""
    found = []
    for slo in service.slos:
        if not slo.group_by:
            continue
        legend = " ".join(f"{{{{{label}}}}}" for label in slo.group_by)
        budget = promql.number(float(slo.budget))
        found.append(panels.table(
            f"{slo.name}: {', '.join(slo.group_by)} by error budget left",
            f"sort({_rec(names.BUDGET_REMAINING, service, slo)})",
            description=f"Each {', '.join(slo.group_by)} has its own {format_duration(slo.period)} budget; the least left first.",
        ))
        fastest = min(slo.tier_set, key=lambda t: t.long_window).long_window
        found.append(panels.timeseries(
            f"{slo.name}: burn rate by {', '.join(slo.group_by)} ({format_duration(fastest)})",
            [(f"{_rec(names.error_ratio(fastest), service, slo)} / {budget}", legend)], "x", min_value=0,
        ))
    return Row("SLO groups", found, width=12) if found else None


def _burn_rates(service: Service, slo: SLO) -> Any:
    """Burn rate over each alert window, with every tier's threshold drawn as a line."""
    budget = promql.number(float(slo.budget))
    windows = sorted({t.long_window for t in slo.tier_set})
    exprs: list[tuple[str, str]] = [(f"{_rec(names.error_ratio(w), service, slo, 'max')} / {budget}", format_duration(w)) for w in windows]
    steps: panels.Steps = [(None, "green")]
    steps += sorted(
        {(float(t.burn_rate(slo.period)), "orange" if t.severity == "warning" else "red") for t in slo.tier_set}
    )
    return panels.timeseries(
        f"{slo.name}: burn rate{_worst(slo)}", exprs, "x",
        description="Error ratio over each alert window divided by the error budget; lines mark the tiers' burn rates.",
        thresholds=steps, min_value=0,
    )


def _alerts_table(service: Service, slo: SLO | None = None) -> Any:
    labels = {names.SERVICE: service.name, **({names.SLO: slo.name} if slo else {})}
    selector = promql.Selector.of("ALERTS", alertstate="firing", **labels).render()
    return panels.table(f"{slo.name if slo else service.name}: firing alerts", selector)


def _traffic(service: Service) -> Row:
    rate_exprs, error_exprs, breakdown, probes, parts = [], [], [], [], []
    by = service.dashboard.breakdown
    for slo in service.slos:
        error_exprs.append((_rec(names.error_ratio(names.BASE_WINDOW), service, slo, "max"), slo.name))
        if isinstance(slo.sli, ProbeSLI):
            success = _env(slo.sli.success)
            probes.append(panels.timeseries(
                f"{slo.name}: checks passed", [(f"avg by (instance) (avg_over_time({success}[{RATE}]))", "{{instance}}")],
                "percentunit", description=f"Share of {slo.sli.success.name} samples that were 1, per instance.", min_value=0,
            ))
            continue
        if isinstance(slo.sli, CompositeSLI):
            rate_exprs.append((f"sum({_rec(names.total_rate(names.BASE_WINDOW), service, slo)})", slo.name))
            parts.append(_parts(service, slo, slo.sli))
            continue
        if isinstance(slo.sli, LatencySLI) and slo.sli.native:
            rate_exprs.append((f"histogram_count(sum(rate({_env(slo.sli.histogram)}[{RATE}])))", slo.name))
            continue
        total, errors = _counters(slo.sli)
        rate_exprs.append((_raw(total), slo.name))
        if by and isinstance(total, promql.Selector) and isinstance(errors, promql.Selector):
            breakdown.append(
                panels.timeseries(
                    f"{slo.name}: error ratio by {by}",
                    [(f"{_raw(errors, by)} / {_raw(total, by)}", f"{{{{{by}}}}}")],
                    "percentunit", min_value=0,
                )
            )
    row = [
        *([panels.timeseries("Request rate", rate_exprs, "reqps", description="Events per second, by SLI.", min_value=0)] if rate_exprs else []),
        panels.timeseries("Error ratio (5m)", error_exprs, "percentunit", description="Bad over all events, by SLO.", min_value=0),
        *probes,
        *parts,
        *breakdown,
    ]
    return Row("Traffic and errors", row, width=12 if len(row) <= 2 else 8)


def _parts(service: Service, slo: SLO, sli: CompositeSLI) -> Any:
    """A composite beside its parts: which one is failing, each against the composite's budget."""
    worst = "max" if slo.group_by else ""
    exprs = [(_rec(names.error_ratio(names.BASE_WINDOW), service, slo, worst), f"{slo.name} (composite)")]
    exprs += [
        (f"{worst}({ratio})" if worst else ratio, part.ref + (f" x{part.weight:g}" if part.weight != 1 else ""))
        for part in sli.parts
        for ratio in [promql.Selector.of(names.error_ratio(names.BASE_WINDOW), service=part.service, slo=part.slo.name).render()]
    ]
    return panels.timeseries(
        f"{slo.name}: parts' error ratio (5m)", exprs, "percentunit", min_value=0,
        description=f"The composite and each of its parts; red line: the composite's error budget ({float(slo.budget):.4%}).",
        thresholds=[(None, "green"), (float(slo.budget), "red")],
    )


def _counters(sli: RatioSLI | LatencySLI) -> tuple[promql.Events, promql.Events | None]:
    """(total, errors) of an SLI, for raw-series panels; None errors when only good events are counted."""
    if isinstance(sli, RatioSLI):
        return sli.total, sli.errors
    return sli.count, None


def _latency(service: Service, exemplars: bool = False) -> Row | None:
    found = []
    for slo in service.slos:
        latency = slo.sli
        if not isinstance(latency, LatencySLI):
            continue
        # A classic histogram's buckets are summed per `le`; a native histogram is one series.
        series, le = (_env(latency.histogram), ()) if latency.native else (_env(latency.bucket), ("le",))
        rates = f"rate({series}[{RATE}])"
        summed = promql.summed(le).rstrip()
        quantiles = [
            panels.prometheus(f"histogram_quantile({q}, {summed} ({rates}))", f"p{int(q * 100)}", ref=chr(ord("A") + i), exemplar=exemplars)
            for i, q in enumerate(PERCENTILES)
        ]
        found.append(panels.timeseries(
            f"{slo.name}: latency percentiles", quantiles, "s",
            description=f"From {latency.histogram.name}; the SLO counts requests at or under {latency.threshold:g} s (red line).",
            thresholds=[(None, "green"), (latency.threshold, "red")], min_value=0,
        ))
        found.append(panels.heatmap(f"{slo.name}: latency distribution", f"{summed} (increase({series}[{RATE}]))"))
        if service.dashboard.breakdown:
            split = service.dashboard.breakdown
            found.append(panels.timeseries(
                f"{slo.name}: p99 by {split}",
                [(f"histogram_quantile(0.99, {promql.summed((*le, split)).rstrip()} ({rates}))", f"{{{{{split}}}}}")], "s", min_value=0,
            ))
    return Row("Latency", found) if found else None


def _saturation(service: Service) -> Row | None:
    res = service.dashboard.resources
    found = []
    if res.cpu:
        cpu = _env(res.cpu)
        found.append(panels.timeseries("CPU", [(f"sum by (instance) (rate({cpu}[{RATE}]))", "{{instance}}")], "short",
                                       description="CPU cores in use, per instance.", min_value=0))
    if res.memory:
        memory = _env(res.memory)
        found.append(panels.timeseries("Memory", [(f"sum by (instance) ({memory})", "{{instance}}")], "bytes",
                                       description="Resident memory, per instance.", min_value=0))
    return Row("Saturation", found, width=12) if found else None


def _dependencies(service: Service) -> Row | None:
    if not service.depends_on:
        return None
    found = [
        panels.timeseries(
            f"{dep.service}: error ratio (5m)",
            [(promql.Selector.of(names.error_ratio(names.BASE_WINDOW), service=dep.service).render(), "{{slo}}")],
            "percentunit", description=f"SLOs of {dep.service}, which {service.name} calls.", min_value=0,
        )
        for dep in service.depends_on
    ]
    return Row("Dependencies", found, width=12)


def _operations(ops: Operations, service_name: str) -> list[Row]:
    """Queues, resource use and calls to external APIs, from alerts/<service>.yaml."""
    rows = []
    queues = []
    for q in ops.queues:
        depth = _env(q.depth)
        legend = "{{" + (q.depth.by[0] if isinstance(q.depth, promql.Aggregate) and q.depth.by else "queue") + "}}"
        queues.append(panels.timeseries(f"{q.name}: depth", [(depth, legend)], "short", min_value=0,
                                        thresholds=[(None, "green"), (float(q.max_depth), "red")]))
        flows = [(_raw(sel), label) for sel, label in ((q.enqueued, "enqueued"), (q.processed, "processed")) if sel]
        if flows:
            queues.append(panels.timeseries(f"{q.name}: enqueued and processed", flows, "ops", min_value=0))
        if q.scale:
            workload = q.scale.workload(service_name)
            queues.append(panels.timeseries(
                f"{q.name}: {workload} replicas", [(f"sum({_env(q.scale.replicas_of(service_name))})", "replicas")], "short",
                description=f"Ready replicas of {workload}, which scales on this queue: {promql.number(q.scale.target_per_replica)} "
                f"waiting messages per replica, {q.scale.min} to {q.scale.max} (red line: at max, a growing backlog pages).",
                min_value=0, thresholds=[(None, "green"), (float(q.scale.max), "red")],
            ))
    if queues:
        rows.append(Row("Queues", queues, width=12))
    used = [
        panels.timeseries(
            f"{s.name}: used", [(promql.usage_ratio(_env(s.used), _env(s.capacity), s.by), "{{" + s.by[0] + "}}")],
            "percentunit", min_value=0, thresholds=[(None, "green"), (s.warning / 100, "orange"), (s.critical / 100, "red")],
        )
        for s in ops.saturation
    ]
    if used:
        rows.append(Row("Resources", used, width=12))
    calls = [
        panels.timeseries(f"{d.name}: failed calls", [(f"{_raw(d.failures)} / {_raw(d.total)}", "failed")], "percentunit",
                          min_value=0, thresholds=[(None, "green"), (d.max_failure_ratio / 100, "red")])
        for d in ops.dependencies
    ]
    if calls:
        rows.append(Row("External APIs", calls, width=12))
    if ops.logs:
        rows.append(Row("Logs", [panels.logs(f"{s.name}", loki.stream(s)) for s in ops.logs], width=24 // min(2, len(ops.logs))))
    return rows


def _linked(service: Service) -> list[str]:
    """Services this one's dashboard links to: its dependencies, then its composites' parts' services."""
    names_ = [d.service for d in service.depends_on]
    for slo in service.slos:
        if isinstance(slo.sli, CompositeSLI):
            names_ += [p.service for p in slo.sli.parts if p.service != service.name]
    return list(dict.fromkeys(names_))


def service_dashboard(service: Service, grafana_url: str = "", exemplars: bool = False) -> str:
    """The service's dashboard; `exemplars` (a trace datasource is set) marks latency points linked to traces."""
    rows = [Row("SLOs", [p for slo in service.slos for p in _slo_status(service, slo)], width=6, height=6)]
    rows += [r for r in (_groups(service),) if r is not None]
    rows.append(_traffic(service))
    rows += [r for r in (_latency(service, exemplars), _saturation(service), _dependencies(service)) if r is not None]
    rows += _operations(service.ops, service.name)
    rows.append(Row("Alerts", [_alerts_table(service)], width=24, height=6))
    links = [
        panels.link("Runbook", service.runbook),
        panels.link(names.slo_overview_title(service.team), overview_url(service.team, grafana_url)),
        *[panels.link(f"{name} dashboard", service_url(name, grafana_url)) for name in _linked(service)],
    ]
    board = panels.dashboard(
        names.service_dashboard_title(service.name), service_uid(service.name), rows,
        tags=[*TAGS, service.team, service.name], links=links,
        description=service.description or f"Traffic, errors, latency and saturation of {service.name}.",
        variables=[
            panels.variable(label, f"label_values({promql.Selector.of(names.total_rate(names.BASE_WINDOW), service=service.name).render()}, {label})")
            for label in sorted({label for slo in service.slos for label in slo.group_by})
        ],
    )
    return panels.render(board)


def overview_dashboard(team: str, services: list[Service], grafana_url: str = "") -> str:
    """One per team: a row per service, and per SLO its SLI, budget, burn rates and firing alerts.

    Per team, because the on-call reads their own SLOs, and because one dashboard of every SLO
    stops loading long before a thousand services; past COLLAPSE_FROM services rows start collapsed.
    """
    collapsed = len(services) > COLLAPSE_FROM
    rows = []
    for service in services:
        found = []
        for slo in service.slos:
            found += [*_slo_status(service, slo), _burn_rates(service, slo), _alerts_table(service, slo)]
        rows.append(Row(service.name, found, widths=[4, 4, 10, 6] * len(service.slos), height=7, collapsed=collapsed))
    links = [panels.link(f"{s.name} dashboard", service_url(s.name, grafana_url)) for s in services]
    board = panels.dashboard(
        names.slo_overview_title(team), names.slo_overview_uid(team), rows, tags=[*TAGS, "slo", team], links=links,
        description=f"Every SLO of team {team}: its SLI against the objective, error budget left, burn rate per alert window, firing alerts.",
    )
    return panels.render(board)


def datasources(traces: Traces) -> dict[str, Any]:
    """Grafana datasource provisioning that makes the trace links work: Prometheus exemplars and
    Loki derived fields pointing at the trace datasource. URLs of Prometheus and Loki come from the
    environment Grafana runs in; nothing secret is written (credentials belong in Grafana). Grafana
    expands $VARIABLES in provisioning files, so the derived field's own ${__value.raw} is written $${...}."""
    return {
        "apiVersion": 1,
        "datasources": [
            {"name": "Prometheus", "uid": "prometheus", "type": "prometheus", "access": "proxy", "url": "${PROMETHEUS_URL}",
             "jsonData": {"exemplarTraceIdDestinations": [{"name": traces.exemplar_label, "datasourceUid": traces.datasource}]}},
            {"name": "Loki", "uid": "loki", "type": "loki", "access": "proxy", "url": "${LOKI_URL}",
             "jsonData": {"derivedFields": [{"name": "TraceID", "matcherRegex": traces.log_trace_id, "url": "$${__value.raw}",
                                             "datasourceUid": traces.datasource, "urlDisplayLabel": "View trace"}]}},
            *({"name": uid, "uid": uid, "type": source.type, "access": "proxy", "url": source.url}
              for uid, source in sorted(traces.datasources.items())),
        ],
    }


def provisioning(path: str = "/var/lib/grafana/dashboards/obsgen") -> dict[str, Any]:
    """Grafana file provisioning: one provider, folders from the output's sub-folders."""
    return {
        "apiVersion": 1,
        "providers": [{
            "name": "obsgen",
            "orgId": 1,
            "folder": "",
            "type": "file",
            "disableDeletion": False,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 60,
            "options": {"path": path, "foldersFromFilesStructure": True},
        }],
    }
