"""A pup.ai stand-in: every metric the bundled specs read, steady synthetic traffic, injectable faults.

    python -m demo.service --port 8000
    curl -XPOST localhost:8000/fault -d '{"service": "pup-api", "error_ratio": 1}'
    curl -XPOST localhost:8000/fault -d '{"queue": "jobs", "depth": 20000}'
    curl -XPOST localhost:8000/fault -d '{"pool_in_use": 100}'
    curl -XPOST localhost:8000/fault -d '{"latency": 2.0}'
    curl -XPOST localhost:8000/reset
"""
from __future__ import annotations

import argparse
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

TICK = 0.1  # seconds between synthetic events
API_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
AI_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60)
ROUTES = ("/v1/chat", "/v1/conversations", "/v1/me")
HEALTHY: dict[str, Any] = {
    "error_ratio": {"pup-api": 0.0, "pup-workers": 0.0, "ai-provider": 0.0},
    "latency": 0.08,  # seconds, typical API request
    "depth": {"jobs": 40, "emails": 8},  # well under 10% of max_depth: healthy queues drain
    "pool_in_use": 12,  # of 40
}


class Demo:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.state = json.loads(json.dumps(HEALTHY))
        r = self.registry = CollectorRegistry()
        self.http = Counter("http_requests", "HTTP requests", ["job", "route", "code"], registry=r)
        self.http_latency = Histogram("http_request_duration_seconds", "HTTP latency", ["job", "route"], buckets=API_BUCKETS, registry=r)
        self.jobs = Counter("pup_worker_jobs", "Background jobs", ["job", "task", "outcome"], registry=r)
        self.ai = Counter("pup_ai_requests", "Calls to the AI provider", ["provider", "model", "outcome"], registry=r)
        self.ai_latency = Histogram("pup_ai_request_duration_seconds", "AI call latency", ["provider"], buckets=AI_BUCKETS, registry=r)
        self.depth = Gauge("pup_queue_depth", "Messages waiting", ["queue"], registry=r)
        self.age = Gauge("pup_queue_oldest_message_age_seconds", "Age of the oldest message", ["queue"], registry=r)
        self.processed = Counter("pup_queue_processed", "Messages processed", ["queue"], registry=r)
        self.enqueued = Counter("pup_queue_enqueued", "Messages enqueued", ["queue"], registry=r)
        self.pool_used = Gauge("pg_pool_connections_in_use", "Pool connections in use", ["pool"], registry=r)
        self.pool_max = Gauge("pg_pool_connections_max", "Pool size", ["pool"], registry=r)
        self.redis_used = Gauge("redis_memory_used_bytes", "Redis memory", ["job"], registry=r)
        self.redis_max = Gauge("redis_memory_max_bytes", "Redis maxmemory", ["job"], registry=r)
        self.mem = Gauge("container_memory_working_set_bytes", "Working set", ["container", "pod"], registry=r)
        self.mem_limit = Gauge("kube_pod_container_resource_limits", "Limits", ["container", "pod", "resource"], registry=r)
        self.conversations = Counter("pup_conversations_started", "Conversations", registry=r)
        self.messages = Counter("pup_messages", "Chat messages", ["role"], registry=r)
        self.users = Gauge("pup_active_users", "Active users", ["window"], registry=r)
        # What a blackbox exporter would report for the public endpoint: down while most requests fail.
        self.probe = Gauge("probe_success", "Blackbox probe of the public endpoint", ["job", "instance"], registry=r)
        self.tokens = Counter("pup_ai_tokens", "Tokens", ["model"], registry=r)
        self.cost = Counter("pup_ai_cost_dollars", "Spend", ["model"], registry=r)
        # Process metrics, as each service's own client library would export them.
        self.cpu = Counter("process_cpu_seconds", "CPU time", ["job"], registry=r)
        self.rss = Gauge("process_resident_memory_bytes", "Resident memory", ["job"], registry=r)
        # What kube-state-metrics reports for the workers the jobs queue scales.
        self.replicas = Gauge("kube_deployment_status_replicas_available", "Ready replicas", ["namespace", "deployment"], registry=r)
        self.replicas.labels(namespace="pup", deployment="pup-workers").set(3)
        # Failure series exist from the start at zero, as well-instrumented services initialise them.
        for route in ROUTES:
            self.http.labels(job="pup-api", route=route, code="500")
        self.jobs.labels(job="pup-workers", task="embed", outcome="failed")
        self.ai.labels(provider="openai", model="gpt-4o", outcome="error")
        self.pool_max.labels(pool="pup").set(40)
        self.redis_max.labels(job="redis").set(2 * 2**30)
        self.mem_limit.labels(container="pup-api", pod="pup-api-0", resource="memory").set(1 * 2**30)
        self.users.labels(window="24h").set(1830)

    def fault(self, change: dict[str, Any]) -> None:
        with self.lock:
            if "service" in change:
                self.state["error_ratio"][change["service"]] = float(change.get("error_ratio", 1.0))
            if "queue" in change:
                self.state["depth"][change["queue"]] = float(change["depth"])
            for key in ("latency", "pool_in_use"):
                if key in change:
                    self.state[key] = float(change[key])

    def reset(self) -> None:
        with self.lock:
            self.state = json.loads(json.dumps(HEALTHY))

    def tick(self) -> None:
        """About 20 API requests, 5 jobs and 3 AI calls per tick."""
        with self.lock:
            state = json.loads(json.dumps(self.state))
        rng = self.rng
        for _ in range(20):
            route = rng.choice(ROUTES)
            failed = rng.random() < state["error_ratio"]["pup-api"]
            self.http.labels(job="pup-api", route=route, code="500" if failed else "200").inc()
            self.http_latency.labels(job="pup-api", route=route).observe(state["latency"] * rng.uniform(0.5, 1.5))
        for _ in range(5):
            failed = rng.random() < state["error_ratio"]["pup-workers"]
            self.jobs.labels(job="pup-workers", task="embed", outcome="failed" if failed else "succeeded").inc()
        for _ in range(3):
            failed = rng.random() < state["error_ratio"]["ai-provider"]
            self.ai.labels(provider="openai", model="gpt-4o", outcome="error" if failed else "success").inc()
            self.ai_latency.labels(provider="openai").observe(rng.uniform(0.8, 3.0))
            self.tokens.labels(model="gpt-4o").inc(rng.randint(200, 900))
            self.cost.labels(model="gpt-4o").inc(0.002)
        self.conversations.inc()
        self.messages.labels(role="user").inc(3)
        for queue, depth in state["depth"].items():
            self.depth.labels(queue=queue).set(depth)
            self.age.labels(queue=queue).set(2.0 if depth < 100 else 60.0 * 60)
            self.enqueued.labels(queue=queue).inc(4)
            self.processed.labels(queue=queue).inc(4)
        self.probe.labels(job="blackbox", instance="https://api.pup.ai/healthz").set(0 if state["error_ratio"]["pup-api"] >= 0.5 else 1)
        self.pool_used.labels(pool="pup").set(state["pool_in_use"])
        self.redis_used.labels(job="redis").set(0.6 * 2**30)
        self.mem.labels(container="pup-api", pod="pup-api-0").set(0.4 * 2**30)
        for job in ("pup-api", "pup-workers"):
            self.cpu.labels(job=job).inc(TICK * 0.3)
            self.rss.labels(job=job).set(0.3 * 2**30)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.tick()
            stop.wait(TICK)


def serve(demo: Demo, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                self._reply(200, generate_latest(demo.registry), CONTENT_TYPE_LATEST)
            elif self.path == "/fault":
                with demo.lock:
                    self._reply(200, json.dumps(demo.state).encode())
            else:
                self._reply(404, b'{"error": "try /metrics, /fault or /reset"}')

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/fault":
                demo.fault(json.loads(body or b"{}"))
            elif self.path == "/reset":
                demo.reset()
            else:
                self._reply(404, b'{"error": "POST /fault or /reset"}')
                return
            with demo.lock:
                self._reply(200, json.dumps(demo.state).encode())

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="pup.ai stand-in for obsgen's demo")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    demo = Demo()
    stop = threading.Event()
    server = serve(demo, args.port)
    print(f"pup.ai demo on http://127.0.0.1:{server.server_address[1]}/metrics", flush=True)
    try:
        demo.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
