#!/usr/bin/env python3
"""Compile synthetic specs of 10, 100 and 1,000 services (3 SLOs each) and report the cost; then,
side by side with Sloth, the same SLOs compiled to Prometheus rules only.

Each size runs in its own process, so peak memory (max RSS) is that size's alone; from 64
services on, obsgen compiles on every core, and the largest worker's RSS is shown too.
Targets on a 2-core machine: 1,000 services in at most 5 s and 500 MB, time growing linearly.

Sloth (`.tools/bin/sloth`, built by `make tools`) gets the same SLOs as `prometheus/v1` specs, one
file per service, with the same queries (a latency SLI as requests over the threshold bucket); it
writes rules only, so obsgen is timed writing rules only too (`--rules-only`), and in full.
Usage: bench/bench_compile.py [--runs N] [SIZES...]
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """\
service: svc-{i}
team: team-{team}
runbook: https://runbooks.example.com/svc-{i}
labels: {{tier: "{tier}"}}
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{{job="svc-{i}", code=~"5.."}}
        total: http_requests_total{{job="svc-{i}"}}
    min_events: 50
  - name: latency
    objective: 99
    period: 28d
    sli:
      latency:
        histogram: http_request_duration_seconds{{job="svc-{i}"}}
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
        threshold: 0.5
    alerting: {{warning: false}}
  - name: jobs
    objective: 99.5
    period: 7d
    sli:
      ratio:
        good: jobs_total{{job="svc-{i}", outcome="ok"}}
        total: jobs_total{{job="svc-{i}"}}
"""


SLOTH_SLOS = """\
version: prometheus/v1
service: svc-{i}
labels: {{tier: "{tier}"}}
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{{job="svc-{i}", code=~"5.."}}[{{{{.window}}}}]))
        total_query: sum(rate(http_requests_total{{job="svc-{i}"}}[{{{{.window}}}}]))
    alerting: {{name: ErrorBudgetBurn, page_alert: {{labels: {{severity: critical}}}}, ticket_alert: {{labels: {{severity: warning}}}}}}
  - name: latency
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{{job="svc-{i}"}}[{{{{.window}}}}])) - sum(rate(http_request_duration_seconds_bucket{{job="svc-{i}", le="0.5"}}[{{{{.window}}}}]))
        total_query: sum(rate(http_request_duration_seconds_count{{job="svc-{i}"}}[{{{{.window}}}}]))
    alerting: {{name: ErrorBudgetBurn, page_alert: {{labels: {{severity: critical}}}}, ticket_alert: {{disable: true}}}}
  - name: jobs
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(jobs_total{{job="svc-{i}"}}[{{{{.window}}}}])) - sum(rate(jobs_total{{job="svc-{i}", outcome="ok"}}[{{{{.window}}}}]))
        total_query: sum(rate(jobs_total{{job="svc-{i}"}}[{{{{.window}}}}]))
    alerting: {{name: ErrorBudgetBurn, page_alert: {{labels: {{severity: critical}}}}, ticket_alert: {{labels: {{severity: warning}}}}}}
"""
SLOTH = Path(__file__).resolve().parent.parent / ".tools" / "bin" / "sloth"


def rules_only(specs: str, out: str) -> None:
    """Runs in a fresh interpreter: load, then write each service's Prometheus rule file and nothing else."""
    from obsgen.core.rules import rule_file
    from obsgen.core.yaml_text import to_yaml
    from obsgen.pipeline.writer import HEADER, write_output
    from obsgen.prometheus import slo_rules
    from obsgen.spec.load import load_project

    project = load_project(Path(specs))
    write_output({f"{s.name}.yml": HEADER + to_yaml(rule_file(slo_rules.rule_groups(s))) for s in project.services}, Path(out))


def child(specs: str, out: str) -> None:
    """Runs in a fresh interpreter: import, load, then compile and write, as `obsgen generate` does."""
    start = time.perf_counter()
    from obsgen.pipeline.compile import write_project
    from obsgen.spec.load import load_project

    imported = time.perf_counter()
    project = load_project(Path(specs))
    loaded = time.perf_counter()
    files = write_project(project, Path(out))
    done = time.perf_counter()
    # Deployed rules only: prometheus/tests/rules/ holds copies of them for the generated tests.
    written = [p for p in Path(out).rglob("*") if p.is_file()]
    rules = sum(t.count("\n  - record: ") + t.count("\n  - alert: ") for t in (p.read_text() for p in Path(out, "prometheus", "rules").glob("*.yml")))
    print(json.dumps({
        "imports": imported - start, "load": loaded - imported, "generate": done - loaded, "total": done - start,
        "rules": rules, "files": files, "bytes": sum(p.stat().st_size for p in written),
        # Parent plus the largest worker: an upper bound on what was resident at once per process.
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def run(size: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        slo = Path(tmp, "specs", "slo")
        slo.mkdir(parents=True)
        for i in range(size):
            (slo / f"svc-{i:04d}.yaml").write_text(SPEC.format(i=i, team=i % 7, tier=i % 3))
        wall = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(slo.parent), str(Path(tmp, "out"))],
            capture_output=True, text=True, check=True,
        )
        result = json.loads(proc.stdout)
        result["wall"] = time.perf_counter() - wall  # includes interpreter start-up
        result["size"] = size
        return result


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - start


def _count_rules(folder: Path) -> int:
    return sum(t.count("- record: ") + t.count("- alert: ") for t in (p.read_text() for p in folder.rglob("*.y*ml")))


def versus_sloth(size: int, runs: int) -> None:
    """The same SLOs through Sloth and through obsgen, whole processes, median of `runs`."""
    if not SLOTH.exists():
        print(f"\n(no Sloth at {SLOTH}: run `make tools` for the side-by-side figures)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp, "specs", "slo"), Path(tmp, "sloth-specs")
        ours.mkdir(parents=True)
        theirs.mkdir()
        for i in range(size):
            (ours / f"svc-{i:04d}.yaml").write_text(SPEC.format(i=i, team=i % 7, tier=i % 3))
            (theirs / f"svc-{i:04d}.yaml").write_text(SLOTH_SLOS.format(i=i, tier=i % 3))
        times: dict[str, list[float]] = {"sloth": [], "rules": [], "full": []}
        for run_ in range(runs):
            Path(tmp, f"sloth-out-{run_}").mkdir()  # Sloth writes into an existing folder
            times["sloth"].append(_timed([str(SLOTH), "generate", "-i", str(theirs), "-o", f"{tmp}/sloth-out-{run_}"]))
            times["rules"].append(_timed([sys.executable, __file__, "--rules-only", str(ours.parent), f"{tmp}/rules-{run_}"]))
            times["full"].append(_timed([sys.executable, __file__, "--child", str(ours.parent), f"{tmp}/full-{run_}"]))
        sloth_rules, obsgen_rules = _count_rules(Path(tmp, "sloth-out-0")), _count_rules(Path(tmp, "rules-0"))
        median = {k: statistics.median(v) for k, v in times.items()}
        print(f"\n{size} services x 3 SLOs, Prometheus rules only, whole processes, median of {runs}:")
        per_k = {k: median[k] / n * 1000 for k, n in (("sloth", sloth_rules), ("rules", obsgen_rules))}
        print(f"  sloth  {median['sloth']:6.2f} s  ({sloth_rules:,} rules, {per_k['sloth'] * 1000:.1f} ms per 1,000)")
        print(f"  obsgen {median['rules']:6.2f} s  ({obsgen_rules:,} rules, {per_k['rules'] * 1000:.1f} ms per 1,000)"
              f"   time sloth / obsgen = {median['sloth'] / median['rules']:.2f}x, per rule {per_k['sloth'] / per_k['rules']:.2f}x")
        print(f"  obsgen full output (rules, promtool tests, dashboards, report) {median['full']:.2f} s"
              f"   sloth / obsgen full = {median['sloth'] / median['full']:.2f}x")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(*argv[1:3])
        return 0
    if argv[:1] == ["--rules-only"]:
        rules_only(*argv[1:3])
        return 0
    runs = 3
    if argv[:1] == ["--runs"]:
        runs, argv = int(argv[1]), argv[2:]
    sizes = [int(a) for a in argv] or [10, 100, 1000]
    # generate: compile and write, overlapped (each worker writes the files it compiles).
    print(f"{'services':>8} {'SLOs':>6} {'rules':>7} {'import s':>8} {'load s':>7} {'generate s':>10} "
          f"{'wall s':>7} {'s/1k svc':>8} {'RSS MB':>7} {'worker MB':>9} {'output MB':>9}")
    for size in sizes:
        r = run(size)
        print(f"{size:>8} {size * 3:>6} {r['rules']:>7} {r['imports']:>8.2f} {r['load']:>7.2f} {r['generate']:>10.2f} "
              f"{r['wall']:>7.2f} {r['wall'] / size * 1000:>8.2f} {r['max_rss_mb']:>7.0f} {r['worker_rss_mb']:>9.0f} "
              f"{r['bytes'] / 1e6:>9.1f}")
    versus_sloth(max(sizes), runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
