"""Panel helpers on top of grafanalib, for obsgen's dashboards and for dashboards/*.dashboard.py.

grafanalib draws the panels; these helpers add what it leaves out or gets old: datasource
variables on every target, a recent schemaVersion, a grid layout without overlaps, and stable
panel ids. A custom dashboard calls `dashboard(...)` with rows of panels built here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import attr
import grafanalib.core as g

SCHEMA_VERSION = 39  # Grafana 11; grafanalib's default (12) predates the panels it can draw
PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
LOKI = {"type": "loki", "uid": "${loki}"}
WIDTH = 24  # Grafana's grid
MODERN_PANELS = frozenset({"timeseries", "stat", "gauge", "bargauge", "table", "logs", "heatmap", "row", "text"})


@attr.s
class _ExemplarTarget(g.Target):  # type: ignore[misc]  # grafanalib is untyped
    """A PromQL target that also asks for exemplars (grafanalib's Target has no such field)."""

    def to_json_data(self) -> dict[str, Any]:
        return {**super().to_json_data(), "exemplar": True}


def prometheus(expr: str, legend: str = "", ref: str = "A", instant: bool = False, exemplar: bool = False) -> g.Target:
    """A PromQL target on the dashboard's Prometheus datasource variable; with `exemplar`, the
    exemplars of the histogram it reads too (points linked to their traces)."""
    kind: Any = _ExemplarTarget if exemplar else g.Target  # mypy does not see attrs' generated __init__ of a subclass
    return kind(expr=expr, legendFormat=legend, refId=ref, instant=instant, datasource=PROMETHEUS)


def loki(expr: str, ref: str = "A") -> g.Target:
    """A LogQL target on the dashboard's Loki datasource variable."""
    return g.Target(expr=expr, refId=ref, datasource=LOKI)


def _targets(exprs: list[str | tuple[str, str]] | list[g.Target]) -> list[g.Target]:
    out = []
    for i, item in enumerate(exprs):
        if isinstance(item, g.Target):
            out.append(item)
            continue
        expr, legend = item if isinstance(item, tuple) else (item, "")
        out.append(prometheus(expr, legend, ref=chr(ord("A") + i)))
    return out


Steps = list[tuple[float | None, str]]  # [(None, "green"), (0.999, "red")]: base colour first


def _thresholds(steps: Steps | None, style: str | None = None, unit: str | None = None) -> dict[str, Any]:
    """fieldConfig thresholds as Grafana stores them (grafanalib writes the base step as the string 'null')."""
    defaults: dict[str, Any] = {
        "thresholds": {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in (steps or [(None, "green")])]}
    }
    if unit:
        defaults["unit"] = unit  # grafanalib's bar gauge keeps its unit in an old, ignored place
    if style:
        defaults["custom"] = {"thresholdsStyle": {"mode": style}}
    return {"fieldConfig": {"defaults": defaults}}


def timeseries(
    title: str,
    exprs: list[Any],
    unit: str,
    description: str = "",
    thresholds: Steps | None = None,
    min_value: float | None = None,
) -> g.TimeSeries:
    """Lines over time. `thresholds` [(None, "green"), (14.4, "red")] are drawn as lines."""
    return g.TimeSeries(
        title=title,
        description=description,
        dataSource=PROMETHEUS,
        targets=_targets(exprs),
        unit=unit,
        maxDataPoints=None,
        valueMin=min_value,
        legendDisplayMode="table" if len(exprs) > 1 else "list",
        legendCalcs=["lastNotNull", "max"] if len(exprs) > 1 else [],
        extraJson=_thresholds(thresholds, "line" if thresholds else "off"),
    )


def stat(title: str, expr: str, unit: str, description: str = "", thresholds: Steps | None = None) -> g.Stat:
    return g.Stat(
        title=title,
        description=description,
        dataSource=PROMETHEUS,
        targets=[prometheus(expr)],
        format=unit,
        reduceCalc="lastNotNull",
        maxDataPoints=None,
        extraJson=_thresholds(thresholds),
    )


def gauge(
    title: str, expr: str, unit: str, low: float, high: float, description: str = "", thresholds: Steps | None = None
) -> g.GaugePanel:
    return g.GaugePanel(
        title=title,
        description=description,
        dataSource=PROMETHEUS,
        targets=[prometheus(expr)],
        format=unit,
        min=low,
        max=high,
        calc="lastNotNull",
        maxDataPoints=None,
        extraJson=_thresholds(thresholds),
    )


def bargauge(title: str, expr: str, unit: str, description: str = "", thresholds: Steps | None = None) -> g.BarGauge:
    return g.BarGauge(
        title=title, description=description, dataSource=PROMETHEUS, targets=[prometheus(expr)], format=unit,
        calc="lastNotNull", maxDataPoints=None, extraJson=_thresholds(thresholds, unit=unit),
    )


def table(title: str, expr: str, description: str = "") -> g.Table:
    """An instant query as a table, e.g. the alerts firing now."""
    return g.Table(
        title=title, description=description, dataSource=PROMETHEUS,
        targets=[g.Target(expr=expr, refId="A", instant=True, format="table", datasource=PROMETHEUS)],
        unit="short", maxDataPoints=None,
    )


def heatmap(title: str, expr: str, description: str = "") -> g.Heatmap:
    """Histogram buckets over time; `expr` returns one series per `le`."""
    return g.Heatmap(
        title=title, description=description, dataSource=PROMETHEUS,
        targets=[g.Target(expr=expr, refId="A", format="heatmap", legendFormat="{{le}}", datasource=PROMETHEUS)],
        dataFormat="tsbuckets", maxDataPoints=None,
    )


def logs(title: str, expr: str, description: str = "") -> g.Logs:
    return g.Logs(title=title, description=description, dataSource=LOKI, targets=[loki(expr)], wrapLogMessages=True, maxDataPoints=None)


@dataclass
class Row:
    """A titled band of panels; each panel takes `width` of 24 columns and `height` units."""

    title: str
    panels: list[Any]
    width: int = 8
    height: int = 8
    widths: list[int] = field(default_factory=list)  # per panel, overrides `width`
    collapsed: bool = False  # a collapsed row holds its panels and opens on click


def _layout(rows: list[Row]) -> list[Any]:
    """Rows stacked top to bottom, panels left to right, wrapping at 24 columns: no overlaps."""
    out: list[Any] = []
    y = 0
    ids = iter(range(1, 1 << 30))  # panel ids in layout order (grafanalib's auto_panel_ids copies every panel)
    for row in rows:
        header = g.RowPanel(title=row.title, gridPos=g.GridPos(h=1, w=WIDTH, x=0, y=y), collapsed=row.collapsed, id=next(ids))
        out.append(header)
        y += 1
        x, top = 0, y
        for i, panel in enumerate(row.panels):
            w = row.widths[i] if i < len(row.widths) else row.width
            if x + w > WIDTH:
                x, y = 0, y + row.height
            panel.gridPos = g.GridPos(h=row.height, w=w, x=x, y=y)
            panel.id = next(ids)
            x += w
        y += row.height if row.panels else 0
        if row.collapsed:
            header.panels = list(row.panels)  # placed as if open; the grid below moves up
            y = top
        else:
            out.extend(row.panels)
    return out


def variable(name: str, query: str) -> g.Template:
    """A multi-value query variable, All by default, e.g. the routes of a per-route SLO."""
    return g.Template(
        name=name, label=name, query=query, dataSource=PROMETHEUS, type="query",
        includeAll=True, multi=True, allValue=".*", default="All", refresh=2, sort=1,
    )


def templating(env_query: str = "label_values(up, env)", extra: list[g.Template] | None = None) -> g.Templating:
    """Datasource variables for Prometheus and Loki, the environment, and any `extra` ones."""
    return g.Templating(list=[
        g.Template(name="datasource", label="Prometheus", query="prometheus", type="datasource", default="Prometheus"),
        g.Template(name="loki", label="Loki", query="loki", type="datasource", default="Loki"),
        g.Template(
            name="env", label="Environment", query=env_query, dataSource=PROMETHEUS, type="query",
            includeAll=True, allValue=".*", default="All", refresh=2, sort=1,
        ),
        *(extra or []),
    ])


def link(title: str, url: str, tooltip: str = "") -> g.DashboardLink:
    return g.DashboardLink(title=title, uri=url, type="link", icon="external link", tooltip=tooltip, keepTime=True, includeVars=False)


def dashboard(
    title: str, uid: str, rows: list[Row], tags: list[str] | None = None, links: list[g.DashboardLink] | None = None,
    description: str = "", refresh: str = "1m", time_from: str = "now-6h", variables: list[g.Template] | None = None,
) -> g.Dashboard:
    return g.Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=sorted(tags or []),
        links=links or [],
        panels=_layout(rows),
        templating=templating(extra=variables),
        refresh=refresh,
        time=g.Time(time_from, "now"),
        timezone="browser",
        schemaVersion=SCHEMA_VERSION,
        editable=True,
    )


def render(board: g.Dashboard) -> str:
    """Dashboard JSON, deterministic: sorted keys, no ids or versions that change between runs.

    One top-level key, and one panel or variable, per line: a diff shows which panel changed, and
    json's C encoder does the work (an indented dump of a thousand dashboards took seconds).
    """
    if any(getattr(p, "id", None) is None for p in board.panels):
        board = board.auto_panel_ids()  # a dashboard built without obsgen's layout
    data = dict(board.to_json_data())
    data["schemaVersion"] = SCHEMA_VERSION
    data.pop("id", None)  # Grafana assigns ids; a uid is what identifies the dashboard
    data.pop("version", None)
    lines = []
    for key in sorted(data):
        value = data[key]
        if key == "panels" and value:
            items = ",\n".join(f"    {_compact(item)}" for item in value)
            lines.append(f'  "{key}": [\n{items}\n  ]')
        else:
            lines.append(f'  "{key}": {_compact(value)}')
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _json_data(value: Any) -> Any:
    """A grafanalib object as JSON data, as its DashboardEncoder writes it; json's C encoder walks the rest."""
    return value.to_json_data()


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "), default=_json_data)
