"""SLO arithmetic against the SRE Workbook's published figures."""
from __future__ import annotations

from fractions import Fraction

import pytest

from obsgen.core import slo_math as burnrate
from obsgen.core.slo_math import DAY, DEFAULT_TIERS, HOUR

MINUTE = 60


@pytest.mark.parametrize(
    ("period_days", "expected"),
    [
        (30, [14.4, 6, 3, 1]),  # Workbook table 5-8 and the 1d/2h example
        (28, [13.44, 5.6, 2.8, 0.9333]),
        (7, [3.36, 1.4, 0.7, 0.2333]),
    ],
)
def test_burn_rates_follow_from_budget_share_and_period(period_days: int, expected: list[float]) -> None:
    rates = [float(t.burn_rate(period_days * DAY)) for t in DEFAULT_TIERS]
    assert rates == pytest.approx(expected, abs=1e-4)


def test_tiers_are_the_workbook_windows() -> None:
    assert [(t.severity, t.long_window, t.short_window) for t in DEFAULT_TIERS] == [
        ("critical", HOUR, 5 * MINUTE),
        ("critical", 6 * HOUR, 30 * MINUTE),
        ("warning", DAY, 2 * HOUR),
        ("warning", 3 * DAY, 6 * HOUR),
    ]
    assert all(t.short_window * 12 == t.long_window for t in DEFAULT_TIERS)


def test_error_budget_is_exact() -> None:
    assert burnrate.error_budget(99.9) == Fraction(1, 1000)
    assert burnrate.threshold(DEFAULT_TIERS[0], 99.9, 30 * DAY) == Fraction(144, 10000)


def test_budget_of_999_over_30_days_is_43_minutes() -> None:
    assert burnrate.budget_seconds(99.9, 30 * DAY) == pytest.approx(43.2 * MINUTE)


def test_time_to_fire_matches_workbook_formula() -> None:
    # (1 - objective) / error ratio * long window * burn rate: 0.001 / 1 * 1h * 14.4 = 51.84 s
    assert burnrate.time_to_fire(DEFAULT_TIERS[0], 99.9, 30 * DAY, 1.0) == pytest.approx(51.84)
    # at twice the threshold the long window fills halfway
    assert burnrate.time_to_fire(DEFAULT_TIERS[1], 99.9, 30 * DAY, 0.012) == pytest.approx(3 * HOUR)
    # at or under the threshold it never fires
    assert burnrate.time_to_fire(DEFAULT_TIERS[3], 99.9, 30 * DAY, 0.001) is None


def test_budget_spent_when_fired_is_the_tier_share() -> None:
    for period in (7 * DAY, 28 * DAY, 30 * DAY):
        assert [burnrate.budget_spent_when_fired(t, period) for t in DEFAULT_TIERS] == [t.budget_share for t in DEFAULT_TIERS]


def test_a_tier_that_needs_more_than_total_outage_cannot_fire() -> None:
    page = DEFAULT_TIERS[0]
    assert not burnrate.can_fire(page, 90, 30 * DAY)  # 14.4 x 10% >= 1
    assert burnrate.can_fire(page, 93.1, 30 * DAY)  # 14.4 x 6.9% < 1
    assert burnrate.can_fire(page, 99.9, 30 * DAY)


def test_exhaustion_time() -> None:
    assert burnrate.exhaustion_seconds(Fraction(144, 10), 30 * DAY) == pytest.approx(50 * HOUR)


def test_windows_include_period() -> None:
    assert burnrate.windows(DEFAULT_TIERS, 28 * DAY) == [300, 1800, 3600, 7200, 6 * HOUR, DAY, 3 * DAY, 28 * DAY]
