"""The generated inhibitions in a real Alertmanager on loopback: Debian's 0.25 and the current release."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from demo.stack import free_port, wait_ready
from obsgen.alertmanager import config as alertmanager
from obsgen.core.yaml_text import to_yaml
from obsgen.pipeline.tools import Generation
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT

pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("alertmanager-live")]  # real Prometheus and Alertmanager processes


@pytest.fixture(scope="module")
def am_url(tmp_path_factory: pytest.TempPathFactory, generation: Generation) -> Iterator[str]:
    """The generated configuration in a real Alertmanager, of each generation in turn."""
    yield from _alertmanager(tmp_path_factory, generation, ROOT)


def _alertmanager(tmp_path_factory: pytest.TempPathFactory, generation: Generation, specs: Path) -> Iterator[str]:
    binary = generation.need("alertmanager")
    folder = tmp_path_factory.mktemp("alertmanager")
    config = folder / "alertmanager.yml"
    config.write_text(to_yaml(alertmanager.config(load_project(specs))))
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=(folder / "log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/-/ready", "Alertmanager", proc=proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _states(url: str, alerts: list[dict[str, str]], expected: dict[str, bool]) -> dict[str, bool]:
    """Post the alerts; return, per alert name given in `id`, whether Alertmanager inhibits it.

    Alertmanager feeds its inhibitor from a subscription, so an alert can be listed a moment before
    the alert that mutes it is seen as a source: wait for the expected state (or time out with the
    last one read), then read again a little later so a late wrong inhibition still fails.
    """
    payload = [{"labels": {k: v for k, v in a.items() if k != "id"} | {"case": a["id"]}} for a in alerts]
    requests.post(f"{url}/api/v2/alerts", json=payload, timeout=5).raise_for_status()

    def read() -> dict[str, bool]:
        listed = requests.get(f"{url}/api/v2/alerts", timeout=5).json()
        return {a["labels"]["case"]: bool(a["status"]["inhibitedBy"]) for a in listed if a["labels"].get("case") in expected}

    got: dict[str, bool] = {}
    for _ in range(100):
        got = read()
        if got == expected:
            time.sleep(0.5)
            return read()
        time.sleep(0.1)
    return got


def _burn(case: str, service: str, slo: str, severity: str, long_window: str, team: str = "platform") -> dict[str, str]:
    return {"id": case, "alertname": "ErrorBudgetBurn", "service": service, "slo": slo, "severity": severity,
            "team": team, "long_window": long_window}


def test_faster_tier_mutes_the_slower_for_the_same_slo_only(am_url: str) -> None:
    # Each case gets its own service name so earlier cases cannot inhibit it.
    expected = {"page-1h": False, "page-6h": True, "other-slo-6h": False, "ticket-1d": False, "ticket-3d": True}
    assert _states(am_url, [
        _burn("page-1h", "svc-a", "availability", "critical", "1h"),
        _burn("page-6h", "svc-a", "availability", "critical", "6h"),
        _burn("other-slo-6h", "svc-a", "latency", "critical", "6h"),
        _burn("ticket-1d", "svc-b", "availability", "warning", "1d"),
        _burn("ticket-3d", "svc-b", "availability", "warning", "3d"),
    ], expected) == expected


def test_a_page_mutes_the_ticket_for_the_same_slo(am_url: str) -> None:
    expected = {"page": False, "ticket": True, "ticket-elsewhere": False}
    assert _states(am_url, [
        _burn("page", "svc-c", "availability", "critical", "6h"),
        _burn("ticket", "svc-c", "availability", "warning", "1d"),
        _burn("ticket-elsewhere", "svc-d", "availability", "warning", "1d"),
    ], expected) == expected


def test_a_dependency_page_mutes_only_the_slos_that_depend_on_it(am_url: str) -> None:
    expected = {"provider-down": False, "jobs-failing": True, "api-failing": False}
    assert _states(am_url, [
        _burn("provider-down", "ai-provider", "success", "critical", "1h", team="ml-platform"),
        _burn("jobs-failing", "pup-workers", "job-success", "critical", "1h"),
        _burn("api-failing", "pup-api", "availability", "critical", "1h"),
    ], expected) == expected



@pytest.fixture(scope="module")
def composite_am_url(tmp_path_factory: pytest.TempPathFactory, generation: Generation) -> Iterator[str]:
    """The composite fixture's configuration (journeys/buy mutes its parts' pages) in a real Alertmanager."""
    yield from _alertmanager(tmp_path_factory, generation, FIXTURES / "composite")


def test_a_journey_page_mutes_its_parts_pages_only(composite_am_url: str) -> None:
    """journeys/buy (mute_parts): one page per incident. The parts' services' other SLOs still page,
    and so does a part of a part (shop/availability, inside journeys/checkout, which mutes nothing)."""
    expected = {"journey": False, "checkout-part": True, "latency-part": True, "shop-search": False, "inner-part": False}
    assert _states(composite_am_url, [
        _burn("journey", "journeys", "buy", "critical", "6h", team="web"),
        _burn("checkout-part", "journeys", "checkout", "critical", "1h", team="web"),
        _burn("latency-part", "shop", "latency", "critical", "1h", team="web"),
        _burn("shop-search", "shop", "search", "critical", "1h", team="web"),
        _burn("inner-part", "shop", "availability", "critical", "1h", team="web"),
    ], expected) == expected
