"""A local Grafana stand-in that follows the documented HTTP API closely enough to test the client.

Implements what obsgen uses: /api/health, /api/folders, /api/dashboards/db,
/api/dashboards/uid/:uid (GET, DELETE) and /api/search, with Grafana's status codes and error
bodies: 401 without a valid bearer token, 403 for a viewer's writes, 404 for unknown uids, 400
for bad uids or folders, 412 version-mismatch and name-exists. Faults can be queued: a status
(with Retry-After for 429) or a dropped connection.
"""
from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.remote.loopback import LoopbackServer

EDITOR_TOKEN = "glsa_editor_0123456789abcdef"
VIEWER_TOKEN = "glsa_viewer_0123456789abcdef"


@dataclass
class State:
    folders: dict[str, str] = field(default_factory=dict)  # uid -> title
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> {dashboard, folderUid, version, message}
    faults: deque = field(default_factory=deque)  # (path prefix, status, "drop", "echo" or "lost", retry_after)
    lose_answer: bool = False  # the next answer is replaced by a 504, after the request took effect
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    state: State
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as Go's net/http (Grafana, Mimir, Loki) sets: headers and body go out at once,
    # without Nagle's 40 ms wait for the client's delayed ACK on every answer.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if self.state.lose_answer:
            self.state.lose_answer = False
            status, body = 504, {"message": "gateway timeout"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def _fault(self, path: str) -> bool:
        with self.state.lock:
            if self.state.faults and path.startswith(self.state.faults[0][0]):
                _, what, retry_after = self.state.faults.popleft()
            else:
                return False
        if what == "lost":  # carry the request out, then lose the answer (a proxy timing out)
            self.state.lose_answer = True
            return False
        if what == "echo":  # a careless proxy that echoes the request's credentials in its error
            self._body()
            self._send(400, {"message": f"bad request with Authorization={self.headers.get('Authorization')} url={self.path}"})
            return True
        if what == "drop":
            self._body()
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        self._body()
        self._send(what, {"message": "injected"}, {"Retry-After": str(retry_after)} if retry_after is not None else None)
        return True

    def _auth(self, write: bool) -> bool:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in (EDITOR_TOKEN, VIEWER_TOKEN):
            self._body()
            self._send(401, {"message": "Unauthorized"})
            return False
        if write and token == VIEWER_TOKEN:
            self._body()
            self._send(403, {"message": "Access denied"})
            return False
        return True

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        self.state.requests.append((method, path))
        if self._fault(path):
            return
        if path == "/api/health":
            self._send(200, {"commit": "fake", "database": "ok", "version": "11.3.0"})
            return
        if not self._auth(write=method in ("POST", "DELETE")):
            return
        s = self.state
        with s.lock:
            if method == "GET" and path.startswith("/api/folders/"):
                uid = path.rsplit("/", 1)[1]
                if uid in s.folders:
                    self._send(200, {"uid": uid, "title": s.folders[uid], "url": f"/dashboards/f/{uid}/"})
                else:
                    self._send(404, {"message": "folder not found", "status": "not-found"})
            elif method == "POST" and path == "/api/folders":
                body = self._body()
                if not re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", str(body.get("uid", ""))):
                    self._send(400, {"message": "uid contains illegal characters", "status": "bad-request"})
                elif body["uid"] in s.folders:
                    self._send(409, {"message": "a folder with the same uid already exists"})
                elif body["title"] in s.folders.values():  # as Grafana answers for a title in use
                    self._send(409, {"message": "a folder or dashboard in the general folder with the same name already exists"})
                else:
                    s.folders[body["uid"]] = body["title"]
                    self._send(200, {"uid": body["uid"], "title": body["title"]})
            elif method == "GET" and path.startswith("/api/dashboards/uid/"):
                uid = path.rsplit("/", 1)[1]
                if uid not in s.dashboards:
                    self._send(404, {"message": "Dashboard not found"})
                else:
                    d = s.dashboards[uid]
                    meta = {"folderUid": d["folderUid"], "version": d["version"], "slug": uid, "url": f"/d/{uid}/x"}
                    self._send(200, {"dashboard": d["dashboard"], "meta": meta})
            elif method == "DELETE" and path.startswith("/api/dashboards/uid/"):
                uid = path.rsplit("/", 1)[1]
                if s.dashboards.pop(uid, None) is None:
                    self._send(404, {"message": "Dashboard not found"})
                else:
                    self._send(200, {"title": uid, "message": f"Dashboard {uid} deleted", "id": 1})
            elif method == "POST" and path == "/api/dashboards/db":
                self._save(self._body())
            elif method == "GET" and path == "/api/search" and query.get("type") == ["dash-folder"]:
                title = query.get("query", [""])[0].lower()
                hits = [{"uid": uid, "title": t, "type": "dash-folder"} for uid, t in sorted(s.folders.items()) if title in t.lower()]
                self._send(200, hits)
            elif method == "GET" and path == "/api/search":
                tag = query.get("tag", [None])[0]
                limit, page = int(query.get("limit", ["1000"])[0]), int(query.get("page", ["1"])[0])
                hits = [
                    {"uid": uid, "title": d["dashboard"].get("title"), "type": "dash-db", "tags": d["dashboard"].get("tags", []),
                     "folderUid": d["folderUid"]}
                    for uid, d in sorted(s.dashboards.items())
                    if tag is None or tag in d["dashboard"].get("tags", [])
                ]
                self._send(200, hits[(page - 1) * limit : page * limit])
            else:
                self._body()
                self._send(404, {"message": "Not found"})

    def _save(self, body: dict[str, Any]) -> None:
        s = self.state
        board = dict(body["dashboard"])
        uid, folder = board.get("uid", ""), body.get("folderUid", "")
        if not uid or len(uid) > 40:
            self._send(400, {"message": "uid too long, max 40 characters", "status": "bad-request"})
            return
        if folder and folder not in s.folders:
            self._send(400, {"message": "folder not found", "status": "not-found"})
            return
        for other_uid, other in s.dashboards.items():
            if other_uid != uid and other["folderUid"] == folder and other["dashboard"].get("title") == board.get("title"):
                self._send(412, {"message": "A dashboard with the same name in the folder already exists", "status": "name-exists"})
                return
        existing = s.dashboards.get(uid)
        if existing and not body.get("overwrite") and board.get("version") != existing["version"]:
            self._send(412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
            return
        version = existing["version"] + 1 if existing else 1
        board["version"] = version
        board["id"] = existing["dashboard"]["id"] if existing else s.next_id
        s.next_id += 0 if existing else 1
        s.dashboards[uid] = {"dashboard": board, "folderUid": folder, "version": version, "message": body.get("message")}
        self._send(200, {"id": board["id"], "uid": uid, "url": f"/d/{uid}/x", "status": "success", "version": version, "slug": uid})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")


class FakeGrafana(LoopbackServer):
    """Start with `with FakeGrafana() as grafana:`; `grafana.url`, `grafana.state`."""

    def __init__(self, certfile: str | None = None, keyfile: str | None = None) -> None:
        self.state = State()
        super().__init__(type("BoundHandler", (Handler,), {"state": self.state}), certfile, keyfile)

    def edit(self, uid: str, **changes: Any) -> None:
        """What a person saving in the UI does: new content, a new version, the obsgen mark gone."""
        with self.state.lock:
            entry = self.state.dashboards[uid]
            board = {k: v for k, v in entry["dashboard"].items() if k != "obsgen"}
            board.update(changes)
            entry["version"] += 1
            board["version"] = entry["version"]
            entry["dashboard"] = board
