from __future__ import annotations

import pytest

from obsgen.core import promql
from obsgen.core.durations import format_duration, human_duration, parse_duration


def test_label_values_are_escaped_and_still_parse() -> None:
    sel = promql.Selector.of("up", job='a "quoted" \\ value\nwith newline')
    text = sel.render()
    assert text == 'up{job="a \\"quoted\\" \\\\ value\\nwith newline"}'
    promql.check(text)


def test_numbers_are_short_and_exact() -> None:
    assert promql.number(14.4 * (1 - 0.999)) == "0.0144"
    assert promql.number(1 - 0.999) == "0.001"
    assert promql.number(1.0) == "1"
    with pytest.raises(ValueError):
        promql.number(float("nan"))


def test_le_matcher_accepts_prometheus_2_and_3_spellings() -> None:
    assert promql.le_matcher(0.5).render() == 'le="0.5"'
    assert promql.le_matcher(1).render() == 'le=~"1|1\\\\.0"'
    promql.check(promql.Selector.of("x_bucket").with_matcher(promql.le_matcher(10)).render())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate(x[5m])", "plain selector"),
        ('x{a="b"} offset 5m', "plain selector"),
        ('{job="a"}', "metric name"),
        ("x{a=", "invalid PromQL"),
    ],
)
def test_parse_selector_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        promql.parse_selector(text)


def test_parse_selector_round_trips() -> None:
    sel = promql.parse_selector('http_requests_total{job="api", code=~"5..", path!="/health"}')
    assert sel.render() == 'http_requests_total{job="api", code=~"5..", path!="/health"}'


def test_check_window_expression() -> None:
    promql.check_window_expression("sum by (job) (rate(x[$window]))")
    with pytest.raises(ValueError, match=r"\$window"):
        promql.check_window_expression("sum(rate(x[5m]))")
    with pytest.raises(ValueError, match="expected type vector"):
        promql.check_window_expression("scalar(sum(rate(x[$window])))")


@pytest.mark.parametrize(("text", "seconds", "canonical"), [("5m", 300, "5m"), ("1h", 3600, "1h"), ("4w", 28 * 86400, "28d"), ("1d12h", 129600, "1d12h")])
def test_durations(text: str, seconds: int, canonical: str) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == canonical


@pytest.mark.parametrize("text", ["", "30x", "monthly", "5", "1.5h", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_human_duration() -> None:
    assert human_duration(43.2 * 60) == "43m 12s"
    assert human_duration(50 * 3600) == "2d 2h"
    assert human_duration(30) == "30s"


@pytest.mark.parametrize("query", [
    "sum(rate(x[$__rate_interval]))",
    "sum_over_time((count(x))[$__rate_interval:])",  # a subquery: the colon stays
    "max_over_time(y[$__range:1m])",
    "max_over_time(y[${window}:])",
    'sum by (route) (rate(x{env="$env"}[5m]))',
])
def test_dashboard_queries_with_grafana_variables_parse(query: str) -> None:
    promql.check_templated(query)


def test_a_broken_dashboard_query_still_fails() -> None:
    with pytest.raises(ValueError, match="invalid PromQL"):
        promql.check_templated("sum(rate(x[$__rate_interval])")


def test_a_subquery_step_may_be_a_variable_too() -> None:
    promql.check_templated("max_over_time(y[$__range:$__interval])")
