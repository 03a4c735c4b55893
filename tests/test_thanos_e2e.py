"""The Thanos output on a real Thanos Ruler (`make tools` builds it): it loads every generated group,
evaluates it against Prometheus, and an outage of the demo service pages through Alertmanager.
With `long_rules: separate`, Prometheus runs the paging groups and Thanos Ruler the long ones."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import yaml

from demo.stack import CURRENT_TOOLS, Stack
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.writer import write_output
from tests.conftest import ROOT, generation_named, project_at

pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("thanos")]
THANOS = CURRENT_TOOLS / "thanos"


def _wait(what: str, found: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def _stack(tmp: pytest.TempPathFactory, long_rules: str, **options: Any) -> Stack:
    if not THANOS.exists():
        pytest.fail("thanos missing: run `make tools` (built from tools/go/thanos)")
    project = project_at(ROOT)
    project = dataclasses.replace(project, settings=project.settings.model_copy(update={"long_rules": long_rules}))
    out = tmp.mktemp("out")
    write_output(compile_project(project), out)
    stack = Stack(project, out, tmp.mktemp("stack"), generation_named("current"), thanos=THANOS, **options)
    stack.start()
    return stack


def _healthy(stack: Stack, groups: int) -> list[dict[str, Any]]:
    loaded = stack.rule_groups(ruler=True)
    rules = [r for g in loaded for r in g["rules"]]
    evaluated = len(loaded) == groups and rules and all(r.get("health") == "ok" for r in rules)
    return loaded if evaluated else []


@pytest.fixture(scope="module")
def thanos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = _stack(tmp_path_factory, "local")
    try:
        yield stack
    finally:
        stack.stop()


def test_thanos_ruler_evaluates_every_group_and_an_outage_pages(thanos: Stack) -> None:
    files = sorted((thanos.output / "thanos" / "rules").glob("*.yml"))
    groups = [g for f in files for g in yaml.safe_load(f.read_text())["groups"]]
    loaded = _wait("every group loaded and evaluated without error", lambda: _healthy(thanos, len(groups)), 60)
    assert {g["name"] for g in loaded} == {g["name"] for g in groups}
    assert {g.get("partialResponseStrategy") for g in loaded} == {"ABORT"}  # the generator's setting, as Thanos read it
    assert thanos.rule_groups() == []  # Prometheus runs nothing: every page below is Thanos Ruler's
    thanos.fault(service="pup-api", error_ratio=1)
    (alert, *_) = _wait("critical availability page at platform-critical", lambda: [
        a for r, status, a in thanos.sink.alerts("platform-critical")
        if status == "firing" and a["labels"].get("alertname") == "ErrorBudgetBurn" and a["labels"].get("service") == "pup-api"
        and a["labels"].get("slo") == "availability" and a["labels"].get("long_window") == "1h"], 90)
    assert alert["labels"]["ruler"] == "thanos" and alert["labels"]["team"] == "platform"
    thanos.reset()


def _key(alert: dict[str, Any]) -> tuple[str, ...]:
    labels = alert["labels"]
    return tuple(labels.get(k, "") for k in ("alertname", "service", "slo", "long_window", "severity"))


def _active_at(alert: dict[str, Any]) -> float:
    return datetime.fromisoformat(alert["activeAt"].replace("Z", "+00:00")).timestamp()


def test_the_split_pages_at_the_same_minute_as_one_prometheus(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Split: Prometheus runs the paging groups, Thanos Ruler the long ones. Beside it, a reference
    Prometheus scrapes the same service and runs every group, as without the split. Both evaluate
    four times a spec-minute (a 250 ms tick at 60x), so their schedules differ by less than a
    minute on an idle machine; each 1h page must start within two minutes on both (two real
    servers scraping and evaluating on their own clocks drift apart by more than a spec-minute, a
    second here, when the machine is busy; promtool proves the minute of every page)."""
    stack = _stack(tmp_path_factory, "separate", tick_ms=250, reference=True)
    try:
        long_groups = [g for f in sorted((stack.output / "thanos" / "rules").glob("*.yml")) for g in yaml.safe_load(f.read_text())["groups"]]
        assert long_groups and all(g["name"].endswith(":period") for g in long_groups)
        _wait("the long groups evaluate on Thanos Ruler", lambda: _healthy(stack, len(long_groups)), 60)
        paging = {g["name"] for g in stack.rule_groups()}
        assert paging and not paging & {g["name"] for g in long_groups}
        budget = _wait("Thanos Ruler records the budget left from Prometheus's windows", lambda: [
            r for g in stack.rule_groups(ruler=True) for r in g["rules"]
            if r["name"] == "slo:error_budget_remaining:ratio" and r.get("health") == "ok" and r.get("lastEvaluation", "").startswith("2")], 30)
        assert budget
        # Until a window holds its whole span, its value depends on when its Prometheus started:
        # the 1h windows (60 s here) fill first, so the fault waits for them.
        time.sleep(max(0.0, stack.started + 60 + 1 - time.time()))
        stack.fault(service="pup-api", error_ratio=1)
        _wait("the page, from Prometheus's paging groups", lambda: [
            a for r, status, a in stack.sink.alerts("platform-critical")
            if status == "firing" and a["labels"].get("long_window") == "1h" and a["labels"].get("service") == "pup-api"
            and "ruler" not in a["labels"]], 90)
        page = ("ErrorBudgetBurn", "pup-api", "availability", "1h", "critical")

        def both() -> tuple[dict[tuple[str, ...], Any], ...] | None:
            split, one = ({_key(a): a for a in stack.alerts(reference=ref) if a["labels"].get("long_window") == "1h"}
                          for ref in (False, True))
            # Both must have fired before their start times are compared (a loaded machine evaluates late).
            return (split, one) if all(side.get(page, {}).get("state") == "firing" for side in (split, one)) else None

        split, one = _wait("the same page firing on the split and the reference Prometheus", both, 30)
        apart = {key: round(_active_at(split[key]) - _active_at(one[key]), 3) for key in split.keys() & one.keys()}
        assert all(abs(seconds) < 2 for seconds in apart.values()), apart  # 1 s is one minute of the spec
    finally:
        stack.stop()
