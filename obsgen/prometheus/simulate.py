"""What the generated SLO rules compute at each minute, for synthetic traffic, under Prometheus 2's
closed and Prometheus 3's left-open ranges. Pure.

The test generator uses it to predict the exact minute each alert fires and clears; its tests then
prove the prediction with both promtools. It follows slo_rules.py rule by rule: 5m rates from the
counters with Prometheus's extrapolation, longer windows tiled from earlier recordings at offsets,
missing slices counted as no events, and each tier's condition with the low-traffic guard.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from obsgen.core import slo_math
from obsgen.core.guard import DEFAULT as DEFAULT_GUARD
from obsgen.core.guard import Guard, healthy_ratio
from obsgen.prometheus.slo_rules import BASE_WINDOW, tiling

MINUTE = slo_math.MINUTE
Series = list[float | None]  # a recording's value at each minute; None where it does not exist


@dataclass(frozen=True)
class Traffic:
    """Events counted in each minute: good[i] and bad[i] arrive between samples i and i + 1."""

    good: tuple[float, ...]
    bad: tuple[float, ...]

    @property
    def minutes(self) -> int:
        return len(self.good)


@dataclass(frozen=True)
class Objective:
    """What the rules of one SLO depend on: the same for every SLO with the same numbers."""

    objective: float
    period: int
    tiers: tuple[slo_math.Tier, ...]
    min_events: int
    windows: tuple[int, ...]
    guard: Guard | None = DEFAULT_GUARD
    sampled: bool = False  # a probe SLI: events are a gauge's samples, counted in each window, not a counter's rate
    scale: float = 1.0  # events the SLI counts per synthetic event (a composite: its weights, every part fed alike)


def _rates(counts: list[float], minutes: int, left_open: bool) -> Series:
    """rate(counter[5m]) at each minute 0 .. minutes, samples taken every minute from minute 0."""
    span = BASE_WINDOW // MINUTE
    prefix = [0.0]
    for c in counts:
        prefix.append(prefix[-1] + c)
    out: Series = []
    for t in range(minutes + 1):
        start = t - span
        first = max(0, start + 1 if left_open else start)
        if t - first < 1:
            out.append(None)
            continue
        sampled = (t - first) * MINUTE
        average = sampled / (t - first)
        to_start = (first - start) * MINUTE
        # Prometheus extrapolates to the range's start when the first sample is close to it, else by half an interval.
        extend = to_start if to_start < average * 1.1 else average / 2
        out.append((prefix[t] - prefix[first]) * (sampled + extend) / sampled / BASE_WINDOW)
    return out


def _sampled(counts: list[float], minutes: int, left_open: bool) -> Series:
    """sum(count_over_time) or sum(sum_over_time) over 5m / 300 at each minute 0 .. minutes, for a
    gauge sampled every minute from minute 0 whose sample j holds minute j's `counts` (the last
    minute's once more at the end)."""
    span = BASE_WINDOW // MINUTE
    at = [counts[min(j, len(counts) - 1)] for j in range(minutes + 1)]
    out: Series = []
    for t in range(minutes + 1):
        first = max(0, t - span + 1 if left_open else t - span)
        out.append(sum(at[first : t + 1]) / BASE_WINDOW)
    return out


def _tile(slices: Series, size: int, count: int) -> Series:
    step = size // MINUTE
    values = [v or 0.0 for v in slices]  # a slice not recorded yet counts as no events
    # The older slices, added in the order the rule adds them (k = 1, 2, ...); before minute 0 nothing.
    older = [0.0] * len(values)
    for k in range(1, count):
        shift = k * step
        if shift >= len(values):
            break  # slices from before minute 0 add nothing
        older = [a + b for a, b in zip(older, [0.0] * shift + values[: len(values) - shift], strict=True)]
    return [None if newest is None else (newest + o) / count for newest, o in zip(slices, older, strict=True)]


Rates = dict[int, tuple[Series, Series]]  # per window: the errors' and the events' rate at each minute
TIE = 1e-9  # relative: a ratio this close to a threshold is decided by floating point, not by the rules


@functools.lru_cache(maxsize=128)  # SLOs with the same numbers share their predictions
def _windows(slo: Objective, traffic: Traffic, left_open: bool) -> tuple[Rates, dict[int, Series]]:
    """Every window's rates and error ratio at each minute 0 .. traffic.minutes."""
    minutes = traffic.minutes
    read = _sampled if slo.sampled else _rates
    total = read([(g + b) * slo.scale for g, b in zip(traffic.good, traffic.bad)], minutes, left_open)
    bad = read([b * slo.scale for b in traffic.bad], minutes, left_open)
    rates: Rates = {BASE_WINDOW: ([None if t is None else (b or 0.0) for t, b in zip(total, bad)], total)}
    for window in slo.windows:
        if window != BASE_WINDOW:
            size, count = tiling(window, list(slo.windows))
            rates[window] = (_tile(rates[size][0], size, count), _tile(rates[size][1], size, count))
    ratios = {
        window: [None if e is None or not n else e / n for e, n in zip(errors, events, strict=True)]
        for window, (errors, events) in rates.items()
    }
    return rates, ratios


@functools.lru_cache(maxsize=128)
def firing(slo: Objective, traffic: Traffic, left_open: bool) -> dict[slo_math.Tier, tuple[bool, ...]]:
    """Whether each tier's alert fires at each minute 0 .. traffic.minutes."""
    rates, ratios = _windows(slo, traffic, left_open)
    out = {}
    budget = float(slo_math.error_budget(slo.objective))
    for tier in slo.tiers:
        limit = float(slo_math.threshold(tier, slo.objective, slo.period))
        longs, shorts = ratios[tier.long_window], ratios[tier.short_window]
        errors_at, events_at = rates[tier.long_window]
        flags = []
        for t in range(traffic.minutes + 1):
            long_ratio, short_ratio = longs[t], shorts[t]
            fires = long_ratio is not None and short_ratio is not None and long_ratio > limit and short_ratio > limit
            if fires:
                events = (events_at[t] or 0.0) * tier.long_window
                errors = (errors_at[t] or 0.0) * tier.long_window
                trusted = slo.guard is None or slo.guard.trusts(errors, events, healthy_ratio(limit, budget))
                fires = trusted and events >= slo.min_events
            flags.append(fires)
        out[tier] = tuple(flags)
    return out


@functools.lru_cache(maxsize=1024)  # asked once per scenario of every SLO with these numbers
def ties(slo: Objective, traffic: Traffic) -> bool:
    """Whether a tier's long or short window reads its threshold (within TIE) at some minute under
    either semantics: there the prediction would rest on rounding, so a scenario must avoid it."""
    for left_open in (False, True):
        _, ratios = _windows(slo, traffic, left_open)
        for tier in slo.tiers:
            limit = float(slo_math.threshold(tier, slo.objective, slo.period))
            for window in (tier.long_window, tier.short_window):
                if any(r is not None and abs(r - limit) <= TIE * limit for r in ratios[window]):
                    return True
    return False
