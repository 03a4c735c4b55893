"""`obsgen backtest` and `obsgen gate` on the bundled example against the demo's real Prometheus 3:
every kind of SLI it has (ratio, latency, probe, per-route) replays from live series end to end.
(Named to run after the other live tests: by then the stack has the minutes of history it needs.)"""
from __future__ import annotations

import json
import time

import pytest

from demo.stack import Stack
from tests.conftest import ROOT, project_at, run_obsgen

pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("live")]  # one demo stack for the live package (conftest.py)


def _first_minute_with_rates(demo: Stack) -> int:
    """The first whole minute after every SLO of the example has an event rate on the demo's
    Prometheus (its own rules record them): a loaded machine can take a while to start the traffic."""
    wanted = {(s.name, slo.name) for s in project_at(ROOT).services for slo in s.slos}
    deadline = time.monotonic() + 90
    while not wanted <= (found := {(r["metric"]["service"], r["metric"]["slo"]) for r in demo.query("slo:sli_total:rate5m > 0")}):
        assert time.monotonic() < deadline, f"no event rate yet for {sorted(wanted - found)}"
        time.sleep(1)
    return -(-int(time.time()) // 60) * 60


def test_the_example_replays_from_the_demo(demo: Stack) -> None:
    start = _first_minute_with_rates(demo)
    while time.time() < start + 5:  # by the time the other live tests are done, no wait at all
        time.sleep(1)
    # From the minute before: its first evaluation has no data yet, the second has.
    result = run_obsgen("backtest", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--from", str(start - 60),
                        "--to", str(int(time.time())), "--format", "json")
    assert result.returncode == 0, result.stderr
    slos = json.loads(result.stdout)["runs"][0]["slos"]
    assert len(slos) == 8 and all(s["events"] > 0 for s in slos if s["slo"] != "reachable")
    gate = run_obsgen("gate", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--format", "json")
    assert gate.returncode in (0, 1), gate.stderr  # decided either way: every SLO has events
    assert {s["decision"] for s in json.loads(gate.stdout)["slos"]} <= {"go", "blocked"}
