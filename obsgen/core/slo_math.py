"""SLO arithmetic from the SRE Workbook ("Alerting on SLOs"). Pure functions, no I/O.

Tiers are data: each spends a share of the period's error budget over its long window, and the
burn rate follows from that share and the period, so 30d, 28d and 7d periods all work.
Exact fractions keep 14.4 from turning into 14.399999999999999.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Severity = Literal["critical", "warning"]
MINUTE = 60
HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class Tier:
    severity: Severity
    long_window: int  # seconds
    short_window: int  # seconds; the Workbook uses long / 12
    budget_share: Fraction  # share of the period's budget spent when the tier fires

    def __hash__(self) -> int:
        # Tiers key every cache of the SLO maths and the test generator; hashing a Fraction each
        # time cost a fifth of compiling a fleet's tests.
        # Integers only, so the cached value holds in any process a tier is pickled to.
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            share = self.budget_share
            found = hash((self.severity == "critical", self.long_window, self.short_window, share.numerator, share.denominator))
            object.__setattr__(self, "_hash", found)
        return found

    def burn_rate(self, period: int) -> Fraction:
        return _burn_rate(self, period)


@functools.lru_cache(maxsize=4096)  # Fraction arithmetic, asked for by every rule and report line
def _burn_rate(tier: Tier, period: int) -> Fraction:
    return tier.budget_share * period / tier.long_window


# Google SRE Workbook, table 5-8 and the chapter's 1d/2h example: two paging, two ticket tiers.
DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("critical", 1 * HOUR, 5 * 60, Fraction(2, 100)),
    Tier("critical", 6 * HOUR, 30 * 60, Fraction(5, 100)),
    Tier("warning", 1 * DAY, 2 * HOUR, Fraction(10, 100)),
    Tier("warning", 3 * DAY, 6 * HOUR, Fraction(10, 100)),
)


@functools.lru_cache(maxsize=1024)  # the same few objectives, asked for by every rule
def objective_ratio(objective_percent: float) -> Fraction:
    """99.9 -> 999/1000, exactly as written in the spec."""
    return Fraction(str(objective_percent)) / 100


def error_budget(objective_percent: float) -> Fraction:
    """Allowed share of bad events: 99.9 -> 1/1000."""
    return 1 - objective_ratio(objective_percent)


@functools.lru_cache(maxsize=4096)
def threshold(tier: Tier, objective_percent: float, period: int) -> Fraction:
    """Error ratio above which the tier's windows count as burning too fast."""
    return tier.burn_rate(period) * error_budget(objective_percent)


def can_fire(tier: Tier, objective_percent: float, period: int) -> bool:
    """A tier whose threshold is 100% errors or more can never fire."""
    return threshold(tier, objective_percent, period) < 1


# A default tier that would need more than every event to fail (a low objective: 90% over 28d makes
# the Workbook's 1h tier 13.44x, and a total outage burns 10x) fires instead when half its window fails.
SCALED_THRESHOLD = Fraction(1, 2)


@functools.lru_cache(maxsize=256)
def reachable(tiers: tuple[Tier, ...], objective_percent: float, period: int) -> tuple[Tier, ...]:
    """`tiers` with each that can never fire scaled to fire at SCALED_THRESHOLD errors over its long
    window (its budget share, so its burn rate, lowered); the others as they are."""
    budget = error_budget(objective_percent)
    return tuple(
        t if can_fire(t, objective_percent, period)
        else Tier(t.severity, t.long_window, t.short_window, SCALED_THRESHOLD / budget * t.long_window / period)
        for t in tiers
    )


@functools.lru_cache(maxsize=4096)
def time_to_fire(tier: Tier, objective_percent: float, period: int, error_ratio: float) -> float | None:
    """Seconds after a steady error ratio starts until the long window crosses the threshold.

    (1 - objective) / error ratio x long window x burn rate; None when that ratio never fires.
    """
    limit = threshold(tier, objective_percent, period)
    ratio = Fraction(repr(error_ratio))  # 0.001 as written, not its binary neighbour
    if ratio <= limit:
        return None
    return float(limit / ratio * tier.long_window)


def budget_spent_when_fired(tier: Tier, period: int) -> Fraction:
    """Share of the period's budget gone when the tier fires: burn rate x long window / period."""
    return tier.burn_rate(period) * tier.long_window / period


def budget_seconds(objective_percent: float, period: int) -> float:
    """Time at 100% errors that the period's budget allows: 43m 12s for 99.9% over 30d."""
    return float(error_budget(objective_percent) * period)


def exhaustion_seconds(burn_rate: Fraction, period: int) -> float:
    """At this burn rate the whole budget is gone after period / burn rate."""
    return float(period / burn_rate)


def windows(tiers: tuple[Tier, ...], period: int) -> list[int]:
    """Every window the rules must record, in seconds, shortest first."""
    return sorted({w for t in tiers for w in (t.long_window, t.short_window)} | {period})
