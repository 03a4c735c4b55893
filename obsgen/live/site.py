"""The `obsgen report` site: static HTML from the attainment figures. Pure: reports in, files out.

An index by team and a page per service. Every chart (inline SVG, no script, no CDN: the page works
offline) has a text alternative and the numbers beside it in a table; a print style sheet makes the
monthly SLO review a printout.
"""
from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime

from obsgen.core.durations import format_duration
from obsgen.live.attainment import Attainment, SLOReport
from obsgen.live.gate import BLOCKED, GO, Verdict
from obsgen.report import charts

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; padding: 0 1rem; color: #1c2833; }
h1, h2, h3 { line-height: 1.2; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #d5d8dc; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d5d8dc; padding: .25rem .6rem; text-align: left; } td.n { text-align: right; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
.met { color: #1e8449; } .missed { color: #c0392b; font-weight: 600; } .none { color: #5d6d7e; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; } figcaption { font-size: .9rem; color: #424949; }
nav a { margin-right: 1rem; }
@media print { body { margin: 0; max-width: none; font-size: 11pt; } nav { display: none; }
  section.slo { break-inside: avoid-page; } a { color: inherit; text-decoration: none; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pct(value: float | None, digits: int = 3) -> str:
    return "no traffic" if value is None else f"{value:.{digits}%}"


def _status(a: Attainment, objective: float) -> str:
    if a.sli is None:
        return '<span class="none">no events in this range: nothing to measure</span>'
    if a.sli >= objective / 100:
        return '<span class="met">met</span>'
    return '<span class="missed">missed</span>'


def _gate(verdict: Verdict | None) -> str:
    """What `obsgen gate` decides at the report's end, with its reasons."""
    if verdict is None:
        return ""
    css = {GO: "met", BLOCKED: "missed"}.get(verdict.decision, "none")
    why = f": {'; '.join(verdict.reasons)}" if verdict.reasons else ""
    return f'<span class="{css}" data-field="gate">{_e(verdict.decision)}</span>{_e(why)}'


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _spans_table(caption: str, rows: list[Attainment], objective: float) -> str:
    if not rows:
        return ""
    lines = [f"<table><caption>{_e(caption)}</caption>",
             '<tr><th scope="col">span</th><th scope="col">SLI</th><th scope="col">events</th><th scope="col">errors</th>'
             '<th scope="col">budget left</th><th scope="col">objective</th></tr>']
    for a in rows:
        lines.append(f'<tr><th scope="row">{_e(a.span.label)}</th><td class="n">{_pct(a.sli)}</td><td class="n">{a.events:,.0f}</td>'
                     f'<td class="n">{a.errors:,.0f}</td><td class="n">{_pct(a.budget_left, 1)}</td><td>{_status(a, objective)}</td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _chart_with_table(chart: charts.Chart, caption: str, points: list[tuple[float, float]], value_name: str, pct: bool) -> str:
    sample = points[:: max(1, len(points) // 12)][-12:]  # the numbers behind the chart, a dozen of them
    rows = "".join(f'<tr><td>{_when(t)}</td><td class="n">{(f"{v:.1%}" if pct else f"{v:.2f}x")}</td></tr>' for t, v in sample)
    return (f"<figure>{charts.svg(chart)}<figcaption>{_e(caption)}</figcaption></figure>\n"
            f'<details><summary>The numbers</summary><table><tr><th scope="col">time</th><th scope="col">{_e(value_name)}</th></tr>{rows}</table></details>')


def slo_section(report: SLOReport, gate: Verdict | None = None) -> str:
    slo, service, p = report.slo, report.service, report.period
    hours = [(t - report.burn_down[0][0]) / 3600 for t, _ in report.burn_down] if report.burn_down else []
    parts = [f'<section class="slo" id="{_e(slo.name)}">', f"<h2>{_e(service.name)} / {_e(slo.name)}</h2>"]
    if slo.description:
        parts.append(f"<p>{_e(slo.description)}</p>")
    parts.append(
        '<table class="summary"><caption>Over its period</caption>'
        f'<tr><th scope="row">objective</th><td>{slo.objective:g}% over {_e(slo.period_label)}</td></tr>'
        f'<tr><th scope="row">SLI, {_e(p.span.label)}</th><td class="n" data-field="sli">{_pct(p.sli)}</td></tr>'
        f'<tr><th scope="row">events</th><td class="n" data-field="events">{p.events:,.0f}</td></tr>'
        f'<tr><th scope="row">errors</th><td class="n" data-field="errors">{p.errors:,.0f}</td></tr>'
        f'<tr><th scope="row">error budget left</th><td class="n" data-field="budget-left">{_pct(p.budget_left, 1)}</td></tr>'
        f'<tr><th scope="row">status</th><td>{_status(p, slo.objective)}</td></tr>'
        + (f'<tr><th scope="row">deploy gate (<code>obsgen gate</code> at the end)</th><td>{_gate(gate)}</td></tr>' if gate else "")
        + "</table>"
    )
    if report.burn_down:
        last = report.burn_down[-1][1]
        parts.append(_chart_with_table(charts.Chart(
            f"{service.name} / {slo.name}: error budget left", f"Share of the {slo.period_label} error budget left, "
            f"from {_when(p.span.start)} to {_when(p.span.end)}; {last:.1%} at the end.",
            f"hours since {_when(report.burn_down[0][0])}", "budget left", [charts.Line("budget left", hours, [v for _, v in report.burn_down], step=True)],
            hlines=[(0.0, "budget spent", charts.COLOURS["critical"])], percent_y=True,
        ), "Burn-down of the error budget over the SLO's period.", report.burn_down, "budget left", True))
    else:
        parts.append(f"<p>No events between {_when(p.span.start)} and {_when(p.span.end)}: there is no budget to draw.</p>")
    if report.burn:
        start = report.burn[0][0]
        tiers = [(float(t.burn_rate(slo.period)), f"{t.severity} {format_duration(t.long_window)}/{format_duration(t.short_window)}",
                  charts.COLOURS[t.severity]) for t in slo.tiers]
        window = format_duration(min(t.long_window for t in slo.tiers))
        peak = max(v for _, v in report.burn)
        parts.append(_chart_with_table(charts.Chart(
            f"{service.name} / {slo.name}: burn rate ({window})", f"Burn rate over the last {window} at each time, with the "
            f"alert tiers' thresholds as dotted lines; the highest was {peak:.2f}x.",
            "hours into the report", "burn rate", [charts.Line(f"burn rate ({window})", [(t - start) / 3600 for t, _ in report.burn],
                                                               [v for _, v in report.burn])],
            hlines=tiers,
        ), "Burn rate against the tiers' thresholds.", report.burn, "burn rate", False))
    parts.append(_spans_table("Calendar months (UTC)", report.months, slo.objective))
    parts.append(_spans_table("Weeks (ISO, UTC)", report.weeks, slo.objective))
    if report.worst_groups:
        rows = "".join(
            f'<tr><th scope="row">{_e(", ".join(f"{k}={v}" for k, v in labels.items()))}</th><td class="n">{_pct(a.sli)}</td>'
            f'<td class="n">{a.events:,.0f}</td><td class="n">{_pct(a.budget_left, 1)}</td></tr>'
            for labels, a in report.worst_groups
        )
        parts.append(f"<table><caption>Worst {_e(', '.join(slo.group_by))} over the period</caption>"
                     f'<tr><th scope="col">group</th><th scope="col">SLI</th><th scope="col">events</th><th scope="col">budget left</th></tr>{rows}</table>')
    if report.fired:
        rows = "".join(
            f"<tr><td>{_e(f.labels.get('alertname', ''))}</td><td>{_e(f.labels.get('severity', ''))}</td>"
            f"<td>{_e(' '.join(f'{k}={v}' for k, v in sorted(f.labels.items()) if k not in ('alertname', 'severity', 'service', 'slo', 'team')))}</td>"
            f"<td>{_when(f.start)}</td><td>{_when(f.end)}</td></tr>"
            for f in report.fired
        )
        parts.append('<table><caption>Alerts that fired</caption><tr><th scope="col">alert</th><th scope="col">severity</th>'
                     f'<th scope="col">labels</th><th scope="col">from</th><th scope="col">until</th></tr>{rows}</table>')
    else:
        parts.append("<p>No alert of this SLO fired in the range.</p>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def site(reports: list[SLOReport], start: float, end: float, prometheus: str,
         gates: Mapping[tuple[str, str], Verdict] | None = None) -> dict[str, str]:
    """File name -> HTML: index.html by team, and <service>.html; `gates`: each SLO's deploy-gate
    verdict at the report's end (a column of the index, a row of its summary)."""
    gates = gates or {}
    by_service: dict[str, list[SLOReport]] = {}
    for r in reports:
        by_service.setdefault(r.service.name, []).append(r)
    teams: dict[str, list[str]] = {}
    for r in reports:
        names = teams.setdefault(r.service.team, [])
        if r.service.name not in names:
            names.append(r.service.name)
    span = f"{_when(start)} to {_when(end)}"
    rows = []
    for team, services in sorted(teams.items()):
        rows.append(f"<h2>Team {_e(team)}</h2><table><tr><th scope=\"col\">SLO</th><th scope=\"col\">objective</th>"
                    "<th scope=\"col\">SLI over its period</th><th scope=\"col\">budget left</th><th scope=\"col\">status</th>"
                    + ("<th scope=\"col\">deploy gate</th>" if gates else "") + "</tr>")
        for name in services:
            for r in by_service[name]:
                p = r.period
                rows.append(f'<tr><th scope="row"><a href="{_e(name)}.html#{_e(r.slo.name)}">{_e(name)} / {_e(r.slo.name)}</a></th>'
                            f"<td>{r.slo.objective:g}%</td><td class=\"n\">{_pct(p.sli)}</td><td class=\"n\">{_pct(p.budget_left, 1)}</td>"
                            f"<td>{_status(p, r.slo.objective)}</td>"
                            + (f"<td>{_gate(gates.get((name, r.slo.name)))}</td>" if gates else "") + "</tr>")
        rows.append("</table>")
    files = {"index.html": _page("SLO report", f"<h1>SLO report</h1><p>From {_e(prometheus)}, {span}. Each SLO over its own "
                                 "period ending at the report's end; months and weeks within the range.</p>\n" + "\n".join(rows))}
    for name, found in by_service.items():
        body = (f'<nav><a href="index.html">All SLOs</a></nav><h1>{_e(name)}</h1><p>Team {_e(found[0].service.team)}; {span}.</p>\n'
                + "\n".join(slo_section(r, gates.get((name, r.slo.name))) for r in found))
        files[f"{name}.html"] = _page(f"{name}: SLO report", body)
    return files
