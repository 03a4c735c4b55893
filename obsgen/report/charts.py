"""Line charts as SVG text, written directly: pure (figures in, SVG out), deterministic, and fast.

The same figures give the same bytes: coordinates rounded to a tenth of a pixel, no ids but the
ones derived from the title, no dates, no fonts embedded (text stays text). A polyline is cut to
the points that change its drawn shape, so a thousand-sample series costs what its corners cost.
Every chart carries a <title> and <desc> for screen readers; pages show the numbers in a table too.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

COLOURS = {"critical": "#c0392b", "warning": "#b9770e", "line": "#1f5f99", "other": "#7d3c98", "muted": "#5d6d7e"}
# A second colour per severity, so two tiers of one severity stay apart where their lines meet.
ALTERNATE = {"critical": "#6e2c00", "warning": "#7d6608"}
DASHES = ("", "7 4", "2 3", "9 3 2 3")  # solid, dashed, dotted, dash-dot: told apart without colour

WIDTH, HEIGHT = 672, 308
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 52  # plot margins in pixels; the legend goes under HEIGHT
LEGEND_ROW = 15
FONT = 'font-family="DejaVu Sans, Verdana, sans-serif"'


@dataclass(frozen=True)
class Line:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    colour: str = COLOURS["line"]
    dash: str = ""  # an SVG dash array: "" is solid
    step: bool = False  # drawn as steps (a value that holds until the next point)
    tag: str = ""  # written beside the line's first point, for lines a legend alone cannot tell apart


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
    percent_x: bool = False
    xticks: Sequence[tuple[float, str]] = field(default_factory=tuple)
    note: str = ""  # one line under the plot, e.g. where two lines coincide
    bands: Sequence[tuple[float, float, str, str]] = ()  # (x from, x to, label, colour): spans shaded behind the lines


class _Axis:
    """Data to pixels along one axis, linear or log10, over [low, high] padded to tick values."""

    def __init__(self, values: Sequence[float], log: bool, start: float, end: float) -> None:
        finite = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        self.log = log
        if log:
            low, high = 10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high))
            if low == high:
                high = low * 10
        else:
            if low == high:
                low, high = low - 1, high + 1
            step = _nice_step((high - low) / 5)
            low, high = math.floor(low / step) * step, math.ceil(high / step) * step
        self.low, self.high, self.start, self.end = low, high, start, end

    def _unit(self, value: float) -> float:
        if self.log:
            value = max(value, self.low / 10)
            return (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        return (value - self.low) / (self.high - self.low)

    def __call__(self, value: float) -> float:
        return self.start + (self.end - self.start) * self._unit(value)

    def ticks(self) -> list[float]:
        if self.log:
            decades = range(round(math.log10(self.low)), round(math.log10(self.high)) + 1)
            found = [10.0**d for d in decades]
            if len(found) <= 3:  # a short log axis reads better with 2 and 5 between the decades
                found = sorted(m * f for f in found for m in (1, 2, 5) if m * f <= self.high)
            return found
        step = _nice_step((self.high - self.low) / 5)
        return [self.low + i * step for i in range(round((self.high - self.low) / step) + 1)]


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, the smallest at least `raw`."""
    if raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(float(m * power) for m in (1, 2, 5, 10) if m * power >= raw - 1e-12)


def _label(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.4g}%"
    if value == round(value) and abs(value) < 1e9:
        return f"{value:,.0f}"
    if abs(value) < 1e-3:
        return f"{value:.0e}".replace("e-0", "e-")
    return f"{value:.4g}"


def _simplify(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points that change the drawn line by more than a tenth of a pixel."""
    if len(points) < 3:
        return points
    kept = [points[0]]
    for i in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = kept[-1], points[i], points[i + 1]
        # Distance of the middle point from the chord between its neighbours.
        chord = math.hypot(x2 - x0, y2 - y0)
        off = abs((x2 - x0) * (y0 - y1) - (x0 - x1) * (y2 - y0)) / chord if chord else math.hypot(x1 - x0, y1 - y0)
        if off > 0.1:
            kept.append(points[i])
    kept.append(points[-1])
    return kept


def _path(points: list[tuple[float, float]]) -> str:
    return "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in points)


def _e(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def draw(chart: Chart) -> str:
    """The chart's drawing, an <svg> element without its text alternative (see `labelled`)."""
    entries = [(line.label, line.colour, line.dash, "1.8") for line in chart.lines]
    entries += [(label, colour, "1 3", "1.2") for _, label, colour in chart.hlines]
    entries += list(dict.fromkeys((label, colour, "", "8") for _, _, label, colour in chart.bands))
    if len(entries) < 2:
        entries = []  # one line needs no legend: the title names it
    below = LEGEND_ROW * ((len(entries) + 1) // 2) + (LEGEND_ROW if chart.note else 0)
    height = HEIGHT + below
    bottom = HEIGHT - BOTTOM
    right = WIDTH - RIGHT
    x = _Axis([v for line in chart.lines for v in line.xs] + [v for v, _ in chart.xticks], chart.xlog, LEFT, right)
    y = _Axis([v for line in chart.lines for v in line.ys] + [v for v, _, _ in chart.hlines], chart.ylog, bottom, TOP)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" {FONT} font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{_e(chart.title)}</text>',
    ]
    # Grid and tick labels.
    xticks = list(chart.xticks) or [(v, _label(v, chart.percent_x)) for v in x.ticks()]
    grid = []
    for value, text in xticks:
        px = x(value)
        grid.append(f"M{px:.1f} {TOP} V{bottom}")
        out.append(f'<text x="{px:.1f}" y="{bottom + 17}" text-anchor="middle" fill="#333">{_e(text)}</text>')
    for value in y.ticks():
        py = y(value)
        grid.append(f"M{LEFT} {py:.1f} H{right}")
        out.append(f'<text x="{LEFT - 5}" y="{py + 4:.1f}" text-anchor="end" fill="#333">{_e(_label(value, chart.percent_y))}</text>')
    out.insert(2, f'<path d="{" ".join(grid)}" stroke="#d5d8dc" stroke-width="1" fill="none"/>')
    out.append(f'<path d="M{LEFT} {TOP} V{bottom} H{right}" stroke="#566573" stroke-width="1" fill="none"/>')
    out.append(f'<text x="{(LEFT + right) / 2:.1f}" y="{bottom + 35}" text-anchor="middle">{_e(chart.xlabel)}</text>')
    out.append(f'<text transform="translate(14 {(TOP + bottom) / 2:.1f}) rotate(-90)" text-anchor="middle">{_e(chart.ylabel)}</text>')
    # Bands, thresholds, then the lines over them.
    for start, end, _, colour in chart.bands:
        left, span = x(start), max(1.0, x(end) - x(start))
        out.append(f'<rect x="{left:.1f}" y="{TOP}" width="{span:.1f}" height="{bottom - TOP}" fill="{colour}" fill-opacity="0.25"/>')
    for value, _, colour in chart.hlines:
        out.append(f'<path d="M{LEFT} {y(value):.1f} H{right}" stroke="{colour}" stroke-width="1.2" stroke-dasharray="1 3" fill="none"/>')
    for line in chart.lines:
        points = [(x(a), y(b)) for a, b in zip(line.xs, line.ys, strict=True) if math.isfinite(a) and math.isfinite(b)]
        if line.step:
            points = [p for i, (a, b) in enumerate(points) for p in ([(a, points[i - 1][1]), (a, b)] if i else [(a, b)])]
        if not points:
            continue
        dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
        out.append(f'<path d="{_path(_simplify(points))}" stroke="{line.colour}" stroke-width="1.8"{dash} fill="none"/>')
        if line.tag:
            px, py = points[0]
            out.append(f'<text x="{px + 5:.1f}" y="{py - 5:.1f}" fill="{line.colour}" font-size="10">{_e(line.tag)}</text>')
    # The legend under the plot, in two columns: it never covers a line.
    column = (right - LEFT) // 2
    for i, (label, colour, dash, width) in enumerate(entries):
        lx, ly = LEFT + column * (i % 2), HEIGHT + LEGEND_ROW * (i // 2)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<path d="M{lx} {ly - 4} h24" stroke="{colour}" stroke-width="{width}"{dash_attr} fill="none"/>')
        out.append(f'<text x="{lx + 30}" y="{ly}" font-size="10">{_e(label)}</text>')
    if chart.note:
        out.append(f'<text x="{LEFT}" y="{height - 10}" font-size="10" fill="#333">{_e(chart.note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def labelled(drawing: str, title: str, description: str) -> str:
    """A drawing with role="img" and aria-labelledby pointing at a <title> and <desc> inside it."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "chart"
    head = f'<svg role="img" aria-labelledby="{slug}-t {slug}-d" '
    inner = f'<title id="{slug}-t">{_e(title)}</title><desc id="{slug}-d">{_e(description)}</desc>'
    first, rest = drawing.split("\n", 1)
    return first.replace("<svg ", head, 1) + "\n" + inner + "\n" + rest


def svg(chart: Chart) -> str:
    """The chart as a standalone SVG document (no XML prolog: it is also inlined into HTML)."""
    return labelled(draw(chart), chart.title, chart.description)
