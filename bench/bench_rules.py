#!/usr/bin/env python3
"""What obsgen's SLO rules cost the Prometheus that evaluates them, measured in a real Prometheus.

1. Writes 30 days (plus 3 for warm-up) of synthetic 1-minute request counters for a few services
   in OpenMetrics and turns them into TSDB blocks with `promtool tsdb create-blocks-from openmetrics`.
2. Starts Prometheus (Debian's package) on those blocks on loopback, and backfills, layer by layer,
   the recordings that other rules read over long ranges with `promtool tsdb create-blocks-from
   rules`: the 5m and 1h rates over the whole range, every other recording for the last minutes.
3. Runs every expression obsgen generates for those services as the rule engine would (an instant
   query at the end) with the query API's `stats=all`; Sloth's rules for the same SLOs (generated
   by `.tools/bin/sloth`, their recordings backfilled the same way) and the naive rule set (every
   window read from the raw series every minute) likewise.
   Backfilling writes a 2-hour block per recording layer; before measuring, Prometheus is left to
   compact them (as a Prometheus that has run for a while has), else every query pays for
   thousands of small blocks and the figures say more about the backfill than about the rules.
4. Prints per SLO: rules, samples touched per minute (totalQueryableSamples x evaluations per
   minute of the rule's group) and query time for each rule set, and the ratios. Checks the
   period's SLI against errors over events for the whole period, computed directly.

Runs on Prometheus 3 (.tools/bin, `make tools`) and Debian's 2.42, one after the other.
Usage: bench/bench_rules.py [--days 30] [--keep DIR] [--prometheus current|debian|both]
"""
from __future__ import annotations

import argparse
import math
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.stack import CURRENT_TOOLS, free_port, wait_ready  # noqa: E402
from obsgen.core import names  # noqa: E402
from obsgen.core.durations import format_duration, parse_duration  # noqa: E402
from obsgen.core.rules import rule_file  # noqa: E402
from obsgen.model.slo import SLO, RatioSLI, Service  # noqa: E402
from obsgen.pipeline.tools import Generation, in_folder, on_path  # noqa: E402
from obsgen.prometheus import slo_rules as rules  # noqa: E402
from obsgen.spec.resolve import service_from_dict  # noqa: E402

SERVICES = ("checkout", "search", "profile")
INSTANCES = ("a", "b", "c")
CODES = ("200", "404", "500", "503")
WARMUP_DAYS = 3
MINUTE = 60
TARGET_PER_SLO = 10_000
TARGET_RATIO = 20
TARGET_CPU = 0.5  # of Sloth's query time per SLO per minute
SETTLE_TIMEOUT = 1800  # seconds to wait for compaction before measuring anyway
SETTLED_BLOCKS = 50  # a TSDB with this few blocks has nothing worth waiting for
TIMINGS = 5  # runs of each rule's query; the median counts
GENERATIONS = {"current": lambda: in_folder(CURRENT_TOOLS), "debian": on_path}


def spec(name: str) -> Service:
    """The benchmark's SLO, and for the first service the same SLO per instance (group_by)."""
    availability = {
        "name": "availability", "objective": 99.9, "period": "30d",
        "sli": {"ratio": {"errors": f'http_requests_total{{job="{name}", code=~"5.."}}', "total": f'http_requests_total{{job="{name}"}}'}},
        "min_events": 50,
    }
    per_instance = {**availability, "name": "availability-by-instance", "group_by": ["instance"]}
    return service_from_dict({
        "service": name, "team": "bench", "runbook": f"https://runbooks.example.com/{name}",
        "slos": [availability, *([per_instance] if name == SERVICES[0] else [])],
    })


SLOTH = CURRENT_TOOLS / "sloth"


def sloth_spec(service: Service) -> dict:
    """The benchmark SLO as a Sloth prometheus/v1 spec: the same queries, objective and 30d period."""
    slo = service.slos[0]
    errors, total = _counters(slo)
    return {
        "version": "prometheus/v1", "service": service.name,
        "slos": [{
            "name": slo.name, "objective": slo.objective,
            "sli": {"events": {"error_query": f"sum(rate({errors}[{{{{.window}}}}]))",
                               "total_query": f"sum(rate({total}[{{{{.window}}}}]))"}},
            "alerting": {"name": "ErrorBudgetBurn", "page_alert": {"labels": {"severity": "critical"}},
                         "ticket_alert": {"labels": {"severity": "warning"}}},
        }],
    }


def sloth_groups(services: list[Service], workdir: Path) -> list[dict]:
    """Sloth's rule groups for the services, or [] when Sloth is not built (`make tools`)."""
    if not SLOTH.exists():
        print(f"  (no Sloth at {SLOTH}: run `make tools` to measure it beside obsgen)")
        return []
    specs, out = workdir / "sloth-specs", workdir / "sloth-rules"
    specs.mkdir()
    out.mkdir()  # Sloth writes a folder of rule files into an existing folder
    for service in services:
        (specs / f"{service.name}.yaml").write_text(yaml.safe_dump(sloth_spec(service), sort_keys=False))
    subprocess.run([str(SLOTH), "generate", "-i", str(specs), "-o", str(out)], check=True, capture_output=True, text=True)
    return [g for path in sorted(out.rglob("*.y*ml")) for g in (yaml.safe_load(path.read_text()) or {}).get("groups", [])]


def pyrra_rule_count(period: int) -> int:
    """Rules Pyrra writes for one ratio SLO (errors and total from one metric, its default alerting),
    counted from its generator (pyrra-dev/pyrra slo/rules.go at 1ba95af; its Go module is not served
    here, so it is not run): a burn-rate recording per distinct window of its four (long, short) pairs,
    scaled from 28 days and rounded to the minute; an alert per pair; an increase over the period
    and an absent alert."""
    divisors = [(28 * 24, 28 * 24 * 12), (28 * 4, 28 * 24 * 2), (28, 28 * 12), (7, 28 * 4)]  # (long, short)
    windows = {round(period / d / 60) for pair in divisors for d in pair}
    return len(windows) + len(divisors) + 2


def write_openmetrics(folder: Path, start: int, minutes: int, seed: int = 7, service_names: tuple[str, ...] = SERVICES) -> list[Path]:
    """Per service, instance and code a counter with a daily cycle, weekly dips and error bursts, as
    one OpenMetrics file per day: promtool reads its whole input once per 2-hour block it writes, so
    a month in one file takes minutes where day files take seconds."""
    rng = random.Random(seed)
    days = -(-minutes // 1440)
    chunks: list[list[str]] = [[] for _ in range(days)]
    for s, service in enumerate(service_names):
        base = 200 * (s + 1)
        bursts = {rng.randrange(minutes) for _ in range(12)}
        for instance in INSTANCES:
            for code in CODES:
                value = 0.0
                share = {"200": 0.97, "404": 0.028, "500": 0.0015, "503": 0.0005}[code]
                burst_left = 0
                for m in range(minutes):
                    if m in bursts:
                        burst_left = 20
                    day = math.sin(2 * math.pi * (m % 1440) / 1440)
                    traffic = base * (1.0 + 0.6 * day) * (0.6 if (m // 1440) % 7 in (5, 6) else 1.0)
                    rate = share * traffic
                    if code in ("500", "503") and burst_left:
                        rate *= 40
                    value += round(rate)
                    chunks[m // 1440].append(f'http_requests_total{{job="{service}",instance="{instance}",code="{code}"}} {value:.0f} {start + m * MINUTE}\n')
                    burst_left = max(0, burst_left - 1)
    paths = []
    for i, lines in enumerate(chunks):
        path = folder / f"series-{i:03d}.om"
        path.write_text("# TYPE http_requests counter\n" + "".join(lines) + "# EOF\n")
        paths.append(path)
    return paths


class Prometheus:
    def __init__(self, data: Path, workdir: Path, tools: Generation, timings: int = TIMINGS) -> None:
        self.data, self.workdir, self.tools, self.timings = data, workdir, tools, timings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        config = self.workdir / "prometheus.yml"
        config.write_text("global: {scrape_interval: 1m}\n")
        self.proc = subprocess.Popen(
            [self.tools.need("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=400d",
             "--query.max-samples=200000000", "--query.timeout=10m"],
            stdout=subprocess.DEVNULL, stderr=(self.workdir / "prometheus.log").open("a"),
        )
        try:
            wait_ready(f"{self.url}/-/ready", "Prometheus", timeout=120, proc=self.proc)
        except RuntimeError as exc:
            raise SystemExit(f"{exc}: {(self.workdir / 'prometheus.log').read_text()[-2000:]}") from None

    def timed(self, expr: str, at: int) -> tuple[int, float]:
        """(totalQueryableSamples, seconds) of an instant query: the median of several runs, as
        one run's time is mostly noise at a millisecond."""
        runs = [self.query(expr, at) for _ in range(self.timings)]
        return runs[0][1], statistics.median(r[2] for r in runs)

    def blocks(self) -> int:
        found = re.search(r"^prometheus_tsdb_blocks_loaded (\S+)$", requests.get(f"{self.url}/metrics", timeout=60).text, re.M)
        return int(float(found[1])) if found else 0

    def settle(self) -> None:
        """Wait until compaction has merged the backfilled blocks: it has begun (Prometheus starts a
        minute after start-up) and the count has then held for a minute."""
        stamp, before = time.perf_counter(), self.blocks()
        count, steady, begun = before, 0.0, before <= SETTLED_BLOCKS
        while not (begun and steady >= 60) and time.perf_counter() - stamp < SETTLE_TIMEOUT:
            time.sleep(5)
            now = self.blocks()
            begun = begun or now < count
            steady = steady + 5 if now == count else 0.0
            count = now
        print(f"  compaction: {before} blocks -> {count} in {time.perf_counter() - stamp:.0f} s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    def query(self, expr: str, at: int) -> tuple[list, int, float]:
        """(result, totalQueryableSamples, seconds) of an instant query."""
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr, "time": at, "stats": "all"}, timeout=600)
        body = response.json()
        if body.get("status") != "success":
            raise SystemExit(f"query failed: {expr}: {body.get('error')}")
        stats = body["data"].get("stats", {})
        samples = stats.get("samples", {}).get("totalQueryableSamples", 0)
        seconds = stats.get("timings", {}).get("execTotalTime", 0.0)
        return body["data"]["result"], samples, seconds


def backfill(prom: Prometheus, groups: list[dict], start: int, end: int, workdir: Path, name: str) -> None:
    """Evaluate these recording rules over [start, end] into blocks, then restart Prometheus on them."""
    rule_file = workdir / f"{name}.yml"
    rule_file.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    blocks = workdir / f"blocks-{name}"
    subprocess.run(
        [prom.tools.need("promtool"), "tsdb", "create-blocks-from", "rules", "--quiet", f"--url={prom.url}", f"--start={start}",
         f"--end={end}", f"--output-dir={blocks}", "--eval-interval=60s", str(rule_file)],
        check=True, capture_output=True, text=True,
    )
    prom.stop()
    for block in blocks.iterdir():
        shutil.move(str(block), prom.data / block.name)
    prom.start()


def _depends_on(expr: str, recorded: set[str]) -> set[str]:
    return {r for r in recorded if r + "{" in expr}


def layers(groups: list[dict]) -> list[list[dict]]:
    """Recording rules by dependency depth: layer 0 reads raw series only, layer n reads layer n-1."""
    records = [(g, r) for g in groups for r in g["rules"] if "record" in r]
    names_ = {r["record"] for _, r in records}
    depth: dict[int, int] = {}
    for _ in range(len(records)):
        for i, (_, rule) in enumerate(records):
            deps = _depends_on(rule["expr"], names_)
            levels = [depth.get(j) for j, (_, other) in enumerate(records) if other["record"] in deps and j != i]
            if None not in levels:
                depth[i] = 1 + max(levels, default=-1)
    out: list[list[dict]] = []
    for i, (group, rule) in enumerate(records):
        while len(out) <= depth[i]:
            out.append([])
        out[depth[i]].append({"group": group["name"], "rule": rule})
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    parser.add_argument("--prometheus", choices=["current", "debian", "both"], default="both")
    args = parser.parse_args(argv)
    # A month of backfilled 2-hour blocks opens more files than a default limit allows.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 20, 1 << 20))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    met = True
    for name in ("current", "debian") if args.prometheus == "both" else (args.prometheus,):
        tools = GENERATIONS[name]()
        version = subprocess.run([tools.need("prometheus"), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        print(f"\n== {version}")
        figures = run(args.days, args.keep / name if args.keep else None, tools)
        met = met and figures["met"]
    return 0 if met else 1


def run(days_measured: int, keep: Path | None = None, tools: Generation | None = None, timed: bool = True,
        service_names: tuple[str, ...] = SERVICES) -> dict:
    """The whole benchmark on one Prometheus (3 by default); returns the worst figures over the SLOs.
    Without `timed` (the test of this benchmark: samples only) it neither waits for compaction nor
    repeats the queries, and its query times mean nothing. `service_names` are the services (the first one
    also has a per-instance SLO)."""
    tools = tools or GENERATIONS["current"]()
    workdir = Path(tempfile.mkdtemp(prefix="obsgen-bench-rules-"))
    data = workdir / "data"
    days = days_measured + WARMUP_DAYS
    minutes = days * 1440
    start = (int(time.time()) // 86400 - days - 1) * 86400  # whole days, well in the past
    end = start + (minutes - 1) * MINUTE
    stamp = time.perf_counter()
    print(f"work folder {workdir}; {len(service_names)} services x {len(INSTANCES)} instances x {len(CODES)} codes, {days} days of 1m samples")
    for path in write_openmetrics(workdir, start, minutes, service_names=service_names):
        subprocess.run([tools.need("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(path), str(data)],
                       check=True, capture_output=True)
        path.unlink()
    print(f"  blocks written in {time.perf_counter() - stamp:.0f} s")
    prom = Prometheus(data, workdir, tools, TIMINGS if timed else 1)
    prom.start()
    try:
        services = [spec(s) for s in service_names]
        generated = [g for s in services for g in rule_file(rules.rule_groups(s))["groups"]]
        # Every window but the period is a slice of a longer one, read at offsets up to the period.
        long_range = {n(w) for w in rules.slo_windows(services[0].slos[0])[:-1] for n in (names.errors_rate, names.total_rate)}
        backfill_layers(prom, "obsgen", generated, long_range, start, end, workdir)
        theirs = sloth_groups(services, workdir)
        # Sloth's period reads its 5m ratio over 30 days: that recording is backfilled over the whole range.
        backfill_layers(prom, "sloth", theirs, {names.error_ratio(300)}, start, end, workdir)
        if timed:
            prom.settle()
        return report(prom, services, generated, theirs, end)
    finally:
        prom.stop()
        if keep:
            shutil.copytree(workdir, keep, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


def backfill_layers(prom: Prometheus, who: str, groups: list[dict], long_range: set[str], start: int, end: int, workdir: Path) -> None:
    """The recordings layer by layer: those read over long ranges for the whole run, the rest for its tail."""
    tail = end - 30 * MINUTE
    for depth, entries in enumerate(layers(groups)):
        full = [e for e in entries if e["rule"]["record"] in long_range]
        rest = [e for e in entries if e["rule"]["record"] not in long_range]
        for label, chosen, since in (("full", full, start + 5 * MINUTE), ("tail", rest, tail)):
            if not chosen:
                continue
            stamp = time.perf_counter()
            name = f"{who}-layer{depth}-{label}"
            backfill(prom, [{"name": name, "interval": "1m", "rules": [e["rule"] for e in chosen]}], since, end, workdir, name)
            print(f"  backfilled {who} layer {depth} ({label}, {len(chosen)} rules) in {time.perf_counter() - stamp:.0f} s")


def _cost(prom: Prometheus, groups: list[dict], end: int) -> tuple[int, float, float]:
    """(rules, samples touched per minute, query ms per minute) of these groups, each at its interval."""
    count, samples_min, ms_min = 0, 0.0, 0.0
    for group in groups:
        per_minute = MINUTE / parse_duration(group.get("interval", "1m"))
        for rule in group["rules"]:
            samples, seconds = prom.timed(rule["expr"], end)
            samples_min += samples * per_minute
            ms_min += seconds * 1000 * per_minute
            count += 1
    return count, samples_min, ms_min


def report(prom: Prometheus, services: list[Service], generated: list[dict], theirs: list[dict], end: int) -> dict:
    per_minute = {g["name"]: MINUTE / parse_duration(g.get("interval", "1m")) for g in generated}
    print()
    print(f"{'SLO':28} {'rule set':8} {'rules':>5} {'samples/min':>12} {'query ms/min':>12}")
    worst_ratio = worst_sloth = math.inf
    worst_slo = worst_cpu = 0.0
    period_error = 0.0
    per_group: dict[str, float] = {}
    for service in services:
        for grouped in service.slos[1:]:
            per_group.update(_group_cost(prom, service, grouped, generated, per_minute, end))
        slo = service.slos[0]
        label = f"{service.name}/{slo.name}"
        obsgen_samples = obsgen_ms = 0.0
        count = 0
        kinds: dict[str, list[float]] = {}  # kind of rule -> [rules, samples per minute, query ms per minute]
        for group in generated:
            if group["name"] not in (names.group_name(service.name, slo.name), names.period_group_name(service.name, slo.name)):
                continue
            for rule in group["rules"]:
                samples, seconds = prom.timed(rule["expr"], end)
                obsgen_samples += samples * per_minute[group["name"]]
                obsgen_ms += seconds * 1000 * per_minute[group["name"]]
                count += 1
                kind = _kind(rule)
                kinds.setdefault(kind, [0, 0.0, 0.0])
                kinds[kind][0] += 1
                kinds[kind][1] += samples * per_minute[group["name"]]
                kinds[kind][2] += seconds * 1000 * per_minute[group["name"]]
        layer_lines = [f"{'':28} {'  ' + kind:8} {n:>5.0f} {samples:>12,.0f} {ms:>12.1f}" for kind, (n, samples, ms) in kinds.items()]
        naive_samples = naive_ms = 0.0
        errors, total = _counters(slo)
        windows = rules.slo_windows(slo)
        for window in windows:
            w = format_duration(window)
            expr = f"sum(rate({errors}[{w}])) / sum(rate({total}[{w}]))"
            samples, seconds = prom.timed(expr, end)
            naive_samples += samples
            naive_ms += seconds * 1000
        print(f"{label:28} {'obsgen':8} {count:>5} {obsgen_samples:>12,.0f} {obsgen_ms:>12.1f}")
        print("\n".join(layer_lines))
        sloth = [g for g in theirs if g["name"].endswith(f"-{service.name}-{slo.name}")]
        if sloth:
            sloth_count, sloth_samples, sloth_ms = _cost(prom, sloth, end)
            print(f"{'':28} {'sloth':8} {sloth_count:>5} {sloth_samples:>12,.0f} {sloth_ms:>12.1f}"
                  f"   ({sloth_samples / obsgen_samples:.1f}x obsgen's samples; obsgen's query time {obsgen_ms / sloth_ms:.2f}x Sloth's)")
            worst_sloth = min(worst_sloth, sloth_samples / obsgen_samples)
            worst_cpu = max(worst_cpu, obsgen_ms / sloth_ms)
        print(f"{'':28} {'pyrra':8} {pyrra_rule_count(slo.period):>5}   (counted from its generator, not run: see pyrra_rule_count)")
        print(f"{'':28} {'naive':8} {len(windows):>5} {naive_samples:>12,.0f} {naive_ms:>12.1f}"
              f"   ({naive_samples / obsgen_samples:.1f}x obsgen's)")
        worst_ratio = min(worst_ratio, naive_samples / obsgen_samples)
        worst_slo = max(worst_slo, obsgen_samples)
        period_error = max(period_error, check_period(prom, service, end))
    print()
    ok = worst_slo <= TARGET_PER_SLO and worst_ratio >= TARGET_RATIO
    print(f"target: at most {TARGET_PER_SLO:,} samples per SLO per minute and 1/{TARGET_RATIO} of naive: "
          f"worst {worst_slo:,.0f}, {worst_ratio:.1f}x -> {'met' if ok else 'MISSED'}")
    if theirs:
        print(f"Sloth's rules for the same SLOs touch at least {worst_sloth:.1f}x the samples obsgen's do")
        cheap = worst_cpu <= TARGET_CPU
        print(f"target: obsgen's query time per SLO per minute at most {TARGET_CPU:g}x Sloth's: worst {worst_cpu:.2f}x "
              f"-> {'met' if cheap else 'MISSED'}")
        ok = ok and cheap
    return {
        "samples_per_slo": worst_slo, "ratio": worst_ratio, "sloth_ratio": worst_sloth, "period_error": period_error, "met": ok,
        "cpu_ratio": worst_cpu,
        "samples_per_group": per_group,
    }


def _group_cost(
    prom: Prometheus, service: Service, slo: SLO, generated: list[dict], per_minute: dict[str, float], end: int
) -> dict[str, float]:
    """A per-group SLO's rules: samples per minute in all, and per group (what one more route costs)."""
    samples_min = 0.0
    for group in generated:
        if group["name"] in (names.group_name(service.name, slo.name), names.period_group_name(service.name, slo.name)):
            samples_min += sum(prom.query(rule["expr"], end)[1] for rule in group["rules"]) * per_minute[group["name"]]
    selector = f'{names.total_rate(300)}{{service="{service.name}", slo="{slo.name}"}}'
    found, _, _ = prom.query(f"count({selector})", end)
    groups = int(float(found[0]["value"][1])) if found else 0
    label = f"{service.name}/{slo.name}"
    print(f"{label:28} {'obsgen':8} {'':>5} {samples_min:>12,.0f}   {groups} groups by {', '.join(slo.group_by)}: "
          f"{samples_min / max(groups, 1):,.0f} samples/min per group")
    return {label: samples_min / max(groups, 1)}


def _kind(rule: dict) -> str:
    """raw (the 5m rates), windows (tiled), period (the 30d window, tiled), ratios (errors over
    events per window), meta, or alerts: the rows of the report."""
    if "alert" in rule:
        return "alerts"
    record = rule["record"]
    if record in (names.total_rate(300), names.errors_rate(300)):
        return "raw"
    if record in (names.total_rate(30 * 86400), names.errors_rate(30 * 86400)):
        return "period"
    if record.startswith(names.error_ratio(300).removesuffix("5m")):
        return "ratios"
    return "windows" if ":sli_" in record else "meta"


def _counters(slo: SLO) -> tuple[str, str]:
    """The errors and total selectors of the benchmark's ratio SLI."""
    sli = slo.sli
    assert isinstance(sli, RatioSLI) and sli.errors is not None
    return sli.errors.render(), sli.total.render()


def check_period(prom: Prometheus, service: Service, end: int) -> float:
    """The period's SLI from obsgen's layered rules against errors over events, computed directly."""
    slo = service.slos[0]
    errors, total = _counters(slo)
    period = slo.period
    ids = f'service="{service.name}", slo="{slo.name}"'
    layered_errors = f"avg_over_time({names.errors_rate(3600)}{{{ids}}}[{format_duration(period)}:1h])"
    layered_total = f"avg_over_time({names.total_rate(3600)}{{{ids}}}[{format_duration(period)}:1h])"
    layered, _, _ = prom.query(f"{layered_errors} / {layered_total}", end)
    w = format_duration(period)
    direct, _, _ = prom.query(f"sum(increase({errors}[{w}])) / sum(increase({total}[{w}]))", end)
    mean_of_ratios, _, _ = prom.query(
        f"avg_over_time((sum(rate({errors}[5m])) / sum(rate({total}[5m])))[{w}:5m])", end
    )
    a, b, c = (float(r[0]["value"][1]) for r in (layered, direct, mean_of_ratios))
    print(f"{'':28} period SLI: layered {a:.6%}, direct errors/events {b:.6%} "
          f"(off by {abs(a / b - 1):.2%}); an unweighted mean of 5m ratios says {c:.6%} (off by {abs(c / b - 1):.1%})")
    return abs(a / b - 1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
