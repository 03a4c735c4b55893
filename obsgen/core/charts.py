"""Line charts as SVG text, drawn by matplotlib: pure (figures in, SVG out) and deterministic.

The same figures give the same bytes: a fixed hash salt for element ids, no date in the metadata,
text kept as text (not glyph paths, so no font file shapes the output), the Agg-free SVG backend.
Every chart carries a <title> and <desc> for screen readers; pages show the numbers in a table too.
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("svg")

from matplotlib import pyplot

_STYLE: dict[str, Any] = {
    "svg.hashsalt": "obsgen",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
COLOURS = {"critical": "#c0392b", "warning": "#d68910", "line": "#1f5f99", "other": "#7d3c98", "muted": "#5d6d7e"}


@dataclass(frozen=True)
class Line:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    colour: str = COLOURS["line"]
    dashed: bool = False
    step: bool = False  # drawn as steps (a value that holds until the next point)


@dataclass(frozen=True)
class Chart:
    title: str
    description: str  # what the chart shows, in words: the text alternative
    xlabel: str
    ylabel: str
    lines: Sequence[Line]
    hlines: Sequence[tuple[float, str, str]] = ()  # (y, label, colour): thresholds
    xlog: bool = False
    ylog: bool = False
    percent_y: bool = False
    xticks: Sequence[tuple[float, str]] = field(default_factory=tuple)
    size: tuple[float, float] = (7.0, 3.2)  # inches


def svg(chart: Chart) -> str:
    """The chart as a standalone SVG document (no XML prolog: it is also inlined into HTML)."""
    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]  # its stubs list every key as a Literal
        figure, axes = pyplot.subplots(figsize=chart.size)
        try:
            for line in chart.lines:
                style: dict[str, Any] = {"label": line.label, "color": line.colour, "linestyle": "--" if line.dashed else "-", "linewidth": 1.4}
                if line.step:
                    axes.step(list(line.xs), list(line.ys), where="post", **style)
                else:
                    axes.plot(list(line.xs), list(line.ys), **style)
            for y, label, colour in chart.hlines:
                axes.axhline(y, color=colour, linestyle=":", linewidth=1.1, label=label)
            # Log axes without minor ticks: each tick is an artist to draw, and they make the
            # drawing several times slower without adding a readable number.
            if chart.xlog:
                axes.set_xscale("log")
                axes.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            if chart.ylog:
                axes.set_yscale("log")
                axes.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            if chart.percent_y:
                axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
            if chart.xticks:
                axes.set_xticks([x for x, _ in chart.xticks], [label for _, label in chart.xticks])
            axes.set_xlabel(chart.xlabel)
            axes.set_ylabel(chart.ylabel)
            axes.set_title(chart.title, loc="left", fontsize=10)
            if len(chart.lines) + len(chart.hlines) > 1:
                axes.legend(fontsize=7, frameon=False, loc="best")
            figure.subplots_adjust(left=0.11, right=0.98, top=0.9, bottom=0.17)  # fixed: tight_layout draws the figure twice
            out = io.StringIO()
            figure.savefig(out, format="svg", metadata={"Date": None, "Creator": "obsgen"})
        finally:
            pyplot.close(figure)
    text = re.sub(r"^<\?xml[^>]*\?>\s*<!DOCTYPE[^>]*>\s*", "", out.getvalue(), flags=re.S)
    return _accessible(text, chart.title, chart.description)


def _accessible(text: str, title: str, description: str) -> str:
    """role="img" and aria-labelledby pointing at a <title> and <desc> inside the SVG."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "chart"
    head = (f'<svg role="img" aria-labelledby="{slug}-t {slug}-d" ')
    text = text.replace("<svg ", head, 1)
    inner = f"<title id=\"{slug}-t\">{_escape(title)}</title><desc id=\"{slug}-d\">{_escape(description)}</desc>"
    return re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + inner, text, count=1)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
