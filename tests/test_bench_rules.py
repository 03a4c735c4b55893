"""The rule-cost benchmark's machinery, on one day of data: it runs, and obsgen's layering wins."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT, generation_named


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_rules", ROOT / "bench" / "bench_rules.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_rules"] = module
    spec.loader.exec_module(module)
    return module


def test_layers_put_every_recording_after_what_it_reads(bench) -> None:
    from obsgen.core.rules import rule_file
    from obsgen.prometheus import slo_rules

    groups = rule_file(slo_rules.rule_groups(bench.spec("checkout")))["groups"][:1]  # the ungrouped SLO
    recorded = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    layers = bench.layers(groups)
    assert sum(len(layer) for layer in layers) == len(recorded)
    seen: set[str] = set()
    for layer in layers:
        for entry in layer:
            assert bench._depends_on(entry["rule"]["expr"], recorded) <= seen, entry["rule"]["record"]
        seen |= {e["rule"]["record"] for e in layer}
    first = {e["rule"]["record"] for e in layers[0]}
    assert "slo:sli_total:rate5m" in first and "slo:sli_errors:rate5m" not in first


@pytest.mark.tools
@pytest.mark.slow
def test_small_run_meets_the_targets_and_weights_by_traffic(bench) -> None:
    generation_named("current")  # the benchmark runs on Prometheus 3
    # Samples only (query times are measured by `make bench-rules`), one service (with its per-instance
    # SLO): the machinery and the ratios, at a third of the backfilling.
    figures = bench.run(1, timed=False, service_names=bench.SERVICES[:1])
    assert figures["samples_per_slo"] <= bench.TARGET_PER_SLO
    assert figures["ratio"] >= bench.TARGET_RATIO
    assert figures["period_error"] < 0.02
    assert figures["sloth_ratio"] > 1  # Sloth's rules for the same SLOs, measured in the same run, cost more
    # The per-instance SLO: three groups, each costing less than the whole SLO does ungrouped.
    per_group = figures["samples_per_group"]["checkout/availability-by-instance"]
    assert 0 < per_group < figures["samples_per_slo"]
