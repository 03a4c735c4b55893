"""Composite (journey) SLOs: their rules read every part's raw series, and the generated proofs
time their alerts to the minute in both promtools, part by part."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from obsgen.core import names
from obsgen.model.slo import CompositeSLI
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.writer import write_output
from obsgen.prometheus import slo_rules, slo_tests
from tests.conftest import FIXTURES, generation_named, project_at

SPECS = FIXTURES / "composite"


def _journey(name: str) -> tuple[object, object]:
    service = project_at(SPECS).service("journeys")
    slo = next(s for s in service.slos if s.name == name)
    return service, slo


def test_parts_resolve_with_their_weights_and_nested_composites_open() -> None:
    _, buy = _journey("buy")
    assert isinstance(buy.sli, CompositeSLI) and buy.sli.mute_parts
    assert [p.ref for p in buy.sli.parts] == ["journeys/checkout", "shop/latency"]
    checkout = buy.sli.parts[0].slo
    assert isinstance(checkout.sli, CompositeSLI)
    assert [(p.ref, p.weight) for p in checkout.sli.parts] == [("shop/availability", 1.0), ("pay/success", 3.0)]
    # The simulation counts 1 + 3 events of checkout and 1 of latency for each event fed to every counter.
    assert slo_tests.scale(checkout) == 4 and slo_tests.scale(buy) == 5


def test_events_add_up_each_part_from_its_raw_series_with_its_weight() -> None:
    _, checkout = _journey("checkout")
    exprs = slo_rules.sli_expressions(checkout, "TOTAL")
    # A part of its own groups (shop/availability is per route) is summed whole here.
    assert exprs.total.startswith("sum(\n") and "by (route)" not in exprs.total
    assert 'label_replace((sum(rate(http_requests_total{job="shop"}[5m]))), "obsgen_part", "1", "", "")' in exprs.total
    assert 'label_replace(3 * (sum(rate(payments_total[5m]))), "obsgen_part", "2", "", "")' in exprs.total
    # Good events become errors against the part's own total, never the composite's recording.
    assert 'clamp_min((sum(rate(payments_total[5m]))) - on () (sum(rate(payments_total{outcome="ok"}[5m])) or vector(0)), 0)' in exprs.errors
    # A part without errors yet is missing from the union; none at all falls back to the composite's own total.
    assert 'label_replace((sum(rate(http_requests_total{job="shop", code=~"5.."}[5m]))), "obsgen_part", "1", "", "")' in exprs.errors
    assert exprs.errors.endswith("\n) or on () 0 * TOTAL") and exprs.errors.count("TOTAL") == 1
    assert "slo:" not in exprs.total + exprs.errors


def test_worst_takes_the_worst_ratio_of_parts_with_events() -> None:
    _, worst = _journey("checkout-worst")
    exprs = slo_rules.sli_expressions(worst, "TOTAL")
    assert exprs.errors.startswith("max(\n")
    assert "/ (sum(rate(search_requests_total[5m])) > 0)" in exprs.errors  # a part without events has no ratio
    assert exprs.errors.endswith(" * on () TOTAL or on () 0 * TOTAL")


def test_grouped_composites_keep_the_groups_of_every_part() -> None:
    _, by_route = _journey("checkout-by-route")
    exprs = slo_rules.sli_expressions(by_route, "TOTAL")
    assert exprs.total.startswith("sum by (route) (\n")
    assert exprs.total.count("sum by (route) (rate(") == 2


def test_a_composite_of_a_composite_reads_the_leaves() -> None:
    _, buy = _journey("buy")
    total = slo_rules.sli_expressions(buy, "TOTAL").total
    for counter in ("http_requests_total", "payments_total", "http_request_duration_seconds_count"):
        assert f"rate({counter}" in total


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("composite")
    write_output(compile_project(project_at(SPECS)), folder)
    return folder / "prometheus" / "tests"


# The example's chat journey (events, weights) is proven on both generations with the example's
# suite; worst-of and a composite of a composite here, on one generation each (a composite's proof
# costs 15-30 s). A grouped composite's proof is the per-group machinery every grouped SLO proves.
@pytest.mark.slow
@pytest.mark.tools
@pytest.mark.parametrize(("name", "which"), [("checkout-worst", "debian"), ("buy", "current")])
def test_the_generated_proofs_pass_in_promtool(name: str, which: str, out: Path) -> None:
    generation = generation_named(which)
    files = [out / f"journeys.{name}.slo.test.yml", out / f"journeys.{name}.period.test.yml"]
    titles = [t["name"] for t in yaml.safe_load(files[0].read_text())["tests"]]
    # Each part failing alone, and the last at 10 events an hour, besides every SLO's scenarios.
    assert sum("alone failing" in t for t in titles) == 2 and sum("at 10 events an hour, all failing" in t for t in titles) == 1
    result = subprocess.run([generation.need("promtool"), "test", "rules", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_low_traffic_part_pages_a_worst_of_composite_but_not_an_events_one(out: Path) -> None:
    """What the proofs assert (and the docs say): among the others' events a part's few failures
    are noise; worst-of follows its worst part, whatever its traffic."""
    def low(name: str) -> str:
        doc = yaml.safe_load((out / f"journeys.{name}.slo.test.yml").read_text())
        return next(t["name"] for t in doc["tests"] if "at 10 events an hour, all failing" in t["name"])

    assert low("checkout").endswith("1h/5m silent; 6h/30m silent; 1d/2h silent; 3d/6h silent")
    assert "1h/5m fires at" in low("checkout-worst")


@pytest.mark.tools
def test_a_wrong_weight_fails_the_proof(out: Path, tmp_path: Path, promtool: str) -> None:
    doc = yaml.safe_load((out / "journeys.checkout.slo.test.yml").read_text())
    rules = (out / doc["rule_files"][0]).read_text()
    assert rules.count("(3 * (") == 2  # the payments' total and errors
    (tmp_path / "rules.yml").write_text(rules.replace("(3 * (", "(2 * ("))
    doc["rule_files"] = ["rules.yml"]
    doc["tests"] = [t for t in doc["tests"] if "pay/success alone failing" in t["name"]]
    (tmp_path / "test.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(tmp_path / "test.yml")], capture_output=True, text=True)
    assert result.returncode != 0, "a part weighed wrong went unnoticed"


@pytest.mark.tools
def test_a_part_without_series_counts_nothing(out: Path, tmp_path: Path, promtool: str) -> None:
    """Only the first part exists yet (a new service): the composite is that part alone, not empty."""
    doc = yaml.safe_load((out / "journeys.checkout.slo.test.yml").read_text())
    doc["rule_files"] = [str(out / doc["rule_files"][0])]
    total = f'{names.total_rate(names.BASE_WINDOW)}{{service="journeys", slo="checkout"}}'
    errors = f'{names.errors_rate(names.BASE_WINDOW)}{{service="journeys", slo="checkout"}}'
    doc["tests"] = [{
        "interval": "1m",
        "input_series": [
            {"series": 'http_requests_total{job="shop", route="a", code="500"}', "values": "0+6x10"},
            {"series": 'http_requests_total{job="shop", route="a", code="200"}', "values": "0+54x10"},
        ],
        "promql_expr_test": [
            {"expr": total, "eval_time": "10m", "exp_samples": [{"labels": total, "value": 1}]},
            {"expr": errors, "eval_time": "10m", "exp_samples": [{"labels": errors, "value": 0.1}]},
        ],
    }]
    (tmp_path / "test.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(tmp_path / "test.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
