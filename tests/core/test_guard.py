"""The low-traffic guard's statistics, against exact Poisson sums."""
from __future__ import annotations

import math

import pytest

from obsgen.core.guard import Guard, false_pages, first_firing_count, healthy_ratio, poisson_tail


def _exact_tail(mean: float, k: int) -> float:
    """P(X >= k), X ~ Poisson(mean), by the plain sum (fine for the small means used here)."""
    below = sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k))
    return 1 - below


@pytest.mark.parametrize("mean", [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 100])
def test_chance_passes_the_guard_at_most_at_its_level(mean: float) -> None:
    """At every expected count, a healthy window's errors pass the guard with probability at most
    1 - confidence: the square-root form is no looser than the exact one-sided test."""
    guard = Guard()
    count = guard.first_count(mean, 1.0)  # events x healthy = mean
    assert _exact_tail(mean, count) <= 0.005
    assert guard.trusts(count, mean, 1.0) and not guard.trusts(count - 1, mean, 1.0)


def test_one_or_two_failures_never_pass() -> None:
    guard = Guard()
    assert not guard.trusts(2, 10, 0.001) and not guard.trusts(2.5, 10, 0.001)
    assert guard.trusts(3, 10, 0.001)
    assert Guard(min_errors=1).trusts(2, 10, 0.001)  # the square-root test alone asks for 2 here


def test_a_lower_confidence_asks_for_fewer_errors() -> None:
    assert Guard(confidence=90).first_count(6000, 0.0001) < Guard().first_count(6000, 0.0001) < Guard(confidence=99.99).first_count(6000, 0.0001)


def test_no_delay_past_the_clear_events() -> None:
    """Above clear_events the threshold's own error count passes the guard, so the tier fires on
    the Workbook's minute; just below, it does not."""
    guard, limit, budget = Guard(), 0.00144, 0.0001  # the 1h tier of a 99.99% SLO
    clear = guard.clear_events(limit, budget)
    assert guard.trusts(limit * clear * 1.001, clear * 1.001, budget)
    assert not guard.trusts(limit * clear * 0.98, clear * 0.98, budget)
    assert clear < 60_000  # 1,000 events a minute: on time (the old Wilson guard asked for 460,155)


def test_healthy_ratio_is_below_every_tier() -> None:
    """A tier slower than 1x (the 3d tier of a 7d SLO burns 0.23x) tests against half its rate."""
    assert healthy_ratio(0.0144, 0.001) == 0.001
    assert healthy_ratio(0.0007, 0.003) == pytest.approx(0.00035)


def test_first_firing_count() -> None:
    assert first_firing_count(None, 0.0144, 0.001, 60_000, 0) == 865  # the threshold alone
    assert first_firing_count(Guard(), 0.0144, 0.001, 10, 0) == 3  # 1 failure in 10 is over, the guard asks 3
    assert first_firing_count(Guard(), 0.0144, 0.001, 10, 50) is None  # min_events: never
    assert first_firing_count(Guard(), 0.0144, 0.001, 0, 0) is None


def test_poisson_tail_far_out_and_near() -> None:
    for mean, k in ((0.5, 3), (6, 14), (60, 80)):
        assert poisson_tail(mean, k) == pytest.approx(_exact_tail(mean, k), rel=1e-9)
    assert poisson_tail(60, 865) < 1e-200 and poisson_tail(60, 865) >= 0
    assert poisson_tail(2160, 4321) == 0  # past a double's range from the first term: no 100,000-term walk
    assert poisson_tail(1e6, 10) == pytest.approx(1.0)
    assert poisson_tail(0, 1) == 0 and poisson_tail(3, 0) == 1


def test_false_pages_per_month() -> None:
    """At 10 events an hour, 99.9% and errors at the budget: the guard makes chance pages vanishingly
    rare; without it, one failure pages, about 7 times a month for the 1h tier."""
    rate = 10 / 3600
    guarded = false_pages(Guard(), 0.0144, 0.001, rate, 3600, 0, 0.001)
    bare = false_pages(None, 0.0144, 0.001, rate, 3600, 0, 0.001)
    assert guarded < 1e-3 < 1 < bare < 10
    assert false_pages(Guard(), 0.0144, 0.001, rate, 3600, 50, 0.001) == 0  # 10 events never reach min_events
    assert false_pages(Guard(), 0.0144, 0.001, 1000 / 60, 3600, 0, 0.001) == 0  # 865 errors where 60 are expected
