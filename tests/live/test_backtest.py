"""`obsgen backtest` against reality: a real Prometheus (both generations) backfilled with 30 hours of
history holding known incidents, replayed by obsgen, and the same history run through the generated
rules by promtool of the same generation: every alert of every tier and group fires at the same
minutes in both."""
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.stack import free_port, wait_ready
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.tools import Generation
from obsgen.pipeline.writer import write_output
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, generation_named, run_obsgen

pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("backtest")]

SPECS = FIXTURES / "backtest"
MINUTES = 1800  # 30 hours, one sample a minute
RATES = {"/a": 100, "/b": 20}  # requests a minute
OUTAGE = range(300, 330)  # every request fails
SLOW_BURN = range(500, 1000)  # 1.5% of /a fails (the budget is 0.1%)
ROUTE_OUTAGE = range(1200, 1230)  # every request to /b fails
LOW_TRAFFIC = range(1400, 1500)  # one request to /a every 10 minutes, the 3rd and 6th failing
GAP = range(1600, 1630)  # not scraped


def requests_at(minute: int) -> dict[tuple[str, str], int]:
    """(route, code) -> requests in this minute."""
    out = {(route, code): 0 for route in RATES for code in ("200", "500")}
    for route, rate in RATES.items():
        if minute in LOW_TRAFFIC:
            if route == "/a" and minute % 10 == 0:
                out[(route, "500" if (minute - LOW_TRAFFIC.start) // 10 in (2, 5) else "200")] = 1
            continue
        failed = 0
        if minute in OUTAGE or (minute in ROUTE_OUTAGE and route == "/b"):
            failed = rate
        elif minute in SLOW_BURN and route == "/a":
            failed = 1 + minute % 2  # 1.5 a minute
        out[(route, "500")], out[(route, "200")] = failed, rate - failed
    return out


def history() -> dict[tuple[str, str], list[int | None]]:
    """Each counter's value at each minute; None where the scrape failed."""
    totals = {key: 0 for key in requests_at(0)}
    out: dict[tuple[str, str], list[int | None]] = {key: [] for key in totals}
    for minute in range(MINUTES):
        for key, count in requests_at(minute).items():
            totals[key] += count
            out[key].append(None if minute in GAP else totals[key])
    return out


def _labels(route: str, code: str) -> str:
    return f'shop_requests_total{{route="{route}", code="{code}"}}'


def openmetrics(start: int) -> str:
    lines = ["# TYPE shop_requests counter"]
    for (route, code), values in history().items():
        lines += [f'shop_requests_total{{route="{route}",code="{code}"}} {v} {start + 60 * m}' for m, v in enumerate(values) if v is not None]
    return "\n".join(lines) + "\n# EOF\n"


def promtool_values(values: list[int | None]) -> str:
    return " ".join("_" if v is None else str(v) for v in values)


@contextmanager
def _serving(generation: Generation, work: Path, extra: Callable[[int], list[str]] = lambda start: []) -> Iterator[tuple[str, int, Generation]]:
    """A Prometheus of `generation` on loopback holding the history, which ended an hour ago, and
    the OpenMetrics lines `extra` gives for the history's start."""
    start = (int(time.time()) // 3600 - 1) * 3600 - MINUTES * 60
    (work / "history.om").write_text(openmetrics(start).replace("# EOF\n", "\n".join([*extra(start), "# EOF\n"])))
    data = work / "data"
    subprocess.run([generation.need("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(work / "history.om"), str(data)],
                   check=True, capture_output=True)
    (work / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
    port = free_port()
    proc = subprocess.Popen([generation.need("prometheus"), f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
                             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=30d"],
                            stdout=subprocess.DEVNULL, stderr=(work / "prometheus.log").open("w"))
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready", f"Prometheus (log: {work / 'prometheus.log'})", timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}", start, generation
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module", params=["debian", "current"])
def backfilled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Generation]]:
    """The history in a Prometheus of each generation, for the proof."""
    with _serving(generation_named(request.param), tmp_path_factory.mktemp(f"backtest-{request.param}")) as served:
        yield served


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Generation]]:
    """The history in Prometheus 3, for what does not depend on the server: what-if, mistakes, the page."""
    with _serving(generation_named("current"), tmp_path_factory.mktemp("backtest-history")) as it:
        yield it


def _backtest(url: str, start: int, *extra: str) -> subprocess.CompletedProcess[str]:
    end = start + (MINUTES - 1) * 60
    return run_obsgen("backtest", "--specs", str(SPECS), "--prometheus", url, "--from", str(start), "--to", str(end), *extra)


def _firing_minutes(run: dict[str, Any], start: int) -> dict[tuple[tuple[str, str], ...], set[int]]:
    """Per alert (its identifying labels), the minutes from the history's start it fired."""
    out: dict[tuple[tuple[str, str], ...], set[int]] = {}
    for slo in run["slos"]:
        for alert in slo["alerts"]:
            labels = {"alertname": alert["alertname"], "service": slo["service"], "slo": slo["slo"], **alert["group"]}
            if alert["long_window"]:
                labels["long_window"] = alert["long_window"]
            key = tuple(sorted(labels.items()))
            out.setdefault(key, set()).update(range((alert["start"] - start) // 60, (alert["end"] - start) // 60))
    return out


def _proof(out: Path, fired: dict[tuple[tuple[str, str], ...], set[int]], alerts: list[dict[str, str]]) -> Path:
    """A promtool test over the same history: each alert fires exactly the minutes backtest says."""
    checks = []
    for labels in alerts:
        key = tuple(sorted(labels.items()))
        minutes = fired.get(key, set())
        selector = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        expr = f'sum(count_over_time(ALERTS{{alertstate="firing", {selector}}}[{MINUTES + 1}m]))'
        checks.append({"expr": expr, "eval_time": f"{MINUTES - 1}m",
                       "exp_samples": [{"labels": "{}", "value": len(minutes)}] if minutes else []})
        for minute in sorted(minutes):  # every first and last minute of a firing, and the minutes around it
            if minute - 1 not in minutes or minute + 1 not in minutes:
                for at in (minute - 1, minute, minute + 1):
                    if 0 <= at < MINUTES:
                        checks.append({"expr": f'count(ALERTS{{alertstate="firing", {selector}}})', "eval_time": f"{at}m",
                                       "exp_samples": [{"labels": "{}", "value": 1}] if at in minutes else []})
    # The paging groups only, as backtest replays them (the period groups page on nothing).
    paging = {"groups": [yaml.safe_load(p.read_text())["groups"][0] for p in sorted((out / "prometheus" / "tests" / "rules").glob("*.slo.yml"))]}
    assert all(not g["name"].endswith(":period") for g in paging["groups"])
    (out / "paging.yml").write_text(yaml.safe_dump(paging, sort_keys=False))
    doc = {
        "rule_files": [str(out / "paging.yml")],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [{"series": _labels(*key), "values": promtool_values(values)}
                                                      for key, values in history().items()],
                   "promql_expr_test": checks}],
    }
    path = out / "backtest.test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_backtest_fires_at_the_minutes_promtool_does(backfilled: tuple[str, int, Generation], tmp_path: Path) -> None:
    url, start, generation = backfilled
    result = _backtest(url, start, "--format", "json")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    fired = _firing_minutes(run, start)
    slos = {s["slo"]: s for s in run["slos"]}
    # The history's incidents, as an SRE reads them: the outage and the route outage page, the slow
    # burn pages and tickets, the low-traffic blip is held back by the guard.
    pages = {(a["long_window"], tuple(a["group"].items()), (a["start"] - start) // 60) for a in slos["availability"]["alerts"]
             if a["severity"] == "critical"}
    assert any(OUTAGE.start <= minute < OUTAGE.stop for _, _, minute in pages), pages
    assert any(SLOW_BURN.start <= minute < SLOW_BURN.stop for _, _, minute in pages), pages
    route_pages = [a for a in slos["by-route"]["alerts"] if a["severity"] == "critical"
                   and ROUTE_OUTAGE.start <= (a["start"] - start) // 60 < ROUTE_OUTAGE.stop]
    assert {a["group"]["route"] for a in route_pages} == {"/b"}

    out = tmp_path / "out"
    write_output(compile_project(load_project(SPECS)), out)
    every = [{"alertname": "ErrorBudgetBurn", "service": "shop", "slo": slo["slo"], "long_window": w, **group}
             for slo in run["slos"] for w in ("1h", "6h", "1d", "3d")
             for group in ([{}] if slo["slo"] == "availability" else [{"route": r} for r in RATES])]
    proof = _proof(out, fired, every)
    checked = subprocess.run([generation.need("promtool"), "test", "rules", str(proof)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]


def test_a_lower_objective_compared_with_the_spec(served: tuple[str, int, Generation]) -> None:
    url, start, _ = served
    text = _backtest(url, start, "--slo", "shop/availability", "--objective", "99", "--compare")
    assert text.returncode == 0, text.stderr
    assert "spec against override" in text.stdout and "paged after (spec)" in text.stdout
    data = json.loads(_backtest(url, start, "--slo", "shop/availability", "--objective", "99", "--compare", "--format", "json").stdout)
    spec, override = ({s["slo"]: s for s in run["slos"]}["availability"] for run in data["runs"])
    # Ten times the budget: the slow burn (1.5% errors) no longer pages; the outage (100%) still does.
    assert override["pages"] < spec["pages"]
    outage = [i for i in data["incidents"] if i["start"] <= start + OUTAGE.stop * 60 and i["end"] > start + OUTAGE.start * 60]
    assert outage and all(v is not None for v in outage[0]["detected_after_seconds"].values())
    slow = [i for i in data["incidents"] if start + SLOW_BURN.start * 60 <= i["start"] < start + SLOW_BURN.stop * 60]
    assert slow and slow[0]["detected_after_seconds"]["override"] is None and slow[0]["detected_after_seconds"]["spec"] > 0


def test_max_pages_fails_a_review_and_mistakes_are_exit_2(served: tuple[str, int, Generation], tmp_path: Path) -> None:
    url, start, _ = served
    over = _backtest(url, start, "--max-pages", "0")
    assert over.returncode == 1 and "shop/availability would page" in over.stderr and "more than --max-pages 0" in over.stderr
    assert _backtest(url, start, "--max-pages", "1000").returncode == 0

    tiers = tmp_path / "tiers.yaml"
    tiers.write_text("tiers:\n  - severity: critical\n    long: 1h\n    short: 7m\n    burn_rate: 14.4\n")
    bad = _backtest(url, start, "--tiers", str(tiers))
    assert bad.returncode == 2 and "tiers.yaml:4: tiers[0].short: 7m is not a multiple of 5m" in bad.stderr and "Traceback" not in bad.stderr
    tiers.write_text("tiers:\n  - severity: critical\n    long: 2h\n    short: 10m\n    burn_rate: 10\n")
    custom = json.loads(_backtest(url, start, "--tiers", str(tiers), "--format", "json").stdout)
    assert {a["long_window"] for s in custom["runs"][0]["slos"] for a in s["alerts"] if a["alertname"] == "ErrorBudgetBurn"} == {"2h"}

    hour = ("--from", str(start), "--to", str(start + 3600))
    unknown = run_obsgen("backtest", "--specs", str(SPECS), "--prometheus", url, *hour, "--slo", "shop/nope")
    early = run_obsgen("backtest", "--specs", str(SPECS), "--prometheus", url, "--from", str(start - 86400), "--to", str(start + 3600))
    for result, message in [(unknown, "--slo shop/nope: no such SLO"), (early, "the range starts before the data: shop/availability from")]:
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr

    renamed = tmp_path / "specs"
    (renamed / "slo").mkdir(parents=True)
    (renamed / "slo" / "shop.yaml").write_text((SPECS / "slo" / "shop.yaml").read_text().replace("shop_requests_total", "shop_calls_total"))
    missing = run_obsgen("backtest", "--specs", str(renamed), "--prometheus", url, *hour)
    assert missing.returncode == 2 and "no series for shop/availability, shop/by-route" in missing.stderr
    down = run_obsgen("backtest", "--specs", str(SPECS), "--prometheus", f"http://127.0.0.1:{free_port()}", "--since", "1d", "--timeout", "2")
    assert down.returncode == 2 and "Traceback" not in down.stderr, down.stderr


def test_the_timeline_page_renders_in_a_browser(served: tuple[str, int, Generation], tmp_path: Path) -> None:
    from tests.live.test_report import _browser, _console_errors

    url, start, _ = served
    site = tmp_path / "site"
    written = _backtest(url, start, "--format", "html", "--site", str(site))
    assert written.returncode == 0 and "2 SLO timelines" in written.stdout, written.stderr
    page = site / "backtest.html"
    dom = _browser(page, "--dump-dom")
    assert "<h2>shop/availability (99.9%)</h2>" in dom.stdout and "<h2>shop/by-route (99.9%)</h2>" in dom.stdout
    assert dom.stdout.count("<svg") == 4 and 'fill-opacity="0.25"' in dom.stdout  # two charts per SLO, alerts shaded
    assert not _console_errors(dom.stderr)
    shot = tmp_path / "backtest.png"
    taken = _browser(page, f"--screenshot={shot}", "--window-size=1000,1600")
    assert taken.returncode == 0 and shot.stat().st_size > 20_000 and not _console_errors(taken.stderr)
