"""Runs obsgen's output for real on loopback: the demo service, Prometheus, Alertmanager, a webhook sink.

Time is compressed 60x for the demo (5m windows become 5s, 1h becomes 1m, `for: 5m` becomes 5s),
so alerts fire and resolve in seconds; the thresholds, routes and inhibitions are obsgen's own.
Every receiver is pointed at the local webhook sink, under its own path, so routing is visible.
"""
from __future__ import annotations

import json
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import yaml

from obsgen.alertmanager import config as alertmanager
from obsgen.core.durations import format_duration, parse_duration
from obsgen.model.project import Project
from obsgen.pipeline.tools import Generation, in_folder, on_path

SPEEDUP = 60
_DURATION = r"((?:\d+[smhdw])+)"  # compound durations too: 7d12h
_RANGE = re.compile(rf"\[{_DURATION}(?::{_DURATION})?\]")
_OFFSET = re.compile(rf"offset {_DURATION}")


_HANDED_OUT: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range.

    A port the kernel hands out for `bind(0)` comes from the range it also uses for outgoing
    connections, so between closing it here and a server binding it, any process's next connection
    may take it (a Thanos Ruler failed that way in CI). Below that range only listeners compete."""
    low = _ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(10000, low)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def wait_ready(url: str, what: str, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 2xx; fail early when `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready within {timeout:g} s")


def _fast(duration: str) -> str:
    return format_duration(max(1, parse_duration(duration) // SPEEDUP))


def compress_expr(expr: str) -> str:
    """Every range, subquery step and offset of a PromQL expression, 60 times shorter."""
    def ranges(m: re.Match[str]) -> str:
        return f"[{_fast(m[1])}:{_fast(m[2])}]" if m[2] else f"[{_fast(m[1])}]"

    return _OFFSET.sub(lambda m: f"offset {_fast(m[1])}", _RANGE.sub(ranges, expr))


def compress_rules(doc: dict[str, Any], tick_ms: int = 1000) -> dict[str, Any]:
    """The rules at demo speed; a group runs every `tick_ms` for each minute of its interval."""
    for group in doc["groups"]:
        if "interval" in group:
            group["interval"] = f"{parse_duration(group['interval']) // 60 * tick_ms}ms"
        for rule in group["rules"]:
            rule["expr"] = compress_expr(rule["expr"])
            if "for" in rule:
                rule["for"] = _fast(rule["for"])
    return doc


def demo_alertmanager(project: Project, sink: str) -> dict[str, Any]:
    """obsgen's routes and inhibitions, every receiver a webhook to the sink, timings in seconds."""
    config = alertmanager.config(project)
    config.pop("global", None)
    config.pop("time_intervals", None)  # the demo runs at any hour: no business-hours muting
    config["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": f"{sink}/{r['name']}", "send_resolved": True}]}
        for r in config["receivers"]
    ]

    def quick(route: dict[str, Any]) -> None:
        route.pop("active_time_intervals", None)
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if key in route:
                route[key] = _fast(route[key])
        for child in route.get("routes", []):
            quick(child)

    quick(config["route"])
    config["route"].update(group_wait="1s", group_interval="2s", repeat_interval="1h")
    return config


class Sink:
    """Collects Alertmanager's webhook notifications: (receiver, payload)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                sink.received.append((self.path.strip("/"), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, receiver: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """(receiver, status, alert) for every alert in every notification so far."""
        return [
            (name, alert["status"], alert)
            for name, body in list(self.received)
            if receiver is None or name == receiver
            for alert in body.get("alerts", [])
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


CURRENT_TOOLS = Path(__file__).resolve().parent.parent / ".tools" / "bin"


def default_tools() -> Generation:
    """Prometheus 3 and the current Alertmanager from .tools/bin (`make tools`), else those on PATH."""
    current = in_folder(CURRENT_TOOLS)
    return current if current.prometheus and current.alertmanager else on_path()


class Stack:
    """The demo service, Prometheus and Alertmanager, each on a free loopback port."""

    def __init__(self, project: Project, output: Path, workdir: Path | None = None, tools: Generation | None = None,
                 thanos: Path | None = None, remote_write: dict[str, Any] | None = None,
                 tick_ms: int = 1000, reference: bool = False) -> None:
        """With `thanos` (the thanos binary), Thanos Ruler evaluates output/thanos/rules, querying
        Prometheus and notifying Alertmanager; Prometheus then loads output/prometheus/rules only
        when those hold the paging groups of a `long_rules: separate` split (the long ones are
        Thanos's), and no rules otherwise.

        Prometheus scrapes every `tick_ms`, and evaluates a group that often for each minute of its
        interval (one second is one minute of the spec: a finer tick samples the same timeline finer).
        With `reference`, a second Prometheus scrapes the same service and runs every local and
        long group itself, notifying no one: the layout of one Prometheus, to compare pages with."""
        self.thanos, self.tick_ms, self.reference = thanos, tick_ms, reference
        self.reference_url = f"http://127.0.0.1:{free_port()}" if reference else ""
        self.remote_write = remote_write  # Prometheus then only scrapes and forwards: the rules run on that ruler
        self.tools = tools or default_tools()
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="obsgen-demo-"))
        self.project, self.output = project, output
        self.started = 0.0
        self.procs: list[subprocess.Popen] = []
        self.named: dict[str, subprocess.Popen] = {}
        self.sink = Sink()
        self.demo_port, self.prom_port, self.am_port = free_port(), free_port(), free_port()
        self.demo_url = f"http://127.0.0.1:{self.demo_port}"
        self.prom_url = f"http://127.0.0.1:{self.prom_port}"
        self.am_url = f"http://127.0.0.1:{self.am_port}"
        self.ruler_port, self.ruler_grpc, self.query_port = free_port(), free_port(), free_port()
        self.ruler_url = f"http://127.0.0.1:{self.ruler_port}"

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("w")
        self.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
        self.named[name] = self.procs[-1]

    def _wait_ready(self, url: str, name: str) -> None:
        wait_ready(url, f"{name} (log: {self.workdir / (name + '.log')})", proc=self.named.get(name))

    def _compressed(self, source: Path, target: Path) -> None:
        target.mkdir()  # an absent source (no split) leaves it empty
        for path in sorted(source.glob("*.yml")):
            doc = compress_rules(yaml.safe_load(path.read_text()), self.tick_ms)
            (target / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))

    def start(self) -> None:
        rules = self.workdir / "rules"
        split = (self.output / "prometheus" / "long-rules").is_dir()
        if (self.thanos is None or split) and self.remote_write is None:
            self._compressed(self.output / "prometheus" / "rules", rules)
        else:
            rules.mkdir()
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(demo_alertmanager(self.project, self.sink.url), sort_keys=False))
        remote = {"remote_write": [{**self.remote_write, "queue_config": {"batch_send_deadline": "1s"}}]} if self.remote_write else {}
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump({
            **remote, **self._prometheus_config("demo", [rules]),
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{self.am_port}"]}]}]},
        }, sort_keys=False))
        self._spawn("demo", [sys.executable, "-m", "demo.service", "--port", str(self.demo_port)])
        self._spawn("alertmanager", [self.tools.need("alertmanager"), f"--config.file={self.workdir / 'alertmanager.yml'}",
                                     f"--storage.path={self.workdir / 'am-data'}", f"--web.listen-address=127.0.0.1:{self.am_port}",
                                     "--cluster.listen-address="])
        self._spawn("prometheus", [self.tools.need("prometheus"), f"--config.file={self.workdir / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={self.workdir / 'prom-data'}", f"--web.listen-address=127.0.0.1:{self.prom_port}",
                                   "--rules.alert.resend-delay=1s"])
        if self.reference:
            self._start_reference()
        self._wait_ready(f"{self.demo_url}/metrics", "demo")
        self._wait_ready(f"{self.am_url}/-/ready", "alertmanager")
        self._wait_ready(f"{self.prom_url}/-/ready", "prometheus")
        if self.reference:
            self._wait_ready(f"{self.reference_url}/-/ready", "prometheus-reference")
        self.started = time.time()  # every Prometheus is up: their windows fill from here
        if self.thanos is not None:
            self._start_thanos(self.thanos)

    def _prometheus_config(self, name: str, rules: list[Path]) -> dict[str, Any]:
        return {
            # Thanos's sidecar needs labels that tell this Prometheus from others.
            "global": {"scrape_interval": f"{self.tick_ms}ms", "evaluation_interval": f"{self.tick_ms}ms", "external_labels": {"prometheus": name}},
            "rule_files": [str(folder / "*.yml") for folder in rules],
            "scrape_configs": [{"job_name": "pup-demo", "honor_labels": True,
                                "static_configs": [{"targets": [f"127.0.0.1:{self.demo_port}"]}]}],
        }

    def _start_reference(self) -> None:
        folders = [self.workdir / "reference-rules", self.workdir / "reference-long-rules"]
        self._compressed(self.output / "prometheus" / "rules", folders[0])
        long_rules = self.output / "prometheus" / "long-rules"
        self._compressed(long_rules, folders[1])  # none unless split: then `rules` holds them all
        config = self.workdir / "reference.yml"
        config.write_text(yaml.safe_dump(self._prometheus_config("reference", folders), sort_keys=False))
        self._spawn("prometheus-reference", [
            self.tools.need("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'reference-data'}",
            f"--web.listen-address={self.reference_url.removeprefix('http://')}"])

    def _start_thanos(self, thanos: Path) -> None:
        """As Thanos runs in production: a sidecar serves Prometheus's data, Thanos Query fans out to
        it and to the ruler's own store (a window the ruler records is read by the next, through
        Query), and Thanos Ruler evaluates through Query."""
        sidecar_http, sidecar_grpc, query_grpc = free_port(), free_port(), free_port()
        self._compressed(self.output / "thanos" / "rules", self.workdir / "thanos-rules")
        self._spawn("thanos-sidecar", [
            str(thanos), "sidecar", f"--tsdb.path={self.workdir / 'prom-data'}", f"--prometheus.url={self.prom_url}",
            f"--http-address=127.0.0.1:{sidecar_http}", f"--grpc-address=127.0.0.1:{sidecar_grpc}"])
        self._spawn("thanos-query", [
            str(thanos), "query", f"--http-address=127.0.0.1:{self.query_port}", f"--grpc-address=127.0.0.1:{query_grpc}",
            f"--endpoint=127.0.0.1:{sidecar_grpc}", f"--endpoint=127.0.0.1:{self.ruler_grpc}", "--query.auto-downsampling",
            "--store.sd-interval=1s", "--query.lookback-delta=5m"])
        self._spawn("thanos-rule", [
            str(thanos), "rule", f"--data-dir={self.workdir / 'thanos-data'}",
            f"--rule-file={self.workdir / 'thanos-rules' / '*.yml'}", f"--query=127.0.0.1:{self.query_port}",
            f"--alertmanagers.url={self.am_url}", f"--http-address=127.0.0.1:{self.ruler_port}",
            f"--grpc-address=127.0.0.1:{self.ruler_grpc}", "--eval-interval=1s", "--resend-delay=1s",
            "--label=ruler=\"thanos\""])
        self._wait_ready(f"http://127.0.0.1:{sidecar_http}/-/ready", "thanos-sidecar")
        self._wait_ready(f"http://127.0.0.1:{self.query_port}/-/ready", "thanos-query")
        self._wait_ready(f"{self.ruler_url}/-/ready", "thanos-rule")

    def fault(self, **change: Any) -> None:
        requests.post(f"{self.demo_url}/fault", json=change, timeout=5).raise_for_status()

    def reset(self) -> None:
        requests.post(f"{self.demo_url}/reset", timeout=5).raise_for_status()

    def query(self, expr: str) -> list[dict[str, Any]]:
        body = requests.get(f"{self.prom_url}/api/v1/query", params={"query": expr}, timeout=10).json()
        return body["data"]["result"]

    def query_at(self, expr: str, at: float) -> list[dict[str, Any]]:
        body = requests.get(f"{self.prom_url}/api/v1/query", params={"query": expr, "time": f"{at:.3f}"}, timeout=10).json()
        return body["data"]["result"]

    def alerts(self, reference: bool = False) -> list[dict[str, Any]]:
        """The alerts Prometheus (or, with `reference`, the reference Prometheus) holds: labels, state, activeAt."""
        url = self.reference_url if reference else self.prom_url
        return requests.get(f"{url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]

    def rule_groups(self, ruler: bool = False) -> list[dict[str, Any]]:
        """The groups Prometheus (or, with `ruler`, Thanos Ruler) has loaded, with their health."""
        url = self.ruler_url if ruler else self.prom_url
        return requests.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
        self.sink.close()
