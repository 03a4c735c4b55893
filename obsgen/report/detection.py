"""The SRE Workbook's detection chart: minutes from the start of a steady error ratio until each
tier fires, against that ratio. Every SLO with the same objective, period and tiers has the same
chart, so a fleet draws, and writes, a handful."""
from __future__ import annotations

import functools
import hashlib
from fractions import Fraction

from obsgen.core import slo_math
from obsgen.core.durations import format_duration, human_duration
from obsgen.report import charts


def stem(objective: float, period: int, tiers: tuple[slo_math.Tier, ...]) -> str:
    """The chart's name: `99.9-30d`, with a digest of the tiers when they are not the Workbook's."""
    name = f"{objective:g}-{format_duration(period)}"
    if tiers != slo_math.DEFAULT_TIERS:
        name += "-" + hashlib.sha256(repr(tiers).encode()).hexdigest()[:8]
    return name


def chart(objective: float, period: int, tiers: tuple[slo_math.Tier, ...]) -> str:
    """The chart as an SVG document with its text alternative."""
    shown, said = drawing(objective, period, tiers)
    written = f"{objective:g}% over {format_duration(period)}"
    return charts.labelled(shown, f"{written}: detection time",
                           f"Minutes until each alert tier of an SLO of {written} fires, against a steady error ratio: {said}")


@functools.lru_cache(maxsize=256)  # a fleet has a handful of distinct objectives: each is drawn once
def drawing(objective: float, period: int, tiers: tuple[slo_math.Tier, ...]) -> tuple[str, str]:
    """The drawing for SLOs with these numbers, and what it shows in words."""
    lowest = min(float(slo_math.threshold(t, objective, period)) for t in tiers)
    ratios = [lowest * (1 / lowest) ** (i / 60) * 1.0001 for i in range(61)]
    ratios[-1] = 1.0
    lines: list[charts.Line] = []
    said: list[str] = []
    seen: dict[Fraction, list[str]] = {}
    for tier in tiers:
        points = [(r, t / 60) for r in ratios if (t := slo_math.time_to_fire(tier, objective, period, r)) is not None]
        windows = f"{format_duration(tier.long_window)}/{format_duration(tier.short_window)}"
        # Tiers of one severity alternate colour and dash, so two whose lines coincide stay visible.
        nth = sum(1 for t in tiers[: tiers.index(tier)] if t.severity == tier.severity)
        colour = charts.COLOURS[tier.severity] if nth % 2 == 0 else charts.ALTERNATE[tier.severity]
        dash = charts.DASHES[(nth + (2 if tier.severity == "warning" else 0)) % len(charts.DASHES)]
        label = f"{tier.severity} {windows}"
        lines.append(charts.Line(f"{label} ({float(tier.burn_rate(period)):.3g}x)", [p[0] for p in points],
                                 [p[1] for p in points], colour, dash, tag=windows))
        full = slo_math.time_to_fire(tier, objective, period, 1.0)
        said.append(f"{label} from {float(slo_math.threshold(tier, objective, period)):.4%} errors, "
                    f"in {human_duration(full) if full is not None else 'never'} at 100%")
        seen.setdefault(slo_math.budget_spent_when_fired(tier, period), []).append(windows)
    # Two tiers that fire at the same share of the budget fire at the same time above both thresholds.
    same = [f"{' and '.join(w)} ({float(share):.0%} of the budget)" for share, w in seen.items() if len(w) > 1]
    note = ("Lines that meet: " + "; ".join(same) + " fire at the same minute above both thresholds.") if same else ""
    drawing = charts.draw(charts.Chart(
        f"{objective:g}% over {format_duration(period)}: minutes until each tier fires", "", "error ratio (log)",
        "minutes to fire (log)", lines, xlog=True, ylog=True, percent_x=True, note=note,
    ))
    return drawing, "; ".join(said) + "." + (f" {note}" if note else "")
