"""The generated promtool tests: they pass, cover every alert, and catch a broken threshold."""
from __future__ import annotations

import dataclasses
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgen.core import names
from obsgen.core import slo_math as burnrate
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.tools import Generation
from obsgen.pipeline.validate import promtool_test_rules
from obsgen.pipeline.writer import write_output
from obsgen.prometheus import ops_tests, series, slo_rules
from obsgen.prometheus import slo_tests as ruletests
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT, generation_named, project_at, slo_of


def _generate(specs: Path, out: Path) -> Path:
    write_output(compile_project(load_project(specs)), out)
    return out


@pytest.fixture(scope="module")
def example_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(ROOT, tmp_path_factory.mktemp("example"))


# The other fixtures' generated tests run in tests/test_cli.py, through `obsgen validate`. With the
# example's 99.9% and 99.99% SLOs, "nines" proves 99.95% at one-minute resolution on both generations.
@pytest.mark.slow
@pytest.mark.parametrize("specs", [ROOT, FIXTURES / "nines"], ids=["example-30d-28d", "99.95"])
def test_generated_tests_pass_in_promtool(specs: Path, tmp_path: Path, generation: Generation) -> None:
    out = _generate(specs, tmp_path / "out")
    services = load_project(specs).services
    # Per SLO a file for its paging group and one for its period group (native histograms apart: one
    # file of promtool 3's notation for both), and one for the operational alerts, each loading only
    # its own groups.
    assert sorted(p.name for p in (out / "prometheus" / "tests").glob("*.yml")) == sorted(
        [f"{s.name}.{slo.name}.slo.test.yml" for s in services for slo in s.slos]
        + [f"{s.name}.{slo.name}.period.test.yml" for s in services for slo in s.slos if not ruletests.native(slo)]
        + [f"{s.name}.{slo.name}.native.test.yml" for s in services for slo in s.slos if ruletests.native(slo)]
        + [f"{s.name}.ops.test.yml" for s in services if ops_tests.ops_tests(s)]
    )
    for path in (out / "prometheus" / "tests").glob("*.slo.test.yml"):  # the scenarios pay for the paging group only
        loaded = [g["name"] for f in yaml.safe_load(path.read_text())["rule_files"] for g in yaml.safe_load((path.parent / f).read_text())["groups"]]
        assert len(loaded) == 1 and not loaded[0].endswith(":period"), (path.name, loaded)
    findings = promtool_test_rules(out, generation)
    assert not findings, "\n".join(str(f) for f in findings)


def _alert_rules(out: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((out / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [(path.stem, r) for r in group["rules"] if "alert" in r]
    return found


def _alerts_checks(out: Path, service: str) -> list[tuple[dict[str, str], bool]]:
    """(label matchers, expects firing) for every ALERTS check in a service's generated tests."""
    files = sorted((out / "prometheus" / "tests").glob(f"{service}.*.test.yml"))  # names hold no dots
    groups = [g for path in files for g in yaml.safe_load(path.read_text())["tests"]]
    checks = []
    for group in groups:
        for check in group.get("promql_expr_test", []):
            if check["expr"].startswith(("ALERTS{", "count(ALERTS{", "count_over_time(ALERTS{")):
                matchers = dict(re.findall(r'(\w+)="([^"]*)"', check["expr"]))
                checks.append((matchers, bool(check["exp_samples"])))
        for check in group.get("alert_rule_test", []):
            for alert in check["exp_alerts"] or [{"exp_labels": {}}]:
                checks.append(({"alertname": check["alertname"], **alert["exp_labels"]}, bool(check["exp_alerts"])))
    return checks


@pytest.mark.parametrize("specs", [ROOT, FIXTURES / "slo-kinds"], ids=["example", "slo-kinds"])
def test_every_alert_has_a_firing_and_a_silent_test(specs: Path, tmp_path: Path) -> None:
    example_out = _generate(specs, tmp_path / "out")
    rules_found = _alert_rules(example_out)
    slo_alerts = sum(
        len(slo.tiers) + 1 for s in project_at(specs).services for slo in s.slos
    )
    assert len([r for _, r in rules_found if "slo" in r["labels"]]) == slo_alerts
    if specs == ROOT:
        assert len(rules_found) > slo_alerts  # and the operational alerts of alerts/*.yaml
    checks = {service: _alerts_checks(example_out, service) for service in {service for service, _ in rules_found}}
    for service, rule in rules_found:
        labels = {"alertname": rule["alert"], **rule["labels"]}
        covering = [fires for matchers, fires in checks[service]
                    if all(labels.get(k, v) == v for k, v in matchers.items() if k != "alertstate")]
        assert True in covering, f"{service} {labels}: no test expects it to fire"
        assert False in covering, f"{service} {labels}: no test expects it to stay silent"


@pytest.mark.parametrize(("factor", "why"), [(2, "fires late"), (0.5, "fires early")])
def test_a_broken_threshold_fails_the_generated_tests(factor: float, why: str, tmp_path: Path, promtool: str) -> None:
    out = _generate(FIXTURES / "periods", tmp_path / "out")
    tests_file = out / "prometheus" / "tests" / "mailer.delivery.slo.test.yml"
    rule_file = tests_file.parent / yaml.safe_load(tests_file.read_text())["rule_files"][0]  # the rules the tests load
    tier = burnrate.DEFAULT_TIERS[0]
    good = burnrate.threshold(tier, 99, 7 * burnrate.DAY)
    text = rule_file.read_text()
    needle = f"> {float(good):g}\n"
    assert text.count(needle) == 2  # the long and the short window of the 1h tier
    rule_file.write_text(text.replace(needle, f"> {float(good) * factor:g}\n", 2))
    # The scenarios that time the 1h tier are enough to catch it (and keep this test quick).
    doc = yaml.safe_load(tests_file.read_text())
    doc["tests"] = [g for g in doc["tests"] if "total outage" in g["name"] or "just over the 1h threshold" in g["name"]]
    assert len(doc["tests"]) == 2
    tests_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(tests_file)], capture_output=True, text=True)
    assert result.returncode != 0, f"a threshold that {why} went unnoticed"
    assert 'long_window=\\"1h\\"' in result.stdout + result.stderr


@pytest.mark.parametrize("objective", [99.99, 99.9, 99.5, 99, 95])
@pytest.mark.parametrize("days", [7, 28, 30])
def test_paging_tiers_fire_within_a_minute_of_the_workbook_time_and_clear_on_time(objective: float, days: int) -> None:
    """Full windows, a minute resolution: Prometheus 2 fires in the minute after the Workbook time,
    Prometheus 3 (left-open ranges) at most a minute before or after it; both clear within the
    short window plus one evaluation of the errors stopping."""
    slo = slo_of({"name": "a", "objective": objective, "period": f"{days}d", "sli": {"ratio": {"errors": 'r{code="5"}', "total": "r"}}})
    history = ruletests.HISTORY
    traffic = ruletests._traffic_for(slo, history)
    for tier in (t for t in slo.tiers if t.severity == "critical"):
        limit = float(burnrate.threshold(tier, objective, slo.period))
        for wanted in (1.0, ruletests.JUST_OVER * limit):
            if wanted >= 1 and wanted != 1.0:
                continue
            ratio = series.Phase.of(1, traffic, ruletests._off_the_minute(slo, wanted, history)).error_ratio
            workbook = ruletests.workbook_minutes(slo, tier, ratio, history)
            assert workbook is not None
            errors = math.ceil(workbook) + 2
            phases = [series.Phase.of(history, traffic, 0), series.Phase.of(errors, traffic, ratio), series.Phase.of(tier.short_window // 60 + 3, traffic, 0)]
            found = ruletests.timing(slo, tier, phases, history, history + errors)
            assert found.fires is not None, (tier, ratio)
            lo, hi = (m - history for m in found.fires)
            assert workbook - 1 <= lo <= hi <= workbook + 1, (tier, ratio, workbook, found)
            assert found.clears is not None and found.clears[1] - (history + errors) <= tier.short_window // 60 + 1


@pytest.mark.parametrize("objective", [99.9, 99.95, 99.99])
@pytest.mark.parametrize("burn", [20.0, 8.0, 4.0, 1.5])
def test_at_a_thousand_events_a_minute_every_tier_fires_on_the_workbook_minute(objective: float, burn: float) -> None:
    """Issue 34: at 99.99% and 1,000 events a minute the guard made every tier burn about 1.3x its
    rate before firing (20x: the 1h tier 10 minutes late; 8x: the 6h tier 48 minutes late). With
    full windows and no boost to the traffic, each tier that fires at this burn fires within a
    minute of the Workbook's time, under both range semantics."""
    slo = slo_of({"name": "a", "objective": objective, "min_events": 50, "sli": {"ratio": {"errors": 'r{code="5"}', "total": "r"}}})
    ratio = burn * float(slo.budget)
    for tier in slo.tiers:
        if ratio <= slo.limit(tier):
            continue
        history = tier.long_window // 60 + 10
        ratio_ = series.Phase.of(1, ruletests.TRAFFIC, ruletests._off_the_minute(slo, ratio, history)).error_ratio
        workbook = ruletests.workbook_minutes(slo, tier, ratio_, history)
        assert workbook is not None
        phases = [series.Phase.of(history, ruletests.TRAFFIC, 0), series.Phase.of(math.ceil(workbook) + 3, ruletests.TRAFFIC, ratio_)]
        found = ruletests.timing(slo, tier, phases, history)
        assert found.fires is not None, (tier, burn)
        lo, hi = (m - history for m in found.fires)
        assert workbook - 1 <= lo <= hi <= workbook + 1, (tier, burn, workbook, found)


def test_one_failure_at_low_traffic_never_pages_and_an_outage_does() -> None:
    slo = slo_of({"name": "a", "objective": 99.9, "sli": {"ratio": {"errors": 'r{code="5"}', "total": "r"}}})
    quiet = series.exact(ruletests.LOW_TRAFFIC)
    one = [series.Phase(360, quiet, 0), series.Phase(1, quiet, 1), series.Phase(6 * 60, quiet, 0)]
    down = [series.Phase(360, quiet, 0), series.Phase(60, 0, quiet)]
    for tier in slo.tiers:
        assert ruletests.timing(slo, tier, one, 360).fires is None, tier
    paged = ruletests.timing(slo, burnrate.DEFAULT_TIERS[0], down, 360).fires
    assert paged is not None and paged[1] - 360 <= 60  # within the 1h window, after two or three failures
    # Without the guard one failure would page: 1 in 60 events is above the 1h tier's threshold.
    assert 1 / 60 > float(burnrate.threshold(burnrate.DEFAULT_TIERS[0], 99.9, 30 * burnrate.DAY))


def test_every_generated_scenario_evaluates_every_minute(example_out: Path) -> None:
    doc = yaml.safe_load((example_out / "prometheus" / "tests" / "pup-api.availability.slo.test.yml").read_text())
    assert doc["evaluation_interval"] == "1m"
    names_ = [g["name"] for g in doc["tests"]]
    for kind in ("a total outage, then recovery", "20x", "just over the 1h threshold", "one failure among 10 events an hour",
                 "an outage at 10 events an hour", "half the budget"):
        assert any(kind in n for n in names_), kind


@pytest.mark.tools
def test_each_group_pages_on_its_own_burn(tmp_path: Path) -> None:
    """The outage scenario of a per-route SLO runs a burning route beside a healthy one and a quiet
    one with a single failure: only the burning route pages. Rules that mix the groups in the
    low-traffic guard (matching on service and SLO only) let the quiet route page, and fail it.
    (One generation: tests/test_cli.py runs the fixture's whole tests on both.)"""
    promtool = generation_named("current").need("promtool")
    out = _generate(FIXTURES / "slo-kinds", tmp_path / "out")
    tests_file = out / "prometheus" / "tests" / "search.availability.slo.test.yml"
    doc = yaml.safe_load(tests_file.read_text())
    doc["tests"] = [g for g in doc["tests"] if "total outage" in g["name"]]
    assert len(doc["tests"]) == 1 and "a healthy group (route=b) silent" in doc["tests"][0]["name"]
    routes = {re.search(r'route="(\w)"', s["series"])[1] for s in doc["tests"][0]["input_series"]}  # type: ignore[index]
    assert routes == {"a", "b", "c"}
    tests_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    passed = subprocess.run([promtool, "test", "rules", str(tests_file)], capture_output=True, text=True)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    rule_file = out / "prometheus" / "tests" / "rules" / "search.availability.slo.yml"  # the group the test loads
    text = rule_file.read_text()
    assert text.count("and on (service, slo, route)") == 2  # each tier's guard and min_events
    rule_file.write_text(text.replace("and on (service, slo, route)", "and on (service, slo)"))
    failed = subprocess.run([promtool, "test", "rules", str(tests_file)], capture_output=True, text=True)
    assert failed.returncode != 0 and 'route=\\"c\\"' in failed.stdout + failed.stderr, failed.stdout[-2000:]


def test_a_broken_period_rule_fails_its_proof(tmp_path: Path, promtool: str) -> None:
    """The period group's own file catches an edited period window or budget: the budget left and
    the period burn rate after a steady half of the budget."""
    out = _generate(FIXTURES / "periods", tmp_path / "out")
    tests_file = out / "prometheus" / "tests" / "mailer.delivery.period.test.yml"
    assert subprocess.run([promtool, "test", "rules", str(tests_file)], capture_output=True, text=True).returncode == 0
    period_copy = tests_file.parent / yaml.safe_load(tests_file.read_text())["rule_files"][1]
    text = period_copy.read_text()
    assert ":period" in text and "slo:error_budget_remaining:ratio" in text
    period_copy.write_text(text.replace("1 - slo:sli_error:ratio_rate7d", "1.5 - slo:sli_error:ratio_rate7d", 1))
    result = subprocess.run([promtool, "test", "rules", str(tests_file)], capture_output=True, text=True)
    assert result.returncode != 0 and "slo:error_budget_remaining:ratio" in result.stdout + result.stderr


def test_alert_annotations_render(tmp_path: Path, promtool: str) -> None:
    """Only tier 1 fires at 1.5x its threshold an hour in; its annotations render with the value."""
    out = _generate(FIXTURES / "periods", tmp_path / "out")
    service = next(s for s in load_project(FIXTURES / "periods").services if s.name == "signup")
    slo = service.slos[0]
    written = yaml.safe_load((out / "prometheus" / "rules" / "signup.yml").read_text())["groups"]
    rule = next(r for g in written for r in g["rules"] if r.get("labels", {}).get("long_window") == "1h")
    limit = float(burnrate.threshold(burnrate.DEFAULT_TIERS[0], slo.objective, 30 * burnrate.DAY))
    phases = [series.Phase.of(360, 1000, 0), series.Phase.of(66, 1000, 1.5 * limit)]
    ratio = phases[1].error_ratio
    labels = {**rule["labels"], "tier": "2"}
    annotations = {
        k: v.replace("{{ $labels.service }}", "signup").replace("{{ $labels.slo }}", "latency")
        .replace("{{ $value | humanizePercentage }}", f"{ratio * 100:.4g}%")
        for k, v in rule["annotations"].items()
    }
    assert "{{" not in annotations["description"] and f"{ratio * 100:.4g}%" in annotations["description"]
    test = {
        "rule_files": ["../rules/signup.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series.input_series(series.counters(slo), phases),
            "alert_rule_test": [{"alertname": names.ALERT_BURN, "eval_time": "7h5m",
                                 "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]}],
        }],
    }
    path = out / "prometheus" / "tests" / "annotations.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_expression_slis_are_tested_through_the_counters_they_read(tmp_path: Path, promtool: str) -> None:
    """`sum by (job) (rate(x[$window]))` is the rate of one counter: obsgen drives that counter. An
    expression of several (failed + timed out) is tested through the spec's `test_series`, and the
    generated tests pass; an SLI that is neither is reported instead of tested."""
    project = project_at(FIXTURES / "good")
    ledger = project.service("ledger")
    assert ledger is not None
    writes, settlements = ledger.slos
    assert [c.series for c in series.counters(writes)] == ['ledger_writes_total{outcome="ok"}', 'ledger_writes_total{outcome="error"}']
    assert [(c.series, c.bad, c.good) for c in series.counters(settlements)] == [
        ('ledger_settlements_failed_total{job="ledger"}', 1, 0), ('ledger_settlements_total{job="ledger"}', 1, 1),
    ]
    # Only the settlements SLO, to keep promtool's work small.
    specs = tmp_path / "specs"
    (specs / "slo").mkdir(parents=True)
    text = (FIXTURES / "good" / "slo" / "ledger.yaml").read_text()
    (specs / "slo" / "ledger.yaml").write_text(text[: text.index("  - name: writes")] + text[text.index("  - name: settlements"):])
    out = _generate(specs, tmp_path / "out")
    result = subprocess.run([promtool, "test", "rules", str(out / "prometheus" / "tests" / "ledger.settlements.slo.test.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr

    opaque = slo_of({"name": "a", "objective": 99, "sli": {"ratio": {
        "errors": "sum(increase(x_failed_total[$window])) / 60", "total": "sum(increase(x_total[$window])) / 60"}}})
    with pytest.raises(series.Untestable, match="give `test_series`"):
        series.counters(opaque)


def test_exact_counters_never_step_back() -> None:
    phases = [series.Phase.of(10, 1000, 0), series.Phase.of(7, 1000, 0.0123456789), series.Phase.of(5, 1000, 0)]
    for item in series.input_series(series.counters(project_at(ROOT).services[1].slos[0]), phases):
        values: list[float] = []
        for part in item["values"].split():
            m = re.fullmatch(r"([0-9.e+-]+)\+([0-9.e+-]+)x(\d+)", part)
            if m:
                start, step, count = float(m[1]), float(m[2]), int(m[3])
                values += [start + step * i for i in range(count + 1)]
            else:
                values.append(float(part))
        assert len(values) == 1 + 10 + 7 + 5
        assert all(b >= a for a, b in zip(values, values[1:]))
        assert all(math.isclose(v * 1024, round(v * 1024)) for v in values)


def _scenario_texts(project: Any) -> dict[tuple[str, str], dict[str, str]]:
    return {
        (s.name, slo.name): ruletests.scenario_texts(s, slo, paging.alerts)
        for s in project.services
        for slo, (paging, _) in zip(s.slos, slo_rules.slo_groups(s, "", None), strict=True)
    }


def test_slos_of_one_shape_share_a_template_that_gives_the_bytes_built_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fleet's SLOs of one shape fill in a shared template: every per-service string (names,
    labels, metrics, matchers, some that YAML or PromQL must quote) comes out exactly as building
    each SLO on its own writes it, for plain and per-group SLOs alike."""
    project = project_at(FIXTURES / "fleet")
    monkeypatch.setattr(ruletests, "_TEMPLATES", {})
    monkeypatch.setattr(ruletests, "_FIRST", {})
    shared = _scenario_texts(project)
    used = sorted(key[1] for key, template in ruletests._TEMPLATES.items() if template is not None)  # type: ignore[index]
    assert used == ["availability", "routes"]
    direct = {}
    for service in project.services:
        monkeypatch.setattr(ruletests, "_TEMPLATES", {})
        monkeypatch.setattr(ruletests, "_FIRST", {})
        direct.update(_scenario_texts(dataclasses.replace(project, services=(service,))))
    assert shared == direct
    outage = yaml.safe_load(shared["quoted", "availability"]["outage"])[0]
    assert {s["series"] for s in outage["input_series"]} == {'Requests_Total{code="500", job="a\\"b: #c"}', 'Requests_Total{code="200", job="a\\"b: #c"}'}
    fired = [s["labels"] for check in outage["promql_expr_test"] for s in check["exp_samples"]]
    assert fired and all('service="quoted"' in f and 'tier="it\'s: #1 é"' in f for f in fired)
    assert 'service="quoted"' in outage["promql_expr_test"][0]["expr"]
