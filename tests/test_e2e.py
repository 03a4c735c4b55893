"""A real incident end to end: the demo service, Prometheus and Alertmanager on loopback.

Rules and Alertmanager timings run 60x faster (see demo/stack.py); everything else is what
obsgen generated. Each step prints how long it took.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from demo.service import ROUTES
from demo.stack import Stack
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.writer import write_output
from obsgen.spec.load import load_project
from tests.conftest import ROOT, generation_named

pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("e2e")]  # real Prometheus and Alertmanager processes


def _wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        found = check()
        if found:
            print(f"  {what}: {time.monotonic() - start:.1f} s")
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The stack on Prometheus 3 and the current Alertmanager; `--e2e-tools debian` runs it on Debian's."""
    tools = generation_named(request.config.getoption("--e2e-tools"))
    project = load_project(ROOT)
    out = tmp_path_factory.mktemp("out")
    write_output(compile_project(project), out)
    running = Stack(project, out, tmp_path_factory.mktemp("stack"), tools)
    print(f"\n  on {tools.label}")
    started = time.monotonic()
    running.start()
    print(f"\n  stack started: {time.monotonic() - started:.1f} s")
    try:
        yield running
    finally:
        running.stop()
        assert all(p.poll() is not None for p in running.procs) or not running.procs


def _firing(stack: Stack) -> list[dict[str, Any]]:
    return [r["metric"] for r in stack.query('ALERTS{alertstate="firing"}')]


def test_1_rules_load_evaluate_and_stay_quiet_while_healthy(stack: Stack) -> None:
    def evaluated() -> bool:
        groups = stack.rule_groups()
        rules = [r for g in groups for r in g["rules"]]
        return bool(groups) and all(r["health"] == "ok" and r["lastEvaluation"] > "2000" for r in rules)

    _wait("every rule group loaded and evaluated without errors", evaluated, 60)
    groups = stack.rule_groups()
    assert {g["file"].rsplit("/", 1)[-1] for g in groups} == {"ai-provider.yml", "pup-api.yml", "pup-journeys.yml", "pup-workers.yml"}
    # One series per SLO, and per route for pup-api's latency (the demo serves three routes).
    series = sum(len(ROUTES) if slo.group_by else 1 for s in load_project(ROOT).services for slo in s.slos)
    _wait("SLO recordings have values", lambda: len(stack.query("slo:sli_error:ratio_rate5m")) == series, 30)
    _wait("the 1h window has values", lambda: len(stack.query("slo:sli_error:ratio_rate1h")) == series, 30)
    routes = {r["metric"].get("route") for r in stack.query('slo:sli_error:ratio_rate5m{slo="latency", service="pup-api"}')}
    assert routes == set(ROUTES)
    time.sleep(15)  # a quarter of an hour, at the demo's speed
    assert _firing(stack) == [], "alerts fired while the demo was healthy"
    assert stack.sink.alerts() == []


def test_2_total_outage_pages_the_owning_team_and_resolves(stack: Stack) -> None:
    stack.fault(service="pup-api", error_ratio=1)

    def paged() -> list:
        return [a for r, status, a in stack.sink.alerts("platform-critical")
                if status == "firing" and a["labels"].get("alertname") == "ErrorBudgetBurn"
                and a["labels"].get("service") == "pup-api" and a["labels"].get("long_window") == "1h"
                and a["labels"].get("slo") == "availability"]

    (alert, *_) = _wait("critical availability page at platform-critical", paged, 60)
    labels, annotations = alert["labels"], alert["annotations"]
    assert labels["severity"] == "critical" and labels["slo"] == "availability" and labels["team"] == "platform"
    assert labels["short_window"] == "5m" and labels["tier"] == "1"
    assert annotations["summary"] == "pup-api is burning its availability error budget 14.4x too fast."
    assert annotations["runbook_url"] == "https://runbooks.pup.ai/services/pup-api"
    assert annotations["dashboard_url"].startswith("https://grafana.pup.ai/d/service-pup-api/")
    assert "of events failed over the last 1h" in annotations["description"]
    # The blackbox probe of the public endpoint fails too: its probe SLO pages as well.
    _wait("the probe SLO pages", lambda: [a for r, status, a in stack.sink.alerts("platform-critical")
                                           if status == "firing" and a["labels"].get("slo") == "reachable"], 60)
    # The chat journey is made of pup-api's availability: it pages too, its own page.
    _wait("the chat journey pages", lambda: [a for r, status, a in stack.sink.alerts("platform-critical")
                                              if status == "firing" and a["labels"].get("service") == "pup-journeys"], 60)
    others = {r for r, _, a in stack.sink.alerts() if a["labels"].get("service") not in ("pup-api", "pup-journeys")}
    assert not others, f"other services alerted: {others}"

    stack.reset()
    _wait("resolved notification", lambda: [
        a for r, status, a in stack.sink.alerts("platform-critical")
        if status == "resolved" and a["labels"].get("long_window") == "1h" and a["labels"].get("service") == "pup-api"
    ], 90)


def test_3_queue_backlog_fires_and_routes_to_its_team(stack: Stack) -> None:
    stack.fault(queue="jobs", depth=20000)
    (alert, *_) = _wait("QueueBacklogHigh at platform-warning", lambda: [
        a for r, status, a in stack.sink.alerts("platform-warning")
        if status == "firing" and a["labels"].get("alertname") == "QueueBacklogHigh" and a["labels"].get("queue") == "jobs"
    ], 60)
    assert alert["labels"]["service"] == "pup-workers" and alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["runbook_url"].endswith("#queuebackloghigh")
    stack.reset()
