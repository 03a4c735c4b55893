#!/usr/bin/env python3
"""Push the dashboards of 300 services (307: a dashboard per service and 7 team SLO overviews of
about 43 services each, the largest ~60,000 lines) to a local server that follows Grafana's HTTP
API (tests/remote/fake_grafana.py), timing whole `obsgen push` and `obsgen plan` processes:

- the first push (everything created), a no-op push, and a push after one objective changed
  (its service dashboard and its team's overview change);
- `plan` after every objective changed (every dashboard differs: the diff's cost).

Targets (issue 16): first push <= 10 s, no-op push <= 3 s, one changed objective <= 5 s.
Usage: bench/bench_push.py [--services N] [--runs N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_compile import SPEC  # noqa: E402  (the same synthetic services as `make bench`)

from tests.remote.fake_grafana import EDITOR_TOKEN, FakeGrafana  # noqa: E402


def obsgen(*args: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "obsgen", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def write_specs(folder: Path, services: int, objective: str = "99.9") -> None:
    (folder / "slo").mkdir(parents=True, exist_ok=True)
    (folder / "obsgen.yaml").write_text("project: bench\n")
    for i in range(services):
        text = SPEC.format(i=i, team=i % 7, tier=i % 3)
        (folder / "slo" / f"svc-{i:04d}.yaml").write_text(text.replace("objective: 99.9", f"objective: {objective}", 1))


def generate(specs: Path, out: Path) -> None:
    _, proc = obsgen("generate", "--specs", str(specs), "--out", str(out))
    if proc.returncode != 0:
        sys.exit(proc.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        specs, out = Path(tmp) / "specs", Path(tmp) / "out"
        write_specs(specs, args.services)
        generate(specs, out)
        boards = len(list((out / "grafana" / "dashboards").glob("*/*.json")))
        size = sum(p.stat().st_size for p in (out / "grafana" / "dashboards").glob("*/*.json"))
        for _ in range(args.runs):
            with FakeGrafana() as grafana:
                env = {**os.environ, "GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": EDITOR_TOKEN}

                def timed(name: str, *extra: str, expect: int = 0, env: dict[str, str] = env) -> None:
                    seconds, proc = obsgen(*extra, "--out", str(out), env=env)
                    if proc.returncode != expect:
                        sys.exit(f"{name}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
                    rows.setdefault(name, []).append(seconds)

                generate(specs, out)
                timed("first push", "push")
                timed("no-op push", "push")
                write_specs(specs, 1, objective="99.95")  # svc-0000 only
                generate(specs, out)
                timed("push, one objective changed", "push")
                write_specs(specs, args.services, objective="99.5")
                generate(specs, out)
                timed("plan, every objective changed", "plan", expect=3)
                write_specs(specs, args.services)  # back to the start for the next run
    print(f"{boards} dashboards ({size / 1e6:.1f} MB of JSON) from {args.services} services, "
          f"{args.runs} runs, whole processes (min / median / max seconds):")
    for name, times in rows.items():
        print(f"  {name:32} {min(times):6.2f} {statistics.median(times):6.2f} {max(times):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
