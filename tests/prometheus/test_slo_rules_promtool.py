"""The generated rules in the real promtool: they load, and the layered windows compute what the maths says."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from obsgen.core import names
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.writer import write_output
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT

DAY = 720  # samples a day at the 2m input interval


def _generate(specs: Path, out: Path) -> list[Path]:
    write_output(compile_project(load_project(specs)), out)
    return sorted((out / "prometheus" / "rules").glob("*.yml"))


@pytest.mark.parametrize("specs", [ROOT, FIXTURES / "good", FIXTURES / "weighted"], ids=["example", "good", "weighted"])
def test_promtool_accepts_every_rule_file(specs: Path, tmp_path: Path, promtool: str) -> None:
    files = _generate(specs, tmp_path / "out")
    result = subprocess.run([promtool, "check", "rules", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files)


def _counter(increments: list[int]) -> str:
    """promtool series notation for a counter starting at 0 that grows by increments[i] at sample i+1."""
    segments, value, i = ["0"], 0, 0
    while i < len(increments):
        step, j = increments[i], i
        while j < len(increments) and increments[j] == step:
            j += 1
        segments.append(f"{value + step}+{step}x{j - i - 1}")  # j - i samples
        value += step * (j - i)
        i = j
    return " ".join(segments)


@pytest.mark.slow
def test_period_sli_is_errors_over_events_not_a_mean_of_ratios(tmp_path: Path, promtool: str) -> None:
    """Three and a half busy error-free days, then as many quiet ones at 10% errors: the 7-day window
    holds them all, and only traffic weighting gets 0.91%."""
    rules = _generate(FIXTURES / "weighted", tmp_path / "out")[0]
    # The recordings alone: promtool evaluates every rule at every step of the week, and no
    # recording reads an alert.
    doc = yaml.safe_load(rules.read_text())
    for group in doc["groups"]:
        group["rules"] = [r for r in group["rules"] if "record" in r]
    rules.write_text(yaml.safe_dump(doc, sort_keys=False))
    busy, quiet = 7 * DAY // 2, 7 * DAY // 2
    ok = [500] * busy + [45] * quiet
    failed = [0] * busy + [5] * quiet
    # What the 7-day window at day 7 holds: all of it.
    expected = sum(failed) / (sum(failed) + sum(ok))
    unweighted = 0.5 * 0.1
    assert abs(unweighted / expected - 1) > 1 / 2  # the data tells the two apart

    sel = '{service="shop", slo="availability"}'
    direct = 'sum(increase(requests_total{code=~"5.."}[7d])) / sum(increase(requests_total[7d]))'
    test = {
        "rule_files": [str(tmp_path / "out" / "prometheus" / "rules" / "shop.yml")],
        # promtool runs every group at this interval; 5m keeps a week of evaluations quick.
        "evaluation_interval": "5m",
        # In no set order unless told: the period group must read this step's windows (as the
        # generated tests say too), or it reads the last step's and the test fails now and then.
        "group_eval_order": [names.group_name("shop", "availability"), names.period_group_name("shop", "availability")],
        "tests": [
            {
                # 2m samples: a 5m rate needs two samples in its window (Prometheus 3's left-open
                # ranges hold only one of 5m-spaced samples), and promtool's sample limit still
                # allows the direct 7-day query below.
                "interval": "2m",
                "input_series": [
                    {"series": 'requests_total{job="shop", code="200"}', "values": _counter(ok)},
                    {"series": 'requests_total{job="shop", code="500"}', "values": _counter(failed)},
                ],
                "promql_expr_test": [
                    {
                        # Period window against a direct errors/total over the same data, within 2%.
                        "expr": f"abs(vector(scalar(slo:sli_error:ratio_rate7d{sel}) / scalar({direct}) - 1)) < bool 0.02",
                        "eval_time": "7d",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    },
                    {
                        "expr": f"abs(vector(scalar(slo:sli_error:ratio_rate7d{sel}) / {expected!r} - 1)) < bool 0.02",
                        "eval_time": "7d",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    },
                    *[
                        {
                            # Inside the quiet phase every shorter window sees exactly 10% errors.
                            "expr": f"abs(vector(scalar(slo:sli_error:ratio_rate{w}{sel}) - 0.1)) < bool 1e-9",
                            "eval_time": "7d",
                            "exp_samples": [{"labels": "{}", "value": 1}],
                        }
                        for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
                    ],
                    {
                        # The budget is 1%: 1.18% spent means a little less than nothing remains.
                        "expr": f"abs(vector(scalar(slo:error_budget_remaining:ratio{sel}) - {1 - expected / 0.01!r})) < bool 0.02",
                        "eval_time": "7d",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "weighted.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_counter_notation() -> None:
    assert _counter([1, 1, 1]) == "0 1+1x2"  # 0 1 2 3
    assert _counter([2, 2, 5, 5]) == "0 2+2x1 9+5x1"  # 0 2 4 9 14
