"""`obsgen gate` against a real Prometheus 3 holding 30 hours of history (tests/live/test_backtest.py's)
and, at its end, a firing page of one SLO: budgets on both sides of a policy's threshold."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsgen.pipeline.tools import Generation
from tests.conftest import generation_named, run_obsgen
from tests.live.test_backtest import MINUTES, SPECS, _serving

pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("gate")]

# 30 hours with 2.3% errors (an outage, a slow burn, a route outage): a 99.9% SLO has spent its
# budget 23 times over, a 90% one has 77% of it left.
SPEC = (SPECS / "slo" / "shop.yaml").read_text()


def _page(start: int) -> list[str]:
    """ALERTS of a page of shop/by-route firing over the history's last 10 minutes."""
    labels = 'alertname="ErrorBudgetBurn",alertstate="firing",service="shop",slo="by-route",route="/b",severity="critical",long_window="1h"'
    return ["# TYPE ALERTS gauge", *(f"ALERTS{{{labels}}} 1 {start + 60 * m}" for m in range(MINUTES - 10, MINUTES))]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Generation]]:
    with _serving(generation_named("current"), tmp_path_factory.mktemp("gate"), _page) as it:
        yield it


def _specs(tmp_path: Path, objective: str, policy: str = "") -> Path:
    (tmp_path / "slo").mkdir(parents=True, exist_ok=True)
    text = SPEC.replace("objective: 99.9", f"objective: {objective}")
    if policy:
        text = text.replace("  - name: by-route", f"    policy: {policy}\n  - name: by-route")
    (tmp_path / "slo" / "shop.yaml").write_text(text)
    return tmp_path


def _gate(served: tuple[str, int, Generation], specs: Path, *extra: str) -> tuple[int, dict]:
    url, start, _ = served
    result = run_obsgen("gate", "--specs", str(specs), "--prometheus", url, "--at", str(start + (MINUTES - 1) * 60), "--format", "json", *extra)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else {}


def test_budgets_on_both_sides_of_the_policy(served: tuple[str, int, Generation], tmp_path: Path) -> None:
    # At 90%, 77% of the budget is left: go by default, blocked by a policy asking for 80%.
    code, out = _gate(served, _specs(tmp_path / "a", "90"), "--slo", "shop/availability")
    (verdict,) = out["slos"]
    assert code == 0 and verdict["decision"] == "go" and 0.7 < verdict["budget_left"] < 0.8 and verdict["policy_from"] == "the defaults"

    code, out = _gate(served, _specs(tmp_path / "b", "90", "{min_budget: 80%, freeze_on: [critical]}"), "--slo", "shop/availability")
    (verdict,) = out["slos"]
    assert code == 1 and verdict["decision"] == "blocked" and verdict["policy_from"] == "the spec"
    assert "below the policy's 80% (from the spec)" in verdict["reasons"][0]

    code, out = _gate(served, _specs(tmp_path / "c", "90"), "--slo", "shop/availability", "--min-budget", "75%")
    assert code == 0 and out["slos"][0]["policy_from"] == "the command line"


def test_a_firing_page_or_a_spent_budget_blocks_and_says_why(served: tuple[str, int, Generation], tmp_path: Path) -> None:
    url, start, _ = served
    text = run_obsgen("gate", "--specs", str(_specs(tmp_path / "a", "90")), "--prometheus", url, "--at", str(start + (MINUTES - 1) * 60))
    assert text.returncode == 1
    assert "GO             shop/availability" in text.stdout
    assert "BLOCKED        shop/by-route" in text.stdout and "ErrorBudgetBurn 1h (critical) is firing" in text.stdout
    spent = run_obsgen("gate", "--specs", str(SPECS), "--prometheus", url, "--at", str(start + (MINUTES - 1) * 60), "--slo", "shop/availability")
    assert spent.returncode == 1 and "the budget is spent" in spent.stdout and "obsgen: blocked by 1 SLO(s)" in spent.stdout


def test_it_never_says_go_when_it_cannot_tell(served: tuple[str, int, Generation], tmp_path: Path) -> None:
    url, start, _ = served
    before = run_obsgen("gate", "--specs", str(SPECS), "--prometheus", url, "--at", str(start - 40 * 86400))
    assert before.returncode == 2 and "CANNOT DECIDE" in before.stdout and "no events" in before.stdout
    down = run_obsgen("gate", "--specs", str(SPECS), "--prometheus", "http://127.0.0.1:9", "--timeout", "2")
    assert down.returncode == 2 and "cannot decide" in down.stderr and "Traceback" not in down.stderr
    bad = run_obsgen("gate", "--specs", str(_specs(tmp_path, "90", "{min_budget: 120%}")), "--prometheus", url)
    assert bad.returncode == 2 and "shop.yaml:" in bad.stderr and "policy.min_budget" in bad.stderr
