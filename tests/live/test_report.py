"""`obsgen report` against the demo's real Prometheus after an outage, opened in a real browser.

Chromium (Debian's, headless) loads the generated pages: they render, every chart is there with its
text alternative, the numbers in the tables are what a direct PromQL query gives, and the browser
logs no console error. A screenshot goes to the test's temp folder.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from demo.stack import Stack, free_port
from obsgen.live import attainment, site
from tests.conftest import ROOT, run_obsgen

pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("live")]  # one demo stack for the live package (conftest.py)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium missing: run `make tools` (Debian package chromium)")
    return found


def _browser(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         *args, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def after_outage(demo: Stack, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, float]:
    """The report site, written after an 8-second total outage of pup-api (8 minutes at the demo's speed)."""
    demo.fault(service="pup-api", error_ratio=1)
    time.sleep(8)
    demo.reset()
    time.sleep(4)
    end = time.time()
    start = demo.started - 600
    folder = tmp_path_factory.mktemp("site")
    result = run_obsgen("report", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--site", str(folder),
                        "--from", f"{start:.3f}", "--to", f"{end:.3f}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"8 SLOs of 4 services -> 5 pages in {folder}" in result.stdout
    return folder, start, end


def test_the_page_renders_with_every_chart_and_no_console_error(after_outage: tuple[Path, float, float], tmp_path: Path) -> None:
    folder, _, _ = after_outage
    page = folder / "pup-api.html"
    dom = _browser(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>pup-api</h1>" in dom.stdout and not _console_errors(dom.stderr)
    # Four SLOs with events: a burn-down and a burn-rate chart each, each with a title and a description.
    charts = re.findall(r'<svg role="img" aria-labelledby="([^"]+)"', dom.stdout)
    assert len(charts) == 8, charts
    for ids in charts:
        for part in ids.split():
            assert f'id="{part}"' in dom.stdout
    assert "Worst route over the period" in dom.stdout  # the per-route latency SLO
    assert "ErrorBudgetBurn" in dom.stdout and "long_window=1h" in dom.stdout  # the page the outage raised
    shot = tmp_path / "pup-api.png"
    taken = _browser(page, "--window-size=1100,2400", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.stat().st_size > 20_000 and not _console_errors(taken.stderr)
    index = _browser(folder / "index.html", "--dump-dom")
    assert "Team platform" in index.stdout and 'href="pup-api.html#availability"' in index.stdout and not _console_errors(index.stderr)


def test_the_numbers_are_what_promql_says(after_outage: tuple[Path, float, float], demo: Stack) -> None:
    folder, _, end = after_outage
    dom = _browser(folder / "pup-api.html", "--dump-dom").stdout
    section = dom[dom.index('id="availability"'):dom.index('id="accounts"')]
    shown = {field: value for field, value in re.findall(r'data-field="([a-z-]+)">([^<]+)<', section)}
    errors = 'sum(increase(http_requests_total{job="pup-api", code=~"5.."}[30d]))'
    events = 'sum(increase(http_requests_total{job="pup-api"}[30d]))'
    direct = {e: float(demo.query_at(e, end)[0]["value"][1]) for e in (errors, events)}
    assert direct[errors] > 0  # the outage is in the range
    assert shown["events"] == f"{direct[events]:,.0f}" and shown["errors"] == f"{direct[errors]:,.0f}"
    assert shown["sli"] == f"{1 - direct[errors] / direct[events]:.3%}"
    assert shown["budget-left"] == f"{1 - direct[errors] / (0.001 * direct[events]):.1%}"
    assert "missed" in section
    # The deploy gate at the report's end says what `obsgen gate` says then: the 8-minute outage
    # spent more than the 30d budget of the demo's short history, so it blocks.
    assert shown["gate"] == "blocked" and "the budget is spent" in section


def test_the_index_has_every_slos_deploy_gate(after_outage: tuple[Path, float, float], demo: Stack) -> None:
    folder, _, end = after_outage
    index = (folder / "index.html").read_text()
    decisions = re.findall(r'data-field="gate">([^<]+)<', index)
    assert len(decisions) == 8 and set(decisions) <= {"go", "blocked", "cannot decide"}
    result = run_obsgen("gate", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--slo", "pup-api/availability",
                        "--at", f"{end:.3f}", "--format", "json")
    row = next(r for r in index.split("<tr>") if ">pup-api / availability<" in r)
    assert re.search(r'data-field="gate">([^<]+)<', row)[1] == json.loads(result.stdout)["slos"][0]["decision"]  # type: ignore[index]


def test_no_traffic_is_said_plainly_not_divided_by(demo: Stack, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "slo", specs / "slo")
    with (specs / "slo" / "pup-api.yaml").open("a") as spec:
        spec.write("\n  - name: exports\n    objective: 99\n    sli:\n      ratio:\n"
                   "        errors: pup_exports_total{outcome=\"failed\"}\n        total: pup_exports_total\n")
    ok = run_obsgen("report", "--specs", str(specs), "--prometheus", demo.prom_url, "--site", str(tmp_path / "site"))
    assert ok.returncode == 0, ok.stderr
    assert "note: pup-api/exports: no events in its period" in ok.stdout
    page = (tmp_path / "site" / "pup-api.html").read_text()
    exports = page[page.index('id="exports"'):]
    assert "no events in this range: nothing to measure" in exports and "nan" not in exports.lower()

    # A range before anything was scraped: nothing at all to report.
    long_ago = demo.started - 86400
    empty = run_obsgen("report", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--site", str(tmp_path / "old"),
                       "--from", f"{long_ago - 3600:.0f}", "--to", f"{long_ago:.0f}")
    assert empty.returncode == 1 and "no SLO has any events in the range" in empty.stderr and "Traceback" not in empty.stderr


def test_bad_input(demo: Stack, tmp_path: Path) -> None:
    down = run_obsgen("report", "--specs", str(ROOT), "--prometheus", f"http://127.0.0.1:{free_port()}", "--timeout", "2",
                      "--site", str(tmp_path / "a"))
    assert down.returncode == 1 and "cannot reach Prometheus" in down.stderr and not (tmp_path / "a").exists()
    backwards = run_obsgen("report", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--from", "2026-11-02", "--to", "2026-11-01")
    assert backwards.returncode == 1 and "--from must be before --to" in backwards.stderr
    not_a_time = run_obsgen("report", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--from", "last tuesday")
    assert not_a_time.returncode == 2 and "is not a time" in not_a_time.stderr
    a_file = tmp_path / "file"
    a_file.write_text("x")
    clash = run_obsgen("report", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--site", str(a_file))
    assert clash.returncode == 4 and "is a file" in clash.stderr


def test_months_and_weeks_are_calendar_spans_cut_to_the_range() -> None:
    start, end = 1_790_000_000.0, 1_796_000_000.0  # 2026-09-21 .. 2026-11-29
    found = attainment.months(start, end)
    assert [m.label for m in found] == ["September 2026", "October 2026", "November 2026"]
    assert found[0].start == start and found[-1].end == end and found[0].end == found[1].start
    weeks = attainment.weeks(start, end)
    assert weeks[0].label == "2026-W39" and all(w.seconds <= 7 * 86400 for w in weeks) and weeks[-1].end == end


def test_a_span_without_events_has_no_ratio() -> None:
    empty = attainment.Attainment(attainment.Span("x", 0, 3600), 0.0, 0.0, 0.001)
    assert empty.no_traffic and empty.sli is None and empty.budget_left is None
    assert "no events in this range" in site._status(empty, 99.9)
