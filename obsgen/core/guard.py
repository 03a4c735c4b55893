"""The low-traffic guard: when a window's errors are evidence of a burn and not chance. Pure.

A tier reads the error ratio over the events its windows hold. At a thousand requests a minute that
ratio is precise; at ten an hour, one failure reads as 10% errors. So besides the SRE Workbook's
threshold, a tier needs its long window's errors to pass two tests before it fires:

- at least `min_errors` of them (3 by default), so one or two failures never page; and
- more than a service that exactly meets its objective (burning its budget at 1x) would show by
  chance, at `confidence` (99.5%, one-sided): errors > (sqrt(events x healthy) + z/2)^2, the
  square-root (variance-stabilised) form of a one-sided Poisson test. Against the exact Poisson
  test its false-positive rate stays at or under 0.5% for every expected count (tested). `healthy`
  is the budget, or half the tier's threshold for a tier slower than 2x (a 3d tier of a 7d SLO
  burns 0.23x): a tier's own rate is never what it tests against.

Testing against the budget rather than the tier's threshold is what keeps pages on time: where the
threshold's error count is well above noise (99.99% at 1,000 requests a minute: 86 errors in an
hour at the 1h tier's threshold, 14 needed) the test passes long before the threshold is crossed,
so the tier fires on the Workbook's minute; only where the threshold means a handful of errors does
the guard wait for more of them. (The test it replaces, a Wilson lower bound above the tier's
threshold, made every tier of a 99.99% SLO burn about 1.3x its rate before paging.)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from statistics import NormalDist

MONTH = 30 * 86400  # seconds; false pages are counted per 30 days


@dataclass(frozen=True)
class Guard:
    confidence: float = 99.5  # percent, one-sided: how sure the errors are more than chance at 1x
    min_errors: int = 3  # errors the long window must hold: one or two failures never page

    @property
    def half_z(self) -> float:
        """z / 2 of the confidence, rounded as the rules print it (the simulation uses the same)."""
        return round(NormalDist().inv_cdf(self.confidence / 100) / 2, 4)

    def needed(self, events: float, healthy: float) -> float:
        """Errors above which a window of `events` events counts as burning (strictly above)."""
        return (math.sqrt(max(events, 0.0) * healthy) + self.half_z) ** 2

    def trusts(self, errors: float, events: float, healthy: float) -> bool:
        """The rule's condition, in Python: what the test generator and the report predict with."""
        return errors >= self.min_errors and errors > self.needed(events, healthy)

    def first_count(self, events: float, healthy: float) -> int:
        """The fewest whole errors the guard lets through in a window of `events` events."""
        return max(self.min_errors, math.floor(self.needed(events, healthy)) + 1)

    def clear_events(self, limit: float, healthy: float) -> float:
        """Events a window needs before the guard never delays its tier: the threshold's error
        count (limit x events) is then above what the guard asks."""
        # limit n > (sqrt(n healthy) + h)^2  <=>  sqrt(n) (sqrt(limit) - sqrt(healthy)) > h
        root = self.half_z / (math.sqrt(limit) - math.sqrt(healthy))
        return max(root * root, self.min_errors / limit)


DEFAULT = Guard()  # what an SLO gets unless its spec says otherwise


def healthy_ratio(limit: float, budget: float) -> float:
    """The error ratio the guard tests against: the budget (1x), or half the tier's threshold
    when that is lower."""
    return min(budget, limit / 2)


def first_firing_count(guard: Guard | None, limit: float, budget: float, events: float, min_events: int) -> int | None:
    """The fewest errors with which a window of `events` events fires its tier: over the threshold
    and through the guard; None when the window holds too few events to fire at all."""
    if events <= 0 or events < min_events:
        return None
    over = math.floor(events * limit) + 1
    return over if guard is None else max(over, guard.first_count(events, healthy_ratio(limit, budget)))


def poisson_tail(mean: float, k: int) -> float:
    """P(X >= k) for X ~ Poisson(mean), accurate far into the tail (false pages are rare events)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0

    def term(i: int) -> float:
        return math.exp(i * math.log(mean) - mean - math.lgamma(i + 1))

    if k > mean:  # the terms fall from k on: add them until they no longer count
        total, i = 0.0, k
        while i < k + 100_000:
            t = term(i)
            total += t
            if t <= total * 1e-17:  # also where the first term is already below a double's range
                break
            i += 1
        return min(total, 1.0)
    return max(0.0, 1.0 - sum(term(i) for i in range(k)))


@functools.lru_cache(maxsize=1024)  # the same few tiers and traffics across a fleet
def false_pages(guard: Guard | None, limit: float, budget: float, rate: float, window: int, min_events: int, ratio: float) -> float:
    """Expected pages per 30 days from chance alone, for a service with `rate` events a second and
    a steady error ratio `ratio`: windows per month x P(a window's errors reach the first firing
    count). An upper bound in practice: the short window must agree too."""
    events = rate * window
    count = first_firing_count(guard, limit, budget, events, min_events)
    if count is None:
        return 0.0
    return MONTH / window * poisson_tail(events * ratio, count)

