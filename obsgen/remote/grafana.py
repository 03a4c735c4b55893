"""Grafana dashboards as a remote: idempotent pushes, never over someone's edits.

obsgen marks every dashboard it writes with a fingerprint of its content (the `obsgen` key). A
remote dashboard whose content no longer matches its own fingerprint was edited in Grafana since
obsgen wrote it (a UI save also drops the key): push refuses it unless forced. Prune only ever
deletes dashboards that carry the mark.
"""
from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from obsgen.errors import OutputError, RemoteError
from obsgen.remote.http import ApiClient, Endpoint
from obsgen.remote.sync import Action, Change

MARK = "obsgen"  # top-level key of the dashboard JSON: {"fingerprint": ...}
TAG = "obsgen"
VOLATILE = ("id", "version", MARK)  # Grafana assigns ids and versions; the mark describes the rest


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
        health: dict[str, Any] = self._call("GET", "/api/health").json()
        return health

    def folder(self, uid: str) -> dict[str, Any] | None:
        response = self._call("GET", f"/api/folders/{uid}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def create_folder(self, uid: str, title: str) -> None:
        # 409/412: it exists already (created meanwhile, or the same title): nothing to do.
        self._call("POST", "/api/folders", ok=(200, 409, 412), json={"uid": uid, "title": title})

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        """{"dashboard": ..., "meta": ...}, or None when there is none with this uid."""
        response = self._call("GET", f"/api/dashboards/uid/{uid}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str, message: str) -> dict[str, Any]:
        """Create, or update the version given in `dashboard["version"]`: Grafana refuses (412)
        when someone saved a newer one in between, so nothing is silently overwritten."""
        body = {"dashboard": dashboard, "folderUid": folder_uid, "overwrite": False, "message": message}
        saved: dict[str, Any] = self._call("POST", "/api/dashboards/db", json=body).json()
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
    folder: str
    dashboard: dict[str, Any]


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
    return {k: v for k, v in dashboard.items() if k not in VOLATILE}


def fingerprint(dashboard: dict[str, Any]) -> str:
    canonical = json.dumps(content(dashboard), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def marked(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The dashboard as obsgen writes it: tagged, and fingerprinted."""
    out = dict(dashboard)
    out["tags"] = sorted({*out.get("tags", []), TAG})
    out[MARK] = {"fingerprint": fingerprint(out)}
    return out


def _diff(remote: dict[str, Any], local: dict[str, Any], uid: str) -> str:
    def lines(d: dict[str, Any]) -> list[str]:
        return json.dumps(content(d), indent=2, sort_keys=True).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(remote), lines(local), f"grafana/{uid}", f"obsgen/{uid}"))


class Dashboards:
    """The sync adapter: generated dashboards against one Grafana organisation."""

    name = "Grafana"

    def __init__(self, client: Grafana, local: list[Local]) -> None:
        self.client = client
        self.local = local

    def _change(self, local: Local, action: Action, diff: str = "", version: int | None = None) -> Change:
        title = str(local.dashboard.get("title", local.uid))
        return Change(self.name, f"{local.folder}/{local.uid}", action, title, diff, local, version)

    def plan(self, prune: bool = False) -> list[Change]:
        changes = []
        for local in self.local:
            wanted = marked(local.dashboard)
            found = self.client.dashboard(local.uid)
            if found is None:
                changes.append(self._change(local, Action.CREATE))
                continue
            remote, meta = found["dashboard"], found.get("meta", {})
            mark = remote.get(MARK) or {}
            if not mark and TAG not in remote.get("tags", []):
                action = Action.FOREIGN  # a dashboard obsgen did not write holds this uid
            elif mark.get("fingerprint") != fingerprint(remote):
                action = Action.DRIFT  # edited since obsgen wrote it: by API, or saved in the UI (which drops the mark)
            elif fingerprint(remote) == wanted[MARK]["fingerprint"] and meta.get("folderUid", local.folder) == local.folder:
                action = Action.UNCHANGED
            else:
                action = Action.UPDATE
            diff = _diff(remote, wanted, local.uid) if action != Action.UNCHANGED else ""
            changes.append(self._change(local, action, diff, remote.get("version")))
        if prune:
            keep = {d.uid for d in self.local}
            for hit in self.client.search(TAG):
                if hit["uid"] in keep:
                    continue
                found = self.client.dashboard(hit["uid"])
                if found is not None and found["dashboard"].get(MARK):  # only what obsgen wrote
                    key = f"{hit.get('folderUid', '')}/{hit['uid']}"
                    changes.append(Change(self.name, key, Action.DELETE, hit.get("title", ""), payload=hit["uid"]))
        return changes

    def prepare(self, changes: list[Change]) -> None:
        for folder in sorted({c.payload.folder for c in changes if isinstance(c.payload, Local)}):
            if self.client.folder(folder) is None:
                self.client.create_folder(folder, folder)

    def apply(self, change: Change, message: str) -> None:
        if change.action == Action.DELETE:
            self.client.delete_dashboard(change.payload)
            return
        local: Local = change.payload
        body = marked(local.dashboard)
        if change.version is not None:
            body["version"] = change.version  # Grafana refuses if it moved on meanwhile
        self.client.save_dashboard(body, local.folder, message)
