"""Rule groups as a remote: a Mimir/Cortex ruler or a Loki ruler, through their HTTP configuration APIs.

One namespace per service, `<project>.<service>` (a bare `<service>` when obsgen.yaml names no
project), the tenant in X-Scope-OrgID. Groups are compared as parsed YAML, so a second push changes
nothing. Prune needs a project: it deletes only groups whose names carry obsgen's prefixes, in the
namespaces of this project (`<project>.` and a service name: names cannot hold a dot), never another's.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import requests
import yaml

from obsgen.core.names import OWNED_GROUP_PREFIXES
from obsgen.errors import RemoteError
from obsgen.remote.http import ApiClient, Endpoint
from obsgen.remote.sync import Action, Change

MIMIR_PREFIX = "/prometheus/config/v1/rules"
CORTEX_PREFIX = "/api/v1/rules"  # Cortex's own path for the same API Mimir kept under MIMIR_PREFIX
LOKI_PREFIX = "/loki/api/v1/rules"
KINDS = {"mimir": (MIMIR_PREFIX, "Mimir ruler"), "cortex": (CORTEX_PREFIX, "Cortex ruler"), "loki": (LOKI_PREFIX, "Loki ruler")}
PROMETHEUS_RULERS = ("mimir", "cortex")  # the rulers that take the Prometheus rule groups

Groups = dict[str, list[dict[str, Any]]]  # namespace -> rule groups


class Ruler(ApiClient):
    hints: ClassVar[dict[int, str]] = {
        401: "the ruler wants credentials or a tenant: set the tenant (X-Scope-OrgID) and token",
        403: "the credentials may not change rules for this tenant",
        404: "not found: check the ruler URL",
    }

    def __init__(self, config: Endpoint, tenant: str | None, prefix: str, name: str) -> None:
        self.name = name
        self.prefix = prefix
        super().__init__(config, {"X-Scope-OrgID": tenant} if tenant else {})

    def _absent(self, response: requests.Response) -> bool:
        """A 404 that means "no rule groups", not "no ruler API here" (a wrong URL or prefix answers
        404 to everything, which must not read as an empty ruler)."""
        if response.status_code != 404:
            return False
        if "no rule groups found" in response.text.lower():
            return True
        first = next((line.strip() for line in response.text.splitlines() if line.strip()), "")[:120]
        raise RemoteError(
            f"{self.config.url} does not serve the {self.name} API at {self.prefix} (404 {first!r}); "
            "check the URL and its path prefix"
        )

    def namespace(self, namespace: str) -> list[dict[str, Any]]:
        response = self._call("GET", f"{self.prefix}/{quote(namespace, safe='')}", ok=(200, 404))
        if self._absent(response):
            return []
        found: list[dict[str, Any]] = (yaml.safe_load(response.text) or {}).get(namespace, [])
        return found

    def namespaces(self) -> Groups:
        response = self._call("GET", self.prefix, ok=(200, 404))
        return {} if self._absent(response) else (yaml.safe_load(response.text) or {})

    def set_group(self, namespace: str, group: dict[str, Any]) -> None:
        body = yaml.safe_dump(group, sort_keys=False)
        self._call("POST", f"{self.prefix}/{quote(namespace, safe='')}", ok=(200, 202), data=body.encode(),
                   headers={"Content-Type": "application/yaml"})

    def delete_group(self, namespace: str, group: str) -> None:
        self._call("DELETE", f"{self.prefix}/{quote(namespace, safe='')}/{quote(group, safe='')}", ok=(200, 202, 404))


def ruler_from_env(kind: str, tenant: str | None = None) -> Ruler | None:
    """MIMIR_URL / CORTEX_URL / LOKI_URL with _TENANT, _TOKEN or _TOKEN_FILE, _CA_FILE; None when no URL is set."""
    endpoint = Endpoint.from_env(kind.upper())
    if endpoint is None:
        return None
    prefix, name = KINDS[kind]
    return Ruler(endpoint, tenant or os.environ.get(f"{kind.upper()}_TENANT"), prefix, name)


def local_groups(folder: Path) -> Groups:
    """namespace (the file's service) -> its rule groups, from <folder>/*.yml."""
    return {
        path.stem: (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", [])
        for path in sorted(folder.glob("*.yml"))
    }


def _diff(remote: dict[str, Any], local: dict[str, Any], key: str) -> str:
    def lines(group: dict[str, Any]) -> list[str]:
        return yaml.safe_dump(_normal(group), sort_keys=False, width=1_000_000).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(remote), lines(local), f"ruler/{key}", f"obsgen/{key}"))


def _normal(group: dict[str, Any]) -> dict[str, Any]:
    """What a ruler hands back for a group, with the fields obsgen writes."""
    return {k: group[k] for k in ("name", "interval", "rules") if k in group}


def namespace_of(project: str | None, service: str) -> str:
    return f"{project}.{service}" if project else service


class RuleGroups:
    """The sync adapter: generated rule groups (by service) against one ruler tenant."""

    def __init__(self, ruler: Ruler, by_service: Groups, project: str | None = None) -> None:
        self.ruler = ruler
        self.name = ruler.name
        self.project = project
        self.wanted = {namespace_of(project, service): groups for service, groups in by_service.items()}

    def plan(self, prune: bool = False, diffs: bool = True, skip_unchanged: bool = False) -> list[Change]:
        changes = []
        for namespace, groups in self.wanted.items():
            remote = {g["name"]: g for g in self.ruler.namespace(namespace)}
            for group in groups:
                found = remote.get(group["name"])
                action = Action.CREATE if found is None else (Action.UNCHANGED if _normal(found) == _normal(group) else Action.UPDATE)
                diff = _diff(found, group, f"{namespace}/{group['name']}") if diffs and found is not None and action == Action.UPDATE else ""
                changes.append(Change(self.name, f"{namespace}/{group['name']}", action, diff=diff, payload=(namespace, group)))
        if prune:
            if not self.project:
                raise RemoteError("--prune needs `project:` in obsgen.yaml, so that it deletes only what this project wrote")
            keep = {(ns, g["name"]) for ns, groups in self.wanted.items() for g in groups}
            for namespace, groups in sorted(self.ruler.namespaces().items()):
                if not namespace.startswith(f"{self.project}."):
                    continue  # another project's, or written by hand
                for group in groups:
                    if group["name"].startswith(OWNED_GROUP_PREFIXES) and (namespace, group["name"]) not in keep:
                        changes.append(Change(self.name, f"{namespace}/{group['name']}", Action.DELETE, payload=(namespace, group)))
        return changes

    def prepare(self, changes: list[Change]) -> None:
        """Rulers create namespaces on the first write."""

    def apply(self, change: Change, message: str) -> None:
        namespace, group = change.payload
        if change.action == Action.DELETE:
            self.ruler.delete_group(namespace, group["name"])
        else:
            self.ruler.set_group(namespace, group)
