"""Plan and push generated dashboards to Grafana: idempotent, and never over someone's edits.

obsgen marks every dashboard it writes with a fingerprint of its content (the `obsgen` key). A
remote dashboard whose content no longer matches its own fingerprint was edited in Grafana since
obsgen wrote it (a UI save also drops the key): push refuses it unless forced. Prune only ever
deletes dashboards that carry the mark.
"""
from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsgen.grafana_api import Grafana, GrafanaError

MARK = "obsgen"  # top-level key of the dashboard JSON: {"fingerprint": ...}
TAG = "obsgen"
VOLATILE = ("id", "version", MARK)  # Grafana assigns ids and versions; the mark describes the rest

CREATE, UPDATE, UNCHANGED, DRIFT, FOREIGN, DELETE = "create", "update", "unchanged", "drift", "foreign", "delete"


@dataclass(frozen=True)
class Local:
    uid: str
    folder: str
    dashboard: dict[str, Any]


@dataclass
class Change:
    uid: str
    title: str
    folder: str
    action: str
    diff: str = ""
    local: Local | None = None
    remote_version: int | None = None


@dataclass
class Result:
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def load_dashboards(folder: Path) -> list[Local]:
    """output/grafana/dashboards/<folder>/<uid>.json, in a stable order."""
    found = []
    for path in sorted(folder.glob("*/*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
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


def plan(client: Grafana, dashboards: list[Local], prune: bool = False) -> list[Change]:
    changes = []
    for local in dashboards:
        wanted = marked(local.dashboard)
        title = wanted.get("title", local.uid)
        found = client.dashboard(local.uid)
        if found is None:
            changes.append(Change(local.uid, title, local.folder, CREATE, local=local))
            continue
        remote, meta = found["dashboard"], found.get("meta", {})
        version = remote.get("version")
        mark = remote.get(MARK) or {}
        if not mark and TAG not in remote.get("tags", []):
            action = FOREIGN  # a dashboard obsgen did not write holds this uid
        elif mark.get("fingerprint") != fingerprint(remote):
            action = DRIFT  # edited since obsgen wrote it: by API, or saved in the UI (which drops the mark)
        elif fingerprint(remote) == wanted[MARK]["fingerprint"] and meta.get("folderUid", local.folder) == local.folder:
            action = UNCHANGED
        else:
            action = UPDATE
        diff = _diff(remote, wanted, local.uid) if action != UNCHANGED else ""
        changes.append(Change(local.uid, title, local.folder, action, diff, local, version))
    if prune:
        keep = {d.uid for d in dashboards}
        for hit in client.search(TAG):
            if hit["uid"] in keep:
                continue
            found = client.dashboard(hit["uid"])
            if found is not None and found["dashboard"].get(MARK):  # only what obsgen wrote
                changes.append(Change(hit["uid"], hit.get("title", ""), hit.get("folderUid", ""), DELETE))
    return changes


def pending(changes: list[Change], force: bool = False) -> list[Change]:
    """What a push would do: forced pushes also overwrite drifted and foreign dashboards."""
    todo = {CREATE, UPDATE, DELETE} | ({DRIFT, FOREIGN} if force else set())
    return [c for c in changes if c.action in todo]


def apply(
    client: Grafana, changes: list[Change], message: str, force: bool = False,
    progress: Callable[[int, int, Change, str], None] = lambda *_: None,
) -> Result:
    """Carry out the plan. A failure stops nothing: every dashboard is tried, and the result says
    which were written, so a second run finishes what the first could not."""
    result = Result(refused=[c.uid for c in changes if c.action in (DRIFT, FOREIGN) and not force])
    todo = pending(changes, force)
    folders = sorted({c.folder for c in todo if c.action != DELETE})
    try:
        for folder in folders:
            if client.folder(folder) is None:
                client.create_folder(folder, folder)
    except GrafanaError as exc:
        result.failed += [(c.uid, str(exc)) for c in todo]
        return result
    for i, change in enumerate(todo, 1):
        try:
            if change.action == DELETE:
                client.delete_dashboard(change.uid)
                result.deleted.append(change.uid)
            else:
                assert change.local is not None
                body = marked(change.local.dashboard)
                if change.remote_version is not None:
                    body["version"] = change.remote_version  # Grafana refuses if it moved on meanwhile
                client.save_dashboard(body, change.folder, message)
                result.written.append(change.uid)
            progress(i, len(todo), change, "done")
        except GrafanaError as exc:
            result.failed.append((change.uid, str(exc)))
            progress(i, len(todo), change, "failed")
    return result
