"""`obsgen backtest --format html`: one page beside the attainment report, a timeline per SLO.

Each SLO gets its 5m burn rate with every delivered page and ticket shaded over it, then the share of
a period's budget spent since the range began; a table lists the firings, so the numbers are there
without the picture.
"""
from __future__ import annotations

import numpy as np

from obsgen.live.backtest import STEP, Backtest, SLOBacktest
from obsgen.live.backtest_text import episode_row
from obsgen.live.site import _e, _page, _when
from obsgen.report import charts

BUCKET = 30  # minutes per point of the burn line: its peak in that half hour
PAGE_COLOUR, TICKET_COLOUR = "#c0392b", "#e67e22"


def _ticks(result: Backtest) -> list[tuple[float, str]]:
    days = max(1, result.seconds // 86400)
    every = 1 if days <= 10 else 7 if days <= 70 else 30
    return [(float(d), _when(result.start + d * 86400)[:10]) for d in range(0, days + 1, every)]


def _day(at: float, result: Backtest) -> float:
    return (at - result.start) / 86400


def _burn_chart(slo: SLOBacktest, result: Backtest) -> charts.Chart:
    peaks = [float(np.max(slo.burn[i : i + BUCKET])) for i in range(0, len(slo.burn), BUCKET)]
    xs = [i * BUCKET * STEP / 86400 for i in range(len(peaks))]
    bands = [(_day(e.start, result), _day(e.end, result), "page" if e.severity == "critical" else "ticket",
              PAGE_COLOUR if e.severity == "critical" else TICKET_COLOUR) for e in slo.episodes if e.severity in ("critical", "warning")]
    return charts.Chart(
        title=f"{slo.name}: burn rate and the alerts it would have sent",
        description=f"The 5-minute burn rate of {slo.name} (its peak per half hour), with {len(slo.pages())} page(s) and "
        f"{len(slo.tickets())} ticket(s) shaded where they would have fired.",
        xlabel="days since the range began", ylabel="burn rate (5m)", lines=[charts.Line("burn rate, 5m", xs, peaks, step=True)],
        hlines=[(1.0, "1x: the budget lasts the period", "#566573")], xticks=_ticks(result), bands=bands,
    )


def _budget_chart(slo: SLOBacktest, result: Backtest) -> charts.Chart:
    points = slo.budget()
    return charts.Chart(
        title=f"{slo.name}: error budget spent",
        description=f"The share of a period's error budget {slo.name} spent from the range's start, hour by hour.",
        xlabel="days since the range began", ylabel="budget spent", percent_y=True,
        lines=[charts.Line("budget spent", [_day(t, result) for t, _ in points], [v for _, v in points])],
        hlines=[(1.0, "the whole budget", PAGE_COLOUR)], xticks=_ticks(result),
    )


def page(result: Backtest, prometheus: str) -> str:
    sections = []
    for slo in result.slos:
        rows = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in episode_row(e)) + "</tr>" for e in slo.episodes)
        header = "".join(f'<th scope="col">{_e(h)}</th>' for h in
                         ("start (UTC)", "lasted", "severity", "tier", "group", "peak burn", "budget then", "after", ""))
        table = f"<table><caption>What fired</caption><tr>{header}</tr>{rows}</table>" if rows else "<p>Nothing would have fired.</p>"
        sections.append(
            f'<section id="{_e(slo.name.replace("/", "-"))}"><h2>{_e(slo.name)} ({slo.objective:g}%)</h2>\n'
            f"<p>{len(slo.pages())} page(s), {len(slo.tickets())} ticket(s), {sum(e.flapping for e in slo.episodes)} shorter "
            f"than 10 minutes; {slo.spent_at(result.end):.1%} of a period's budget spent in the range.</p>\n"
            f"<figure>{charts.svg(_burn_chart(slo, result))}</figure>\n<figure>{charts.svg(_budget_chart(slo, result))}</figure>\n"
            f"{table}</section>"
        )
    notes = "".join(f"<p>Note: {_e(n)}</p>" for n in result.notes)
    body = (f"<h1>Backtest</h1>\n<p>The generated alerts replayed minute by minute from {_e(_when(result.start))} to "
            f"{_e(_when(result.end))} on {_e(prometheus)}.</p>\n{notes}\n" + "\n".join(sections))
    return _page("obsgen backtest", body)
