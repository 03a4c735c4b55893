"""Rule groups to a Mimir/Cortex ruler or a Loki ruler, through their HTTP configuration APIs.

One namespace per service, the tenant in X-Scope-OrgID. Groups are compared as parsed YAML, so a
second push changes nothing; prune deletes only groups whose names carry obsgen's prefix.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from obsgen.grafana_api import ApiClient, GrafanaConfig, GrafanaError

MIMIR_PREFIX = "/prometheus/config/v1/rules"
LOKI_PREFIX = "/loki/api/v1/rules"
OWNED_GROUP_PREFIXES = ("slo:", "ops:", "logs:")  # obsgen's group names; prune touches nothing else

CREATE, UPDATE, UNCHANGED, DELETE = "create", "update", "unchanged", "delete"


class Ruler(ApiClient):
    hints = {
        401: "the ruler wants credentials or a tenant: set the tenant (X-Scope-OrgID) and token",
        403: "the credentials may not change rules for this tenant",
        404: "not found: check the ruler URL",
    }

    def __init__(self, config: GrafanaConfig, tenant: str | None, prefix: str, name: str) -> None:
        self.name = name
        self.prefix = prefix
        super().__init__(config, {"X-Scope-OrgID": tenant} if tenant else {})

    def namespace(self, namespace: str) -> list[dict[str, Any]]:
        response = self._call("GET", f"{self.prefix}/{quote(namespace, safe='')}", ok=(200, 404))
        if response.status_code == 404:
            return []
        return (yaml.safe_load(response.text) or {}).get(namespace, [])

    def namespaces(self) -> dict[str, list[dict[str, Any]]]:
        response = self._call("GET", self.prefix, ok=(200, 404))
        return {} if response.status_code == 404 else (yaml.safe_load(response.text) or {})

    def set_group(self, namespace: str, group: dict[str, Any]) -> None:
        body = yaml.safe_dump(group, sort_keys=False)
        self._call("POST", f"{self.prefix}/{quote(namespace, safe='')}", ok=(200, 202), data=body.encode(),
                   headers={"Content-Type": "application/yaml"})

    def delete_group(self, namespace: str, group: str) -> None:
        self._call("DELETE", f"{self.prefix}/{quote(namespace, safe='')}/{quote(group, safe='')}", ok=(200, 202, 404))


@dataclass(frozen=True)
class RuleChange:
    ruler: str
    namespace: str
    group: str
    action: str
    body: dict[str, Any] | None = None


def ruler_from_env(kind: str, url: str | None = None, tenant: str | None = None) -> Ruler | None:
    """MIMIR_URL / LOKI_URL with _TENANT, _TOKEN or _TOKEN_FILE, _CA_FILE; None when no URL is set."""
    env = os.environ
    upper = kind.upper()
    url = url or env.get(f"{upper}_URL")
    if not url:
        return None
    token = env.get(f"{upper}_TOKEN", "")
    if env.get(f"{upper}_TOKEN_FILE"):
        try:
            token = Path(env[f"{upper}_TOKEN_FILE"]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise GrafanaError(f"cannot read {upper}_TOKEN_FILE: {exc.strerror}") from None
    config = GrafanaConfig(url.rstrip("/"), token, verify=env.get(f"{upper}_CA_FILE") or True)
    prefix = MIMIR_PREFIX if kind == "mimir" else LOKI_PREFIX
    return Ruler(config, tenant or env.get(f"{upper}_TENANT"), prefix, "Mimir ruler" if kind == "mimir" else "Loki ruler")


def local_groups(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """namespace (the file's service) -> its rule groups, from <folder>/*.yml."""
    return {
        path.stem: (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", [])
        for path in sorted(folder.glob("*.yml"))
    }


def _normal(group: dict[str, Any]) -> dict[str, Any]:
    """What a ruler hands back for a group, with the fields obsgen writes."""
    return {k: group[k] for k in ("name", "interval", "rules") if k in group}


def plan_rules(ruler: Ruler, wanted: dict[str, list[dict[str, Any]]], prune: bool = False) -> list[RuleChange]:
    changes = []
    for namespace, groups in wanted.items():
        remote = {g["name"]: g for g in ruler.namespace(namespace)}
        for group in groups:
            found = remote.get(group["name"])
            action = CREATE if found is None else (UNCHANGED if _normal(found) == _normal(group) else UPDATE)
            changes.append(RuleChange(ruler.name, namespace, group["name"], action, group))
    if prune:
        keep = {(ns, g["name"]) for ns, groups in wanted.items() for g in groups}
        for namespace, groups in sorted(ruler.namespaces().items()):
            for group in groups:
                if group["name"].startswith(OWNED_GROUP_PREFIXES) and (namespace, group["name"]) not in keep:
                    changes.append(RuleChange(ruler.name, namespace, group["name"], DELETE))
    return changes


def apply_rules(ruler: Ruler, changes: list[RuleChange]) -> tuple[list[str], list[tuple[str, str]]]:
    """Carry out the plan, every group tried; returns (done, failed) as namespace/group names."""
    done, failed = [], []
    for change in changes:
        if change.action == UNCHANGED:
            continue
        name = f"{change.namespace}/{change.group}"
        try:
            if change.action == DELETE:
                ruler.delete_group(change.namespace, change.group)
            else:
                assert change.body is not None
                ruler.set_group(change.namespace, change.body)
            done.append(name)
        except GrafanaError as exc:
            failed.append((name, str(exc)))
    return done, failed
