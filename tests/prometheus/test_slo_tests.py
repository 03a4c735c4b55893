"""The generated promtool tests: they pass, cover every alert, and catch a broken threshold."""
from __future__ import annotations

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
from obsgen.prometheus import series
from obsgen.prometheus import slo_tests as ruletests
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT, project_at


def _generate(specs: Path, out: Path) -> Path:
    write_output(compile_project(load_project(specs)), out)
    return out


@pytest.fixture(scope="module")
def example_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(ROOT, tmp_path_factory.mktemp("example"))


@pytest.mark.parametrize("specs", [ROOT, FIXTURES / "periods"], ids=["example-30d-28d", "fixture-7d"])
def test_generated_tests_pass_in_promtool(specs: Path, tmp_path: Path, generation: Generation) -> None:
    out = _generate(specs, tmp_path / "out")
    assert sorted(p.name for p in (out / "prometheus" / "tests").iterdir()) == sorted(
        f"{s.name}.test.yml" for s in load_project(specs).services
    )
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
    doc = yaml.safe_load((out / "prometheus" / "tests" / f"{service}.test.yml").read_text())
    checks = []
    for group in doc["tests"]:
        for check in group.get("promql_expr_test", []):
            if check["expr"].startswith(("ALERTS{", "count(ALERTS{")):
                matchers = dict(re.findall(r'(\w+)="([^"]*)"', check["expr"]))
                checks.append((matchers, bool(check["exp_samples"])))
        for check in group.get("alert_rule_test", []):
            for alert in check["exp_alerts"] or [{"exp_labels": {}}]:
                checks.append(({"alertname": check["alertname"], **alert["exp_labels"]}, bool(check["exp_alerts"])))
    return checks


def test_every_alert_has_a_firing_and_a_silent_test(example_out: Path) -> None:
    rules_found = _alert_rules(example_out)
    slo_alerts = sum(
        len(slo.tiers) + 1 for s in project_at(ROOT).services for slo in s.slos
    )
    assert len([r for _, r in rules_found if "slo" in r["labels"]]) == slo_alerts
    assert len(rules_found) > slo_alerts  # and the operational alerts of alerts/*.yaml
    for service, rule in rules_found:
        labels = {"alertname": rule["alert"], **rule["labels"]}
        covering = [fires for matchers, fires in _alerts_checks(example_out, service)
                    if all(labels.get(k, v) == v for k, v in matchers.items() if k != "alertstate")]
        assert True in covering, f"{service} {labels}: no test expects it to fire"
        assert False in covering, f"{service} {labels}: no test expects it to stay silent"


@pytest.mark.parametrize(("factor", "why"), [(2, "fires late"), (0.5, "fires early")])
def test_a_broken_threshold_fails_the_generated_tests(factor: float, why: str, tmp_path: Path, promtool: str) -> None:
    out = _generate(FIXTURES / "periods", tmp_path / "out")
    rule_file = out / "prometheus" / "rules" / "mailer.yml"
    tier = burnrate.DEFAULT_TIERS[0]
    good = burnrate.threshold(tier, 99, 7 * burnrate.DAY)
    text = rule_file.read_text()
    needle = f"> {float(good):g}\n"
    assert text.count(needle) == 2  # long and short window of the 1h tier
    rule_file.write_text(text.replace(needle, f"> {float(good) * factor:g}\n"))
    result = subprocess.run(
        [promtool, "test", "rules", str(out / "prometheus" / "tests" / "mailer.test.yml")], capture_output=True, text=True
    )
    assert result.returncode != 0, f"a threshold that {why} went unnoticed"
    assert 'long_window=\\"1h\\"' in result.stdout + result.stderr


@pytest.mark.parametrize("objective", [99.99, 99.9, 99.5, 99, 95, 93.5])
@pytest.mark.parametrize("days", [7, 28, 30])
def test_each_scenario_fires_one_evaluation_after_the_workbook_time(objective: float, days: int) -> None:
    period = days * burnrate.DAY
    for tier in burnrate.DEFAULT_TIERS:
        if not burnrate.can_fire(tier, objective, period):
            continue
        found = ruletests.detection(tier, objective, period)
        limit = float(burnrate.threshold(tier, objective, period))
        assert limit < found.error_ratio <= 1
        assert found.after == burnrate.time_to_fire(tier, objective, period, found.error_ratio)
        assert found.fires_at - ruletests.EVAL < found.after < found.fires_at or found.error_ratio == 1
        assert found.silent_until == found.fires_at - ruletests.EVAL or objective < 95
        assert found.fires_at <= max(ruletests.FIRE_WITHIN, tier.long_window / 2) + ruletests.EVAL
        # Prometheus 2 (both ends of a range) and 3 (right end only) fire within the expected span.
        for closed in (True, False):
            step = ruletests._first_firing_step(tier, limit, found.error_ratio, closed)
            assert step is not None and found.silent_until < step * ruletests.EVAL <= found.fires_at


def test_scenarios_start_after_a_clean_prefix_as_long_as_the_long_window(example_out: Path) -> None:
    doc = yaml.safe_load((example_out / "prometheus" / "tests" / "pup-workers.test.yml").read_text())
    tiers = [g for g in doc["tests"] if re.match(r"\S+: (critical|warning) \S+ fires", g["name"])]
    assert len(tiers) == 4
    for group, tier in zip(tiers, burnrate.DEFAULT_TIERS):
        bad = next(s for s in group["input_series"] if 'outcome="failed"' in s["series"])
        prefix = bad["values"].split()[1]  # the first segment after the baseline: no errors
        assert re.fullmatch(r"1000\+0x(\d+)", prefix) and int(prefix.split("x")[1]) + 1 >= tier.long_window // 60


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
        "evaluation_interval": "5m",
        "group_eval_order": [g["name"] for g in written],
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


def test_guard_scenario_would_page_without_the_guard(example_out: Path) -> None:
    doc = yaml.safe_load((example_out / "prometheus" / "tests" / "pup-api.test.yml").read_text())
    guard = next(g for g in doc["tests"] if "does not page" in g["name"])
    exprs = [c["expr"] for c in guard["promql_expr_test"]]
    assert any(e.startswith("count(slo:sli_error:ratio_rate1h") for e in exprs)
    assert sum('severity="critical"' in e for e in exprs) >= 4 * 2  # both SLOs, four times each


def test_untestable_slis_are_skipped_and_reported(tmp_path: Path) -> None:
    out = _generate(FIXTURES / "good", tmp_path / "out")
    ledger = yaml.safe_load((out / "prometheus" / "tests" / "ledger.test.yml").read_text())
    assert ledger["tests"] == []
    assert "ledger / writes" in (out / "SLO_REPORT.md").read_text()
    assert "No generated promtool tests: an expression SLI" in (out / "SLO_REPORT.md").read_text()


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
