"""Grafana dashboards as a remote: idempotent pushes, never over someone's edits.

obsgen marks every dashboard it writes (the `obsgen` key) with a fingerprint of its content, the
project that wrote it and its uid, and tags it with the project. A remote dashboard whose content no
longer matches its fingerprint was edited in Grafana since (a UI save also drops the key): push
refuses it unless forced. A dashboard another project wrote, or a copy re-imported under a new uid,
is never this project's. Prune deletes only this project's own, unedited dashboards (edited ones
with --force) and says why it leaves the others.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from obsgen.core.names import UID
from obsgen.errors import OutputError, RemoteError
from obsgen.remote.http import ApiClient, Endpoint
from obsgen.remote.sync import Action, Change

MARK = "obsgen"  # top-level key of the dashboard JSON: {"fingerprint", "project", "uid"}
TAG = "obsgen"
PROJECT_TAG = "obsgen-project:"  # + the project: prune finds its own with one search
FP_TAG = "obsgen-fp:"  # + the fingerprint's first 16 hex digits: Grafana's search shows tags, so push
# can skip an unchanged dashboard without fetching it
VOLATILE = ("id", "version", MARK)  # Grafana assigns ids and versions; the mark describes the rest
FETCHERS = 8  # dashboards fetched at once while planning
MAX_DIFF_LINES = 400  # of one dashboard's diff in a plan


class Grafana(ApiClient):
    name = "Grafana"
    hints: ClassVar[dict[int, str]] = {
        401: "Grafana rejected the token: check GRAFANA_TOKEN (a service-account token, sent as Bearer)",
        403: "the token may not do this: give the service account the Editor role, or edit rights on the folder",
        404: "not found: check GRAFANA_URL (and a sub-path if Grafana is served under one)",
        412: "Grafana refused the save: the dashboard changed there meanwhile (version-mismatch) or a dashboard "
             "with the same title exists in the folder (name-exists); run `obsgen plan` and look",
    }

    def __init__(self, config: Endpoint) -> None:
        headers = {"Accept": "application/json"}
        if config.org_id is not None:
            headers["X-Grafana-Org-Id"] = str(config.org_id)
        super().__init__(config, headers)

    def health(self) -> dict[str, Any]:
        """Grafana's health answer; a RemoteError when the URL does not lead to Grafana's API (a
        wrong sub-path answers 404 everywhere, which would otherwise read as "no dashboards yet")."""
        response = self._call("GET", "/api/health", ok=(200, 404))
        try:
            health = response.json() if response.status_code == 200 else None
        except ValueError:
            health = None
        if not isinstance(health, dict) or "database" not in health:
            raise RemoteError(
                f"{self.config.url} does not serve Grafana's API (GET /api/health answered {response.status_code}"
                f"{'' if response.status_code == 404 else ' without Grafana’s JSON'}); check GRAFANA_URL and its sub-path"
            )
        return health

    def folder_by_title(self, title: str) -> str | None:
        """The uid of the folder with exactly this title, if there is one."""
        hits = self._call("GET", "/api/search", params={"type": "dash-folder", "query": title}).json()
        return next((h["uid"] for h in hits if h.get("title") == title), None)

    def folder(self, uid: str) -> dict[str, Any] | None:
        response = self._call("GET", f"/api/folders/{uid}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def create_folder(self, uid: str, title: str) -> str:
        """The uid of the folder now holding `title`: the new one, or one someone made meanwhile."""
        response = self._call("POST", "/api/folders", ok=(200, 409, 412), json={"uid": uid, "title": title})
        if response.status_code == 200:
            return uid
        return uid if self.folder(uid) is not None else (self.folder_by_title(title) or uid)

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        """{"dashboard": ..., "meta": ...}, or None when there is none with this uid."""
        response = self._call("GET", f"/api/dashboards/uid/{uid}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str, message: str) -> dict[str, Any]:
        """Create, or update the version given in `dashboard["version"]`: Grafana refuses (412)
        when someone saved a newer one in between, so nothing is silently overwritten."""
        body = {"dashboard": dashboard, "folderUid": folder_uid, "overwrite": False, "message": message}
        response = self._call("POST", "/api/dashboards/db", ok=(200, 412), json=body)
        if response.status_code == 412:
            # A retried save whose first answer was lost (a 504 after it took effect) meets its own
            # new version: if what Grafana holds is exactly this dashboard, the save is done.
            stored = self.dashboard(str(dashboard.get("uid")))
            if stored is None or stored["dashboard"].get(MARK) != dashboard.get(MARK) or content(stored["dashboard"]) != content(dashboard):
                raise self.refuse("POST", "/api/dashboards/db", response)
            return {"uid": dashboard.get("uid"), "status": "success", "version": stored["dashboard"].get("version")}
        saved: dict[str, Any] = response.json()
        return saved

    def delete_dashboard(self, uid: str) -> None:
        self._call("DELETE", f"/api/dashboards/uid/{uid}", ok=(200, 404))

    def search(self, tag: str) -> list[dict[str, Any]]:
        """Every dashboard with this tag, page by page."""
        found: list[dict[str, Any]] = []
        page, limit = 1, 500
        while True:
            batch = self._call(
                "GET", "/api/search", params={"type": "dash-db", "tag": tag, "limit": limit, "page": page}
            ).json()
            found += batch
            if len(batch) < limit:
                return found
            page += 1


def grafana_from_env(
    url: str | None = None, token_file: str | None = None, org_id: int | None = None,
    ca_file: str | None = None, insecure: bool = False, timeout: float | None = None,
) -> Grafana:
    """Flags first, then GRAFANA_URL, GRAFANA_TOKEN or GRAFANA_TOKEN_FILE, GRAFANA_ORG_ID, GRAFANA_CA_FILE."""
    endpoint = Endpoint.from_env("GRAFANA", url, token_file, org_id, ca_file, insecure, timeout)
    if endpoint is None:
        raise RemoteError("no Grafana URL: pass --grafana-url or set GRAFANA_URL")
    if not endpoint.token:
        raise RemoteError("no Grafana token: set GRAFANA_TOKEN or pass --token-file (a service-account token)")
    return Grafana(endpoint)


@dataclass(frozen=True)
class Local:
    uid: str
    folder: str  # the output's folder name: the Grafana folder's uid and title
    dashboard: dict[str, Any]
    folder_uid: str = ""  # where it goes in Grafana, when a folder of that title has another uid


@dataclass(frozen=True)
class Folder:
    name: str


def folder_uid(name: str) -> str:
    """The folder's uid: its name where Grafana allows that as a uid (obsgen's own folder names
    always are), else a slug of it with a short hash, so "Team Web" and "team-web" stay apart."""
    if UID.fullmatch(name):
        return name
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", name).strip("-")[:28] or "folder"
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def load_dashboards(folder: Path) -> list[Local]:
    """<folder>/<grafana folder>/<uid>.json, in a stable order."""
    if not folder.is_dir():
        raise RemoteError(f"no dashboards in {folder}: run `obsgen generate` first")
    found = []
    for path in sorted(folder.glob("*/*.json")):
        try:
            dashboard = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise OutputError(f"{path} is not a dashboard obsgen wrote ({exc}); run `obsgen generate` again") from None
        if not isinstance(dashboard, dict) or not isinstance(dashboard.get("uid"), str):
            raise OutputError(f"{path} is not a dashboard obsgen wrote (no uid); run `obsgen generate` again")
        found.append(Local(dashboard["uid"], path.parent.name, dashboard))
    return found


def content(dashboard: dict[str, Any]) -> dict[str, Any]:
    """What a fingerprint covers: all but Grafana's bookkeeping and obsgen's own mark."""
    out = {k: v for k, v in dashboard.items() if k not in VOLATILE}
    if any(str(t).startswith(FP_TAG) for t in out.get("tags", [])):
        out["tags"] = [t for t in out["tags"] if not str(t).startswith(FP_TAG)]
    return out


def fingerprint(dashboard: dict[str, Any]) -> str:
    canonical = json.dumps(content(dashboard), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def marked(dashboard: dict[str, Any], project: str | None) -> dict[str, Any]:
    """The dashboard as obsgen writes it: tagged with obsgen and its project, and fingerprinted."""
    out = dict(dashboard)
    out["tags"] = sorted({*out.get("tags", []), TAG, *([PROJECT_TAG + project] if project else [])})
    print_ = fingerprint(out)
    out["tags"] = sorted([*out["tags"], FP_TAG + print_[:16]])
    out[MARK] = {"fingerprint": print_, "project": project, "uid": out.get("uid")}
    return out


def owner_problem(remote: dict[str, Any], project: str | None) -> str:
    """Why a remote dashboard is not this project's to write, or '' when it is. A UI save drops
    the mark but keeps the tags, so the project tag still tells whose it is."""
    mark, tags = remote.get(MARK) or {}, remote.get("tags", [])
    if not mark and TAG not in tags:
        return "not written by obsgen; --force to take it over"
    tagged = next((t.removeprefix(PROJECT_TAG) for t in tags if t.startswith(PROJECT_TAG)), None)
    theirs = mark.get("project") if mark else tagged
    if theirs != project:
        return f"written by obsgen project {theirs!r}, not {project!r}" if theirs else f"written by obsgen without a project, not {project!r}"
    if mark.get("uid") not in (None, remote.get("uid")):
        return f"a copy of {mark.get('uid')!r} imported under another uid"
    return ""


def _diff(remote: dict[str, Any], local: dict[str, Any], uid: str) -> str:
    """A unified diff of what differs, built per top-level key and per panel (a whole-dashboard
    text diff of a 60,000-line overview took most of a minute), at most MAX_DIFF_LINES lines."""
    old, new = content(remote), content(local)
    lines: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "panels" and isinstance(before, list) and isinstance(after, list):
            for i in range(max(len(before), len(after))):
                a, b = (before[i] if i < len(before) else None), (after[i] if i < len(after) else None)
                if a != b:
                    lines += _text_diff(a, b, f"panels[{i}]")
        else:
            lines += _text_diff(before, after, key)
        if len(lines) > MAX_DIFF_LINES:
            break
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... (diff cut at {MAX_DIFF_LINES} lines)\n"]
    header = [f"--- grafana/{uid}\n", f"+++ obsgen/{uid}\n"] if lines else []
    return "".join(header + lines)


def _text_diff(before: Any, after: Any, where: str) -> list[str]:
    def text(value: Any) -> list[str]:
        return [] if value is None else json.dumps(value, indent=2, sort_keys=True).splitlines(keepends=True)

    body = list(difflib.unified_diff(text(before), text(after), n=2))[2:]  # without the ---/+++ header
    return [f"@@ {where} @@\n", *(line if line.endswith("\n") else line + "\n" for line in body if not line.startswith("@@"))]


class Dashboards:
    """The sync adapter: generated dashboards against one Grafana organisation, owned by `project`."""

    name = "Grafana"

    def __init__(self, client: Grafana, local: list[Local], project: str | None = None) -> None:
        self.client = client
        self.local = local
        self.project = project
        self.created: dict[str, str] = {}  # folder name -> the uid it got when this push made it

    def _change(self, local: Local, action: Action, diff: str = "", version: int | None = None, note: str = "") -> Change:
        title = str(local.dashboard.get("title", local.uid))
        return Change(self.name, f"{local.folder}/{local.uid}", action, title, diff, local, version, note)

    def plan(self, prune: bool = False, diffs: bool = True, skip_unchanged: bool = False) -> list[Change]:
        """What a push would do. With `skip_unchanged` (push without --force) a dashboard whose
        fingerprint tag in Grafana's search matches the generated one is unchanged without being
        fetched: push writes only what obsgen changed, and `plan` reports edits made in Grafana."""
        self.client.health()
        changes, folder_uids = self._folders()
        known = self._known() if skip_unchanged else {}
        dashboards = [replace(d, folder_uid=folder_uids[d.folder]) for d in self.local]
        with ThreadPoolExecutor(FETCHERS) as pool:
            changes += pool.map(lambda local: self._classify(local, known, diffs), dashboards)
        if prune:
            changes += self._stale()
        return changes

    def _known(self) -> dict[str, tuple[str, str]]:
        """uid -> (fingerprint tag, folder uid) of this project's dashboards, from one search."""
        hits = self.client.search(PROJECT_TAG + self.project if self.project else TAG)
        return {
            h["uid"]: (next((t for t in h.get("tags", []) if t.startswith(FP_TAG)), ""), h.get("folderUid", ""))
            for h in hits
        }

    def _classify(self, local: Local, known: dict[str, tuple[str, str]], diffs: bool) -> Change:
        wanted = marked(local.dashboard, self.project)
        if known.get(local.uid) == (FP_TAG + wanted[MARK]["fingerprint"][:16], local.folder_uid):
            return self._change(local, Action.UNCHANGED)
        found = self.client.dashboard(local.uid)
        if found is None:
            return self._change(local, Action.CREATE)
        remote, meta = found["dashboard"], found.get("meta", {})
        mark = remote.get(MARK) or {}
        note = owner_problem(remote, self.project)
        if note:
            action = Action.FOREIGN
        elif mark.get("fingerprint") != fingerprint(remote):
            action = Action.DRIFT  # edited since obsgen wrote it: by API, or saved in the UI (which drops the mark)
        elif fingerprint(remote) == wanted[MARK]["fingerprint"] and meta.get("folderUid", local.folder_uid) == local.folder_uid:
            action = Action.UNCHANGED
        else:
            action = Action.UPDATE
        diff = _diff(remote, wanted, local.uid) if diffs and action != Action.UNCHANGED else ""
        return self._change(local, action, diff, remote.get("version"), note)

    def _folders(self) -> tuple[list[Change], dict[str, str]]:
        """A change per folder the dashboards need, and the uid each goes to: its own name, or the
        uid of a folder someone already made with that title (Grafana refuses a second one)."""
        changes, uids = [], {}
        for name in sorted({d.folder for d in self.local}):
            key, uid = f"folder {name}", folder_uid(name)
            if self.client.folder(uid) is not None:
                uids[name] = uid
                changes.append(Change(self.name, key, Action.UNCHANGED))
            elif (other := self.client.folder_by_title(name)) is not None:
                uids[name] = other
                changes.append(Change(self.name, key, Action.UNCHANGED, note=f"uses the existing folder {name!r} (uid {other})"))
            else:
                uids[name] = uid
                changes.append(Change(self.name, key, Action.CREATE, payload=Folder(name)))
        return changes, uids

    def _stale(self) -> list[Change]:
        """What --prune would delete: this project's dashboards that are no longer generated."""
        if not self.project:
            raise RemoteError("--prune needs `project:` in obsgen.yaml, so that it deletes only what this project wrote")
        keep = {d.uid for d in self.local}
        changes = []
        for hit in self.client.search(PROJECT_TAG + self.project):
            found = self.client.dashboard(hit["uid"]) if hit["uid"] not in keep else None
            if found is None:
                continue
            remote = found["dashboard"]
            key, title = f"{hit.get('folderUid', '')}/{hit['uid']}", hit.get("title", "")
            if note := owner_problem(remote, self.project):
                changes.append(Change(self.name, key, Action.KEEP, title, note=note))
            elif (remote.get(MARK) or {}).get("fingerprint") != fingerprint(remote):
                changes.append(Change(self.name, key, Action.DRIFT, title, payload=hit["uid"], remove=True,
                                      note="no longer generated, but edited since obsgen wrote it; --force to delete"))
            else:
                changes.append(Change(self.name, key, Action.DELETE, title, payload=hit["uid"]))
        return changes

    def prepare(self, changes: list[Change]) -> None:
        """Folders are changes of their own, planned first."""

    def apply(self, change: Change, message: str) -> None:
        if isinstance(change.payload, Folder):
            name = change.payload.name
            self.created[name] = self.client.create_folder(folder_uid(name), name)
            return
        if change.action == Action.DELETE or change.remove:
            self.client.delete_dashboard(change.payload)
            return
        local: Local = change.payload
        body = marked(local.dashboard, self.project)
        if change.version is not None:
            body["version"] = change.version  # Grafana refuses if it moved on meanwhile
        self.client.save_dashboard(body, self.created.get(local.folder, local.folder_uid or folder_uid(local.folder)), message)
