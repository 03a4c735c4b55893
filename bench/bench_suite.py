#!/usr/bin/env python3
"""The generated promtool suite's time at fleet sizes, so users can plan CI: compile N synthetic
services (3 SLOs each, bench_compile.py's spec), then run every generated test file with the
promtool on PATH (or --promtool), as `obsgen validate` does: one promtool per file, on every core,
largest first. Prints wall and CPU seconds, and both per SLO (which must not grow with N).

Usage: bench/bench_suite.py [--promtool PATH] [SIZES...]   (default sizes 1 10; 100 takes about
100 x the per-SLO CPU time / cores)
"""
from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_compile import SPEC
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.tools import Generation
from obsgen.pipeline.validate import promtool_test_rules
from obsgen.pipeline.writer import write_output
from obsgen.spec.load import load_project


def run(size: int, promtool: str) -> tuple[float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        slo = Path(tmp, "specs", "slo")
        slo.mkdir(parents=True)
        for i in range(size):
            (slo / f"svc-{i:04d}.yaml").write_text(SPEC.format(i=i, team=i % 7, tier=i % 3))
        project = load_project(slo.parent)
        out = Path(tmp, "out")
        write_output(compile_project(project), out)
        files = len(list((out / "prometheus" / "tests").glob("*.test.yml")))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        findings = promtool_test_rules(out, Generation("bench", promtool, None))
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if findings:
            raise SystemExit("\n".join(str(f) for f in findings))
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu, files, sum(len(s.slos) for s in project.services)


def main(argv: list[str]) -> int:
    promtool = shutil.which("promtool") or ""
    if argv[:1] == ["--promtool"]:
        promtool, argv = argv[1], argv[2:]
    if not promtool:
        print("(no promtool: run `make tools` for the suite's figures)")
        return 0
    sizes = [int(a) for a in argv] or [1, 10]
    print(f"\ngenerated promtool suite, {promtool}, {os.cpu_count()} cores, one promtool per file:")
    print(f"{'services':>8} {'SLOs':>5} {'files':>5} {'wall s':>8} {'cpu s':>8} {'wall s/SLO':>10} {'cpu s/SLO':>9}")
    for size in sizes:
        wall, cpu, files, slos = run(size, promtool)
        print(f"{size:>8} {slos:>5} {files:>5} {wall:>8.1f} {cpu:>8.1f} {wall / slos:>10.2f} {cpu / slos:>9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
