"""Grafana dashboards from the specs: one per service, an SLO overview, and the teams' own.

Pure: models in, dashboard JSON out. Panels read obsgen's recording rules where one exists (cheap
and consistent with the alerts) and the raw series only for breakdowns and percentiles.
"""
from __future__ import annotations

from typing import Any

from obsgen import burnrate, loki, names, panels, promql
from obsgen.ops_spec import OpsSpec
from obsgen.durations import format_duration, parse_duration
from obsgen.panels import Row
from obsgen.spec import SLO, Service

RATE = "$__rate_interval"
ENV = promql.Matcher("env", "=~", "$env")
PERCENTILES = (0.5, 0.95, 0.99)
TAGS = ["obsgen"]
SLO_FOLDER = "slo"
COLLAPSE_FROM = 8  # services; larger overviews open with their rows collapsed


def folder_of(service: Service) -> str:
    return service.dashboard.folder or service.team


def service_uid(service: str) -> str:
    return names.dashboard_uid(names.SERVICE_DASHBOARD, service)


def service_url(service: str, base: str = "") -> str:
    return base.rstrip("/") + names.dashboard_path(service_uid(service), names.service_dashboard_title(service))


def overview_url(team: str, base: str = "") -> str:
    return base.rstrip("/") + names.dashboard_path(names.slo_overview_uid(team), names.slo_overview_title(team))


def _raw(selector: str, by: str | None = None, expression_window: bool = False) -> str:
    """sum(rate(...)) of a spec's counter, scoped to $env, optionally split by a label."""
    agg = f"sum by ({by})" if by else "sum"
    if expression_window:
        return f"{agg} ({promql.with_window(selector, RATE)})"
    return f"{agg} (rate({promql.parse_selector(selector).with_matcher(ENV).render()}[{RATE}]))"


def _ids(service: Service, slo: SLO) -> dict[str, str]:
    return {names.SERVICE: service.service, names.SLO: slo.name}


def _rec(metric: str, service: Service, slo: SLO) -> str:
    return promql.Selector.of(metric, **_ids(service, slo)).render()


def _slo_status(service: Service, slo: SLO) -> list[Any]:
    """SLI over the period against its objective, and the budget left."""
    period = parse_duration(slo.period)
    objective = float(burnrate.objective_ratio(slo.objective))
    return [
        panels.stat(
            f"{slo.name}: SLI over {slo.period}", f"1 - {_rec(names.error_ratio(period), service, slo)}", "percentunit",
            description=f"Good events over the last {slo.period}; objective {slo.objective:g}%.",
            thresholds=[(None, "red"), (objective, "green")],
        ),
        panels.gauge(
            f"{slo.name}: error budget left", _rec(names.BUDGET_REMAINING, service, slo), "percentunit", 0, 1,
            description=f"Share of the {slo.period} error budget not yet spent; below zero the SLO is missed.",
            thresholds=[(None, "red"), (0.25, "orange"), (0.5, "green")],
        ),
    ]


def _burn_rates(service: Service, slo: SLO) -> Any:
    """Burn rate over each alert window, with every tier's threshold drawn as a line."""
    period = parse_duration(slo.period)
    budget = promql.number(float(burnrate.error_budget(slo.objective)))
    windows = sorted({t.long_window for t in burnrate.DEFAULT_TIERS})
    exprs = [(f"{_rec(names.error_ratio(w), service, slo)} / {budget}", f"{format_duration(w)}") for w in windows]
    steps = [(None, "green")] + sorted(
        {(float(t.burn_rate(period)), "orange" if t.severity == "warning" else "red") for t in burnrate.DEFAULT_TIERS}
    )
    return panels.timeseries(
        f"{slo.name}: burn rate", exprs, "x",
        description="Error ratio over each alert window divided by the error budget; lines mark the tiers' burn rates.",
        thresholds=steps, min_value=0,
    )


def _alerts_table(service: Service, slo: SLO | None = None) -> Any:
    labels = {names.SERVICE: service.service, **({names.SLO: slo.name} if slo else {})}
    selector = promql.Selector.of("ALERTS", alertstate="firing", **labels).render()
    return panels.table(f"{slo.name if slo else service.service}: firing alerts", selector)


def _traffic(service: Service) -> Row:
    rate_exprs, error_exprs, breakdown = [], [], []
    by = service.dashboard.breakdown
    for slo in service.slos:
        total, errors = _counters(slo)
        if total:
            rate_exprs.append((_raw(total, expression_window=promql.WINDOW_PLACEHOLDER in total), slo.name))
        error_exprs.append((_rec(names.error_ratio(names.BASE_WINDOW), service, slo), slo.name))
        if by and total and errors and promql.WINDOW_PLACEHOLDER not in total + errors:
            breakdown.append(
                panels.timeseries(
                    f"{slo.name}: error ratio by {by}",
                    [(f"{_raw(errors, by)} / {_raw(total, by)}", f"{{{{{by}}}}}")],
                    "percentunit", min_value=0,
                )
            )
    row = [
        panels.timeseries("Request rate", rate_exprs, "reqps", description="Events per second, by SLI.", min_value=0),
        panels.timeseries("Error ratio (5m)", error_exprs, "percentunit", description="Bad over all events, by SLO.", min_value=0),
        *breakdown,
    ]
    return Row("Traffic and errors", row, width=12 if len(row) <= 2 else 8)


def _counters(slo: SLO) -> tuple[str | None, str | None]:
    """(total, errors) selectors of a ratio SLI, for raw-series panels; errors may be `good`'s complement."""
    ratio = slo.sli.ratio
    if ratio is not None:
        return ratio.total, ratio.errors
    latency = slo.sli.latency
    assert latency is not None
    base = promql.parse_selector(latency.histogram)
    return base.with_name(base.name + "_count").render(), None


def _latency(service: Service) -> Row | None:
    found = []
    by = service.dashboard.breakdown
    for slo in service.slos:
        if slo.sli.latency is None:
            continue
        latency = slo.sli.latency
        base = promql.parse_selector(latency.histogram)
        buckets = base.with_name(base.name + "_bucket").with_matcher(ENV).render()
        quantiles = [
            (f"histogram_quantile({q}, sum by (le) (rate({buckets}[{RATE}])))", f"p{int(q * 100)}") for q in PERCENTILES
        ]
        found.append(panels.timeseries(
            f"{slo.name}: latency percentiles", quantiles, "s",
            description=f"From {base.name}; the SLO counts requests at or under {latency.threshold:g} s (red line).",
            thresholds=[(None, "green"), (latency.threshold, "red")], min_value=0,
        ))
        found.append(panels.heatmap(f"{slo.name}: latency distribution", f"sum by (le) (increase({buckets}[{RATE}]))"))
        if by:
            found.append(panels.timeseries(
                f"{slo.name}: p99 by {by}",
                [(f"histogram_quantile(0.99, sum by (le, {by}) (rate({buckets}[{RATE}])))", f"{{{{{by}}}}}")], "s", min_value=0,
            ))
    return Row("Latency", found) if found else None


def _saturation(service: Service) -> Row | None:
    res = service.dashboard.resources
    found = []
    if res.cpu:
        cpu = promql.parse_selector(res.cpu).with_matcher(ENV).render()
        found.append(panels.timeseries("CPU", [(f"sum by (instance) (rate({cpu}[{RATE}]))", "{{instance}}")], "short",
                                       description="CPU cores in use, per instance.", min_value=0))
    if res.memory:
        memory = promql.parse_selector(res.memory).with_matcher(ENV).render()
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
            "percentunit", description=f"SLOs of {dep.service}, which {service.service} calls.", min_value=0,
        )
        for dep in service.depends_on
    ]
    return Row("Dependencies", found, width=12)


def _operations(ops: OpsSpec | None) -> list[Row]:
    """Queues, resource use and calls to external APIs, from alerts/<service>.yaml."""
    if ops is None:
        return []
    rows = []
    queues = []
    for q in ops.queues:
        depth = promql.parse_selector(q.depth).with_matcher(ENV).render()
        queues.append(panels.timeseries(f"{q.name}: depth", [(depth, "{{queue}}")], "short", min_value=0,
                                        thresholds=[(None, "green"), (float(q.max_depth), "red")]))
        flows = [(_raw(sel), label) for sel, label in ((q.enqueued, "enqueued"), (q.processed, "processed")) if sel]
        if flows:
            queues.append(panels.timeseries(f"{q.name}: enqueued and processed", flows, "ops", min_value=0))
    if queues:
        rows.append(Row("Queues", queues, width=12))
    used = [
        panels.timeseries(
            f"{s.name}: used", [(f"sum by ({', '.join(s.by)}) ({s.used}) / sum by ({', '.join(s.by)}) ({s.capacity})",
                                  "{{" + s.by[0] + "}}")],
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


def service_dashboard(service: Service, grafana_url: str = "", ops: OpsSpec | None = None) -> str:
    rows = [Row("SLOs", [p for slo in service.slos for p in _slo_status(service, slo)], width=6, height=6)]
    rows.append(_traffic(service))
    rows += [r for r in (_latency(service), _saturation(service), _dependencies(service)) if r is not None]
    rows += _operations(ops)
    rows.append(Row("Alerts", [_alerts_table(service)], width=24, height=6))
    links = [
        panels.link("Runbook", service.runbook),
        panels.link(names.slo_overview_title(service.team), overview_url(service.team, grafana_url)),
        *[panels.link(f"{d.service} dashboard", service_url(d.service, grafana_url)) for d in service.depends_on],
    ]
    board = panels.dashboard(
        names.service_dashboard_title(service.service), service_uid(service.service), rows,
        tags=[*TAGS, service.team, service.service], links=links,
        description=service.description or f"Traffic, errors, latency and saturation of {service.service}.",
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
        rows.append(Row(service.service, found, widths=[4, 4, 10, 6] * len(service.slos), height=7, collapsed=collapsed))
    links = [panels.link(f"{s.service} dashboard", service_url(s.service, grafana_url)) for s in services]
    board = panels.dashboard(
        names.slo_overview_title(team), names.slo_overview_uid(team), rows, tags=[*TAGS, "slo", team], links=links,
        description=f"Every SLO of team {team}: its SLI against the objective, error budget left, burn rate per alert window, firing alerts.",
    )
    return panels.render(board)


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
