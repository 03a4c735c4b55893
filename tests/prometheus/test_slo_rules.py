"""The rule builder's output, checked structurally and with the in-process PromQL parser."""
from __future__ import annotations

import json
import re
import urllib.parse
from fractions import Fraction
from typing import Any

import pytest
import yaml

from obsgen.core import names, promql
from obsgen.core import slo_math as burnrate
from obsgen.core.durations import format_duration
from obsgen.core.rules import rule_file
from obsgen.model.slo import Service
from obsgen.prometheus import slo_rules as rules
from obsgen.spec import resolve
from tests.conftest import FIXTURES, ROOT, artifacts_at, project_at

# Spec files are named after their service: parametrize by name without loading anything at import.
ROOTS = {root: sorted(p.stem for p in (root / "slo").glob("*.yaml")) for root in (ROOT, FIXTURES / "good", FIXTURES / "slo-kinds")}
NAMES = sorted(name for names in ROOTS.values() for name in names)


def _service(name: str) -> Service:
    root = next(r for r, names in ROOTS.items() if name in names)
    found = project_at(root).service(name)
    assert found is not None
    return found


def _groups(service: Service) -> list[dict[str, Any]]:
    """The service's SLO rule groups as written to its rule file."""
    return rule_file(rules.rule_groups(service))["groups"]


def _rules(service: Service) -> list[dict[str, Any]]:
    return [r for g in _groups(service) for r in g["rules"]]


def _alerts(service: Service, slo: str) -> list[dict[str, Any]]:
    return [r for r in _rules(service) if "alert" in r and r["labels"][names.SLO] == slo]


@pytest.mark.parametrize("name", NAMES)
def test_every_expression_parses(name: str) -> None:
    for rule in _rules(_service(name)):
        promql.check(rule["expr"])


@pytest.mark.parametrize("name", NAMES)
def test_alerts_run_every_minute_after_what_they_read_and_the_period_every_two(name: str) -> None:
    """Per SLO two groups: windows and alerts every minute, alerts after the recordings they read
    (this minute's windows); then the period's window and the budget every 2 minutes, reading only
    the first group's recordings and their own, and read by no alert."""
    service = _service(name)
    groups = _groups(service)
    assert [g["name"] for g in groups] == [n for slo in service.slos for n in (f"slo:{service.name}:{slo.name}", f"slo:{service.name}:{slo.name}:period")]
    assert [g["interval"] for g in groups] == [format_duration(i) for _ in service.slos for i in (rules.INTERVAL, rules.PERIOD_INTERVAL)]
    for every_minute, period in zip(groups[::2], groups[1::2], strict=True):
        kinds = ["alert" in r for r in every_minute["rules"]]
        assert kinds == sorted(kinds)  # every recording before every alert
        recorded: set[str] = set()
        for rule in every_minute["rules"]:
            read = set(re.findall(r"(slo:[a-z_]+:[a-z_0-9]+)\{", rule["expr"]))
            assert read <= recorded | {rule.get("record")}, rule.get("record") or rule["alert"]
            recorded.add(rule.get("record", ""))
        assert not any("alert" in r for r in period["rules"])
        for rule in period["rules"]:
            read = set(re.findall(r"(slo:[a-z_]+:[a-z_0-9]+)\{", rule["expr"]))
            assert read <= recorded | {rule["record"]}, rule["record"]
            recorded.add(rule["record"])
        period_reads = {m for r in every_minute["rules"] for m in re.findall(r"(slo:[a-z_]+:[a-z_0-9]+)\{", r["expr"])}
        assert not period_reads & {r["record"] for r in period["rules"]}  # nothing every minute waits on the period


@pytest.mark.parametrize("name", NAMES)
def test_every_window_is_recorded_with_service_and_slo(name: str) -> None:
    service = _service(name)
    recorded = {(r["record"], r["labels"][names.SLO]) for r in _rules(service) if "record" in r}
    for slo in service.slos:
        windows = rules.slo_windows(slo)
        assert {300, slo.period} | {w for t in slo.tier_set for w in (t.long_window, t.short_window)} <= set(windows)
        for window in windows:
            for metric in (names.error_ratio(window), names.errors_rate(window), names.total_rate(window)):
                assert (metric, slo.name) in recorded
    for rule in _rules(service):
        assert rule["labels"][names.SERVICE] == service.name


def test_ratio_recordings_carry_spec_labels_but_rates_do_not() -> None:
    # Rates are read over long ranges: a relabelled service must not split them into two series.
    for rule in _rules(_service("pup-api")):
        if rule.get("record", "").startswith("slo:sli_error:"):
            assert rule["labels"]["tier"] == "1"
        elif rule.get("record", "").startswith(("slo:sli_errors:", "slo:sli_total:")):
            assert set(rule["labels"]) == {names.SERVICE, names.SLO}


def test_only_the_base_window_reads_raw_series() -> None:
    raw = [r for r in _rules(_service("pup-api")) if "record" in r and "http_request" in r["expr"]]
    assert {r["record"] for r in raw} == {"slo:sli_errors:rate5m", "slo:sli_total:rate5m"}


def test_long_windows_tile_the_span_that_ends_now() -> None:
    """No avg_over_time and no aligned subquery: each window is consecutive shorter windows at offsets."""
    exprs = {(r["record"], r["labels"][names.SLO]): r["expr"] for r in _rules(_service("pup-api")) if "record" in r}
    sel = '{service="pup-api", slo="availability"}'
    one_hour = exprs[("slo:sli_errors:rate1h", "availability")]
    # Each slice read once: a missing older slice is a labelless zero, added on ().
    assert one_hour.count("slo:sli_errors:rate30m" + sel) == 2 and f"+ on () (slo:sli_errors:rate30m{sel} offset 30m or on () vector(0))" in one_hour
    assert one_hour.rstrip().endswith(") / 2")
    thirty = exprs[("slo:sli_total:rate30d", "availability")]
    assert thirty.count("slo:sli_total:rate3d" + sel) == 10 and thirty.count("+ on () (") == 9
    assert [f"offset {o}" in exprs[("slo:sli_total:rate1d", "availability")] for o in ("6h", "12h", "18h")] == [True] * 3
    assert "rate3d" + sel + " offset 27d" in exprs[("slo:sli_total:rate30d", "availability")]
    assert not any("avg_over_time" in e or ":5m]" in e or ":1h]" in e for e in exprs.values())
    assert rules.tiling(1800, [300, 1800]) == (300, 6)
    assert rules.tiling(28 * 86400, rules.slo_windows(_service("ai-provider").slos[0])) == (86400, 28)


def test_one_alert_per_tier_with_workbook_thresholds() -> None:
    alerts = _alerts(_service("pup-api"), "availability")
    burn = [a for a in alerts if a["alert"] == names.ALERT_BURN]
    assert [(a["labels"]["severity"], a["labels"]["long_window"], a["labels"]["short_window"]) for a in burn] == [
        ("critical", "1h", "5m"),
        ("critical", "6h", "30m"),
        ("warning", "1d", "2h"),
        ("warning", "3d", "6h"),
    ]
    thresholds = [re.findall(r"> ([0-9.e-]+)", a["expr"]) for a in burn]
    assert thresholds == [["0.0144"] * 2, ["0.006"] * 2, ["0.003"] * 2, ["0.001"] * 2]  # both windows
    for alert in alerts:
        assert alert["labels"]["team"] == "platform" and alert["labels"]["service"] == "pup-api"
        assert alert["annotations"]["runbook_url"] == "https://runbooks.pup.ai/services/pup-api"
        assert alert["annotations"]["summary"].endswith(".") and "{{" not in alert["annotations"]["summary"]
        assert "{{ $labels.service }}" in alert["annotations"]["description"]
        assert re.match(r"^[A-Z][A-Za-z]{1,39}$", alert["alert"])


def test_28_day_period_changes_burn_rates_not_windows() -> None:
    burn = [a for a in _alerts(_service("ai-provider"), "success") if a["alert"] == names.ALERT_BURN]
    # 99.5%: budget 0.005; 28d burn rates 13.44, 5.6, 2.8, 0.9333...
    assert [re.findall(r"> ([0-9.e-]+)", a["expr"])[0] for a in burn] == ["0.0672", "0.028", "0.014", "0.00466666666667"]
    assert "13.44x" in burn[0]["annotations"]["summary"]


def test_low_traffic_guard_and_min_events() -> None:
    """Every tier: at least 3 errors in its long window, more than 1x the budget gives by chance at
    99.5%, and min_events on top; `guard: off` leaves the threshold and min_events."""
    guarded = _alerts(_service("pup-api"), "availability")[0]["expr"]
    errors = '(slo:sli_errors:rate1h{service="pup-api", slo="availability"} * 3600)'
    events = '(slo:sli_total:rate1h{service="pup-api", slo="availability"} * 3600)'
    # One chained filter reads the errors once: more than the bound, and at least 3.
    assert f"{errors} > (sqrt({events} * 0.001) + 1.2879) ^ 2 >= 3\n" in guarded
    assert guarded.rstrip().endswith(f"and {events} >= 50\n)")
    unguarded = _alerts(_service("ledger"), "writes")[0]["expr"]
    assert ">= 50" not in unguarded and "sqrt(" in unguarded
    spec = yaml.safe_load((ROOT / "slo" / "pup-api.yaml").read_text())
    spec["slos"][0]["guard"] = False
    off = _alerts(resolve.service_from_dict(spec), "availability")[0]["expr"]
    assert "sqrt(" not in off and off.rstrip().endswith(f"{events} >= 50\n)")
    spec["slos"][0]["guard"] = {"confidence": 90, "min_errors": 5}
    tuned = _alerts(resolve.service_from_dict(spec), "availability")[0]["expr"]
    assert f"{errors} > (sqrt({events} * 0.001) + 0.6408) ^ 2 >= 5\n" in tuned


def test_disabled_severities_and_no_data() -> None:
    latency = _alerts(_service("checkout"), "latency")
    assert {a["labels"]["severity"] for a in latency if a["alert"] == names.ALERT_BURN} == {"critical"}
    assert all(a["labels"]["page"] == "yes" and a["annotations"]["dashboard_hint"] == "checkout overview" for a in latency)
    assert names.ALERT_NO_DATA in {a["alert"] for a in latency}
    assert names.ALERT_NO_DATA not in {a["alert"] for a in _alerts(_service("ledger"), "writes")}


def test_latency_sli_reads_the_threshold_bucket() -> None:
    exprs = rules.sli_expressions(_service("checkout").slos[1], "TOTAL")
    assert 'request_duration_seconds_count{job="checkout"}[5m]' in exprs.total
    assert 'request_duration_seconds_bucket{job="checkout", le=~"1|1\\\\.0"}[5m]' in exprs.errors
    assert exprs.errors.startswith("clamp_min(TOTAL - on () (")


def test_expression_slis_get_the_base_window() -> None:
    exprs = rules.sli_expressions(_service("ledger").slos[0], "TOTAL")
    assert exprs.total == 'sum(sum by (job) (rate(ledger_writes_total[5m])))'
    assert "$window" not in exprs.errors


def test_missing_error_counter_counts_as_zero_only_while_there_is_traffic() -> None:
    exprs = rules.sli_expressions(_service("pup-workers").slos[0], "TOTAL")
    assert exprs.errors.endswith(" or on () 0 * TOTAL")


def test_base_errors_read_the_total_recorded_just_before() -> None:
    base = [r for r in _rules(_service("pup-api")) if r.get("record", "").endswith(":rate5m") and r["labels"]["slo"] == "availability"]
    assert [r["record"] for r in base] == ["slo:sli_total:rate5m", "slo:sli_errors:rate5m"]
    assert base[1]["expr"].endswith('or on () 0 * slo:sli_total:rate5m{service="pup-api", slo="availability"}')


def test_rule_files_are_prometheus_shaped() -> None:
    artifacts = artifacts_at(ROOT)
    rule_files = {k: v for k, v in artifacts.items() if k.startswith("prometheus/rules/")}
    assert sorted(rule_files) == [f"prometheus/rules/{s}.yml" for s in ("ai-provider", "pup-api", "pup-journeys", "pup-workers")]
    for text in rule_files.values():
        doc = yaml.safe_load(text)
        assert set(doc) == {"groups"}
        for group in doc["groups"]:
            for rule in group["rules"]:
                assert set(rule) <= {"record", "alert", "expr", "for", "labels", "annotations"}


def test_thresholds_come_from_burnrate() -> None:
    tier = burnrate.DEFAULT_TIERS[1]
    slo = _service("pup-workers").slos[0]
    expected = promql.number(float(burnrate.threshold(tier, slo.objective, slo.period)))
    alert = [a for a in _alerts(_service("pup-workers"), slo.name) if a["labels"].get("long_window") == "6h"][0]
    assert f"> {expected}" in alert["expr"]


@pytest.mark.parametrize("name", NAMES)
def test_typed_alerts_carry_the_slo_and_tier_their_labels_name(name: str) -> None:
    """The test generators and the report read the tier from the rule, never from its labels."""
    service = _service(name)
    for group in rules.rule_groups(service):
        for alert in group.alerts:
            assert alert.slo == alert.labels[names.SLO]
            if alert.alert == names.ALERT_BURN:
                assert alert.tier is not None and alert.tier.severity == alert.labels[names.SEVERITY]
                assert format_duration(alert.tier.long_window) == alert.labels[names.LONG_WINDOW]
                assert format_duration(alert.tier.short_window) == alert.labels[names.SHORT_WINDOW]
                slo = next(s for s in service.slos if s.name == alert.slo)
                assert alert.tier in slo.tiers
            else:
                assert alert.tier is None


def test_custom_tiers_come_from_the_slo_then_the_service_then_obsgen_yaml() -> None:
    project = project_at(FIXTURES / "slo-kinds")
    cart, search = project.service("cart"), project.service("search")
    assert cart is not None and search is not None
    availability, latency = cart.slos
    # burn_rate 10 over 2h, budget_percent 5 over 6h of a 7d period (1.4x); burn_rate 20 and 4% over 4h of a 28d one.
    assert [t.burn_rate(availability.period) for t in availability.tiers] == [10, Fraction(7, 5)]
    assert [float(t.burn_rate(latency.period)) for t in latency.tiers] == [20.0, 6.72]
    assert [t.severity for t in latency.tier_set] == ["critical", "critical"]
    assert [(t.long_window, float(t.burn_rate(search.slos[0].period))) for t in search.slos[0].tiers] == [(3600, 14.4), (3 * 86400, 1.0)]


def test_rules_follow_custom_tiers() -> None:
    project = project_at(FIXTURES / "slo-kinds")
    cart = project.service("cart")
    assert cart is not None
    burn = [a for a in _alerts(cart, "latency") if a["alert"] == names.ALERT_BURN]
    assert [(a["labels"]["severity"], a["labels"]["long_window"], a["labels"]["short_window"]) for a in burn] == [
        ("critical", "30m", "5m"), ("critical", "4h", "20m"),
    ]
    # 99% objective: thresholds are burn rate x 1%; 4% of a 28d budget in 4h is a 6.72x burn (0.04 x 28d / 4h).
    assert [re.findall(r"> ([0-9.e-]+)", a["expr"])[0] for a in burn] == ["0.2", "0.0672"]
    recorded = sorted({r["record"] for r in _rules(cart) if "record" in r and r["labels"][names.SLO] == "latency"})
    assert {f"slo:sli_error:ratio_rate{w}" for w in ("5m", "20m", "30m", "4h", "1d", "28d")} <= set(recorded)


@pytest.mark.parametrize(("wanted", "expected"), [
    ((300, 3600, 21600, 2592000), ["5m", "1h", "6h", "1d", "30d"]),  # 30d is 30 x 1d, not 120 x 6h
    ((300, 3600, 259200, 2592000), ["5m", "1h", "1d", "3d", "30d"]),  # 3d is 3 x 1d, not 72 x 1h
    ((300, 3600, 2419200), ["5m", "1h", "1d", "28d"]),
    ((300, 1800, 3600, 7200, 21600, 86400, 259200, 2592000), ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]),  # the Workbook's: none added
])
def test_windows_in_between_keep_every_window_a_few_slices(wanted: tuple[int, ...], expected: list[str]) -> None:
    found = rules.ladder(wanted)
    assert [format_duration(w) for w in found] == expected
    assert all(rules.tiling(w, found)[1] <= rules.MAX_SLICES for w in found if w != rules.BASE_WINDOW)


def test_per_group_slos_keep_their_labels_through_every_window() -> None:
    search = project_at(FIXTURES / "slo-kinds").service("search")
    assert search is not None
    group = next(g for g in _groups(search) if g["name"] == names.group_name("search", "availability"))
    exprs = {r.get("record") or r["alert"] + r["labels"].get("long_window", ""): r["expr"] for r in group["rules"]}
    assert exprs["slo:sli_total:rate5m"].startswith("sum by (route) (rate(")
    assert exprs["slo:sli_errors:rate5m"].endswith("or on (route) 0 * slo:sli_total:rate5m{service=\"search\", slo=\"availability\"}")
    assert "offset 5m or on (route) 0 *" in exprs["slo:sli_total:rate1h"]
    assert "and on (service, slo, route)" in exprs[names.ALERT_BURN + "1h"]
    assert exprs[names.ALERT_NO_DATA] == 'absent(slo:sli_total:rate5m{service="search", slo="availability"})'  # per SLO, not per route
    alert = next(r for r in group["rules"] if r.get("alert") == names.ALERT_BURN)
    assert "for route {{ $labels.route }}" in alert["annotations"]["summary"]


def test_native_histograms_and_probes_read_their_own_functions() -> None:
    search, status = (project_at(FIXTURES / "slo-kinds").service(n) for n in ("search", "status-page"))
    assert search is not None and status is not None
    native = rules.sli_expressions(search.slos[1], "TOTAL")
    rates = 'sum by (route) (rate(search_duration_seconds{job="search"}[5m]))'
    assert native.total == f"histogram_count({rates})"
    assert native.errors == f"clamp_min(TOTAL - on (route) (histogram_fraction(0, 0.3, {rates}) * histogram_count({rates}) or on (route) 0 * TOTAL), 0)"
    probe = rules.sli_expressions(status.slos[0], "TOTAL")
    selector = 'probe_success{job="blackbox", instance="https://status.example.com"}'
    assert probe.total == f"sum(count_over_time({selector}[5m])) / 300"
    assert probe.errors == f"clamp_min(TOTAL - on () (sum(sum_over_time({selector}[5m])) / 300 or vector(0)), 0)"


def test_latency_alerts_link_the_slow_traces_of_their_window() -> None:
    api = _service("pup-api")
    traces = rules.TraceLinks("https://grafana.example.com", "tempo")
    written = rule_file(rules.rule_groups(api, "", traces))["groups"]
    burn = [r for g in written for r in g["rules"] if r.get("alert") == names.ALERT_BURN]
    linked = {(r["labels"]["slo"], r["labels"]["long_window"]): r["annotations"].get("traces_url") for r in burn}
    assert all(url is None for (slo, _), url in linked.items() if slo != "latency")  # only latency SLOs have slow traces
    url = linked[("latency", "6h")]
    assert url is not None and url.startswith("https://grafana.example.com/explore?")
    state = json.loads(urllib.parse.unquote(url.split("left=", 1)[1]))
    assert state["datasource"] == "tempo" and state["range"] == {"from": "now-6h", "to": "now"}
    assert state["queries"][0]["query"] == '{ resource.service.name = "pup-api" && duration > 500ms }'
    assert "traces_url" not in str(rule_file(rules.rule_groups(api, ""))["groups"])  # no trace datasource, no link
