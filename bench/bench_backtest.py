#!/usr/bin/env python3
"""How long `obsgen backtest` takes over a month of a fleet's history, on a real Prometheus 3.

Writes 30 days (plus the 3 days the windows need before) of 1-minute request counters for N
services, one availability SLO each, with an outage in every tenth, as OpenMetrics day files;
turns them into TSDB blocks with `promtool tsdb create-blocks-from openmetrics`; starts Prometheus
on them on loopback; and times `obsgen backtest --since 30d` over all the SLOs (the figure the
backtest issue sets: 100 SLOs in at most 60 s), printing the pages it found.

Usage: bench/bench_backtest.py [--services 100] [--days 30]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.stack import CURRENT_TOOLS, free_port, wait_ready  # noqa: E402
from obsgen.pipeline.tools import in_folder  # noqa: E402

MINUTE = 60
WARMUP_DAYS = 3
SPEC = """service: svc-{i:03d}
team: team-{team}
runbook: https://runbooks.example.com/svc-{i:03d}
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: requests_total{{service="svc-{i:03d}", code="500"}}
        total: requests_total{{service="svc-{i:03d}"}}
"""


def write_history(folder: Path, services: int, start: int, minutes: int) -> list[Path]:
    """A day per file (promtool reads a whole file once per 2-hour block it writes): every service
    fails one request in 400, and every tenth has a half-hour outage each week."""
    good, bad = [0] * services, [0] * services
    paths = []
    for day in range(-(-minutes // 1440)):
        lines = {code: [] for code in ("200", "500")}
        for m in range(day * 1440, min(minutes, (day + 1) * 1440)):
            for i in range(services):
                rate = 50 + (i % 7) * 20  # requests a minute
                errors = rate if i % 10 == 0 and m % 10080 in range(4000, 4030) else int(m % 400 == 0)
                good[i] += rate - errors
                bad[i] += errors
                lines["200"].append(f'requests_total{{service="svc-{i:03d}",code="200"}} {good[i]} {start + m * MINUTE}')
                lines["500"].append(f'requests_total{{service="svc-{i:03d}",code="500"}} {bad[i]} {start + m * MINUTE}')
        path = folder / f"day-{day:03d}.om"
        path.write_text("# TYPE requests counter\n" + "\n".join(sorted(lines["200"] + lines["500"], key=_series_then_time)) + "\n# EOF\n")
        paths.append(path)
    return paths


def _series_then_time(line: str) -> tuple[str, int]:
    series, _, at = line.rpartition(" ")
    return series.rsplit(" ", 1)[0], int(at)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    tools = in_folder(CURRENT_TOOLS)
    work = Path(tempfile.mkdtemp(prefix="obsgen-bench-backtest-"))
    try:
        minutes = (args.days + WARMUP_DAYS) * 1440
        start = (int(time.time()) // 86400 - args.days - WARMUP_DAYS) * 86400 - 86400
        stamp = time.perf_counter()
        for path in write_history(work, args.services, start, minutes):
            subprocess.run([tools.need("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(path), str(work / "data")],
                           check=True, capture_output=True)
            path.unlink()
        print(f"{args.services} services x {args.days + WARMUP_DAYS} days backfilled in {time.perf_counter() - stamp:.0f} s")
        specs = work / "specs" / "slo"
        specs.mkdir(parents=True)
        for i in range(args.services):
            (specs / f"svc-{i:03d}.yaml").write_text(SPEC.format(i=i, team=i % 5))
        (work / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
        port = free_port()
        proc = subprocess.Popen([tools.need("prometheus"), f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=400d"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(f"http://127.0.0.1:{port}/-/ready", "Prometheus", timeout=300, proc=proc)
            end = start + minutes * MINUTE - MINUTE
            stamp = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "obsgen", "backtest", "--specs", str(work / "specs"), "--prometheus",
                                     f"http://127.0.0.1:{port}", "--from", str(end - args.days * 86400), "--to", str(end),
                                     "--format", "json", "--timeout", "120"], capture_output=True, text=True, cwd=ROOT)
            seconds = time.perf_counter() - stamp
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            return 1
        runs = json.loads(result.stdout)["runs"][0]["slos"]
        pages = sum(s["pages"] for s in runs)
        print(f"backtest of {len(runs)} SLOs over {args.days} days: {seconds:.1f} s (target: 60 s for 100 SLOs), {pages} pages found")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
