"""A local ruler that follows Mimir's (and Loki's) rules configuration API.

GET  <prefix>                       all namespaces of the tenant (YAML), 404 "no rule groups found"
GET  <prefix>/<namespace>           one namespace (YAML), 404 when it has no groups
POST <prefix>/<namespace>           one rule group as YAML: 202; 400 when it does not parse
DELETE <prefix>/<namespace>/<group> 202
Every call needs X-Scope-OrgID (401 "no org id" otherwise); tenants are kept apart.
"""
from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

import yaml

from tests.remote.loopback import LoopbackServer


class RulerState:
    def __init__(self) -> None:
        self.rules: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}  # tenant -> namespace -> group -> body
        self.faults: deque = deque()  # statuses to answer next
        self.writes = 0
        self.lock = threading.Lock()


class RulerHandler(BaseHTTPRequestHandler):
    state: RulerState
    prefix: str
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as Go's net/http (Grafana, Mimir, Loki) sets: headers and body go out at once,
    # without Nagle's 40 ms wait for the client's delayed ACK on every answer.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, text: str, content_type: str = "application/yaml") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.state.faults:
            self._send(self.state.faults.popleft(), "injected\n", "text/plain")
            return
        tenant = self.headers.get("X-Scope-OrgID")
        if not tenant:
            self._send(401, "no org id\n", "text/plain")
            return
        if not self.path.startswith(self.prefix):
            self._send(404, "404 page not found\n", "text/plain")
            return
        parts = [unquote(p) for p in self.path[len(self.prefix):].split("/") if p]
        with self.state.lock:
            rules = self.state.rules.setdefault(tenant, {})
            if method == "GET" and not parts:
                found = {ns: list(groups.values()) for ns, groups in sorted(rules.items()) if groups}
                self._send(200, yaml.safe_dump(found)) if found else self._send(404, "no rule groups found\n", "text/plain")
            elif method == "GET" and len(parts) == 1:
                groups = rules.get(parts[0])
                if groups:
                    self._send(200, yaml.safe_dump({parts[0]: list(groups.values())}))
                else:
                    self._send(404, "no rule groups found\n", "text/plain")
            elif method == "POST" and len(parts) == 1:
                try:
                    group = yaml.safe_load(body)
                    assert isinstance(group, dict) and group.get("name") and isinstance(group.get("rules"), list)
                except Exception:  # noqa: BLE001
                    self._send(400, "unable to decode rule group\n", "text/plain")
                    return
                rules.setdefault(parts[0], {})[group["name"]] = group
                self.state.writes += 1
                self._send(202, "", "application/json")
            elif method == "DELETE" and len(parts) == 2:
                rules.get(parts[0], {}).pop(parts[1], None)
                self.state.writes += 1
                self._send(202, "", "application/json")
            else:
                self._send(404, "404 page not found\n", "text/plain")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


class FakeRuler(LoopbackServer):
    def __init__(self, prefix: str) -> None:
        self.state = RulerState()
        super().__init__(type("BoundRuler", (RulerHandler,), {"state": self.state, "prefix": prefix}))
