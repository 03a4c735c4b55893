from __future__ import annotations

import pytest

from obsgen.model.slo import SLO
from obsgen.prometheus import series
from tests.conftest import slo_of


def _slo(sli: dict) -> SLO:
    return slo_of({"name": "x", "objective": 99, "sli": sli})


def test_shared_counter_is_split_by_the_error_matcher() -> None:
    slo = _slo({"ratio": {"errors": 'req_total{job="a", code=~"5.."}', "total": 'req_total{job="a"}'}})
    bad, good = series.counters(slo)
    assert (bad.series, bad.bad, bad.good) == ('req_total{code="500", job="a"}', 1, 0)
    assert (good.series, good.bad, good.good) == ('req_total{code="200", job="a"}', 0, 1)


def test_regex_alternatives_are_used_as_values() -> None:
    slo = _slo({"ratio": {"errors": 'jobs_total{outcome="failed"}', "total": 'jobs_total{outcome=~"succeeded|failed"}'}})
    assert [c.series for c in series.counters(slo)] == ['jobs_total{outcome="failed"}', 'jobs_total{outcome="succeeded"}']


def test_good_selector_on_separate_metrics() -> None:
    slo = _slo({"ratio": {"good": 'ok_total{job="a"}', "total": 'all_total{job="a"}'}})
    good, total = series.counters(slo)
    assert (good.series, good.bad, good.good) == ('ok_total{job="a"}', 0, 1)
    assert (total.series, total.bad, total.good) == ('all_total{job="a"}', 1, 1)


def test_latency_uses_the_threshold_bucket() -> None:
    slo = _slo({"latency": {"histogram": 'h_seconds{job="a"}', "buckets": [0.5, 1], "threshold": 1}})
    bucket, count = series.counters(slo)
    assert bucket.series == 'h_seconds_bucket{job="a", le="1"}' and (bucket.bad, bucket.good) == (0, 1)
    assert count.series == 'h_seconds_count{job="a"}' and (count.bad, count.good) == (1, 1)


def test_negative_matchers() -> None:
    slo = _slo({"ratio": {"errors": 'r_total{code!~"2..|3.."}', "total": 'r_total{path!="/health"}'}})
    bad, good = series.counters(slo)
    assert bad.selected_by(series.selectors(slo)[0]) and bad.selected_by(series.selectors(slo)[1])
    assert not good.selected_by(series.selectors(slo)[0]) and good.selected_by(series.selectors(slo)[1])


@pytest.mark.parametrize(
    "sli",
    [
        {"ratio": {"errors": "sum(increase(e_total[$window])) / 60", "total": "t_total"}},  # more than one counter's rate
        {"ratio": {"errors": 'r_total{code="500"}', "total": 'r_total{code="500"}'}},  # nothing is only total
    ],
)
def test_untestable(sli: dict) -> None:
    with pytest.raises(series.Untestable):
        series.counters(_slo(sli))


def test_independence() -> None:
    a = _slo({"ratio": {"errors": 'r_total{job="a", code="500"}', "total": 'r_total{job="a"}'}})
    b = _slo({"latency": {"histogram": 'h_seconds{job="a"}', "buckets": [1], "threshold": 1}})
    c = _slo({"ratio": {"errors": 'r_total{code="500"}', "total": "r_total"}})
    pairs = {k: (v, series.counters(v)) for k, v in {"a": a, "b": b, "c": c}.items()}
    assert series.independent([pairs["a"], pairs["b"]])
    assert not series.independent([pairs["a"], pairs["c"]])


def test_phase_of_is_exact() -> None:
    phase = series.Phase.of(5, 1000, 0.0144)
    assert phase.bad * 1024 == int(phase.bad * 1024) and phase.good + phase.bad == 1000
    assert abs(phase.error_ratio - 0.0144) < 1e-6
