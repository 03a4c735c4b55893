"""`obsgen check` against the demo's real Prometheus: the bundled specs pass, broken copies are caught."""
from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from demo.stack import Stack, free_port
from obsgen.core import promql
from obsgen.live import check
from tests.conftest import FIXTURES, ROOT, project_at, run_obsgen

pytestmark = pytest.mark.xdist_group("live")  # one demo stack for the live package (conftest.py)


def test_every_selector_of_the_specs_is_a_target() -> None:
    found = {(t.service, t.what): t for t in check.targets(project_at(ROOT))}
    assert found[("pup-api", "availability: total")].sli and not found[("pup-api", "availability: errors")].sli
    assert found[("pup-api", "latency: buckets")].buckets == (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
    assert found[("pup-api", "reachable: probe")].selector.name == "probe_success"
    assert not found[("pup-workers", "queue jobs: depth")].sli and not found[("pup-api", "dashboard: cpu")].sli
    kinds = {(t.service, t.what) for t in check.targets(project_at(FIXTURES / "slo-kinds"))}
    assert ("search", "latency: native histogram") in kinds


@pytest.mark.parametrize(("now", "day", "bounds", "level", "fragment"), [
    (3, 3, {0.1, 0.5, 1.0, float("inf")}, "ok", "ok"),
    (0, 0, None, "error", "selects no series now or in the last 1d"),
    (0, 2, None, "error", "none now"),
    (3, 3, {0.1, 1.0, float("inf")}, "error", "declared bucket(s) 0.5 not exposed"),
    (3, 3, {0.1, 0.25, 0.5, 1.0, float("inf")}, "warning", "also has bucket(s) 0.25"),
])
def test_verdicts(now: int, day: int, bounds: set[float] | None, level: str, fragment: str) -> None:
    target = check.Target("api", "latency: buckets", promql.Selector.of("h_bucket"), True, (0.1, 0.5, 1))
    found = check.verdict(target, now, day, bounds)
    assert found[0] == level and fragment in found[1]
    ops = check.Target("api", "queue q: depth", promql.Selector.of("depth"), False)
    assert check.verdict(ops, 0, 0)[0] == "warning"  # not an SLI: its alerts are not the SLO's


@pytest.mark.tools
def test_the_bundled_specs_pass_on_the_demo(demo: Stack) -> None:
    result = run_obsgen("check", "--specs", str(ROOT), "--prometheus", demo.prom_url, "--format", "json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == 0 and report["warnings"] == 0, [f for f in report["findings"] if f["level"] != "ok"]
    by = {(f["service"], f["what"]): f for f in report["findings"]}
    assert by[("pup-api", "latency: cardinality")]["extra"] == {"series": 3.0, "groups": 3.0}  # three routes
    table = run_obsgen("check", "--specs", str(ROOT), "--prometheus", demo.prom_url)
    assert table.returncode == 0 and "0 error(s), 0 warning(s)" in table.stdout


@pytest.mark.tools
def test_broken_copies_are_caught(demo: Stack, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "slo", specs / "slo")
    api = specs / "slo" / "pup-api.yaml"
    text = api.read_text()
    text = text.replace('total: http_requests_total{job="pup-api"}', 'total: http_request_total{job="pup-api"}')  # renamed metric
    text = text.replace("buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]", "buckets: [0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10]")
    api.write_text(text)
    workers = specs / "slo" / "pup-workers.yaml"
    workers.write_text(workers.read_text().replace('job="pup-workers", outcome=~', 'job="pup-worker", outcome=~'))  # wrong label
    result = run_obsgen("check", "--specs", str(specs), "--prometheus", demo.prom_url, "--format", "json")
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr
    errors = {(f["service"], f["what"]): f["message"] for f in json.loads(result.stdout)["findings"] if f["level"] == "error"}
    assert "selects no series" in errors[("pup-api", "availability: total")]
    assert "declared bucket(s) 0.3 not exposed" in errors[("pup-api", "latency: buckets")]
    assert "selects no series" in errors[("pup-workers", "job-success: total")]
    assert len(errors) == 3


class _Refusing(BaseHTTPRequestHandler):
    """A Prometheus behind an auth proxy that refuses the token (and echoes the header back)."""

    def log_message(self, *args: object) -> None:
        pass

    def _refuse(self) -> None:
        body = f"denied: Authorization: {self.headers.get('Authorization')}".encode()
        self.send_response(401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse


@pytest.mark.tools
def test_unreachable_unauthorised_and_not_prometheus(demo: Stack, tmp_path: Path) -> None:
    down = run_obsgen("check", "--specs", str(ROOT), "--prometheus", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    assert down.returncode == 1 and "cannot reach Prometheus" in down.stderr and "Traceback" not in down.stderr
    not_prom = run_obsgen("check", "--specs", str(ROOT), "--prometheus", demo.demo_url)
    assert not_prom.returncode == 1 and "does not serve Prometheus's API" in not_prom.stderr
    no_scheme = run_obsgen("check", "--specs", str(ROOT), "--prometheus", "prometheus:9090")
    assert no_scheme.returncode == 1 and "must start with http:// or https://" in no_scheme.stderr

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = tmp_path / "token"
    token.write_text("s3cr3t-token-value\n")
    try:
        refused = run_obsgen("check", "--specs", str(ROOT), "--prometheus", f"http://127.0.0.1:{server.server_port}",
                             "--token-file", str(token))
    finally:
        server.shutdown()
    assert refused.returncode == 1 and "401" in refused.stderr and "--token-file" in refused.stderr
    assert "s3cr3t" not in refused.stdout + refused.stderr and "Bearer" not in refused.stderr
