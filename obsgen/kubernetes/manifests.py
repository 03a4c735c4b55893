"""The same rules and Alertmanager configuration, as the objects a cluster runs them from.

A PrometheusRule (monitoring.coreos.com/v1) per service holds exactly the groups of the plain rule
file. The Alertmanager configuration becomes a Secret that references its secrets, never embeds
them: the configuration reads every key and token from a `*_file` path, and the Secret names those
files in an annotation so whoever mounts it knows which Secrets to mount beside it.
"""
from __future__ import annotations

from typing import Any

from obsgen.model.project import Kubernetes

MANAGED_BY = {"app.kubernetes.io/managed-by": "obsgen"}
SERVICE_LABEL = "obsgen.dev/service"
SECRET_FILES = "obsgen.dev/secret-files"
CONFIG_KEY = "alertmanager.yaml"  # the key the Prometheus Operator's Alertmanager reads


def _metadata(name: str, k8s: Kubernetes, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": k8s.namespace, "labels": {**k8s.labels, **MANAGED_BY, **labels}}


def prometheus_rule(service: str, groups: list[dict[str, Any]], k8s: Kubernetes, project: str | None) -> dict[str, Any]:
    name = f"{project}-{service}" if project else service
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _metadata(name, k8s, {SERVICE_LABEL: service}),
        "spec": {"groups": groups},
    }


def alertmanager_secret(config: dict[str, Any], config_text: str, k8s: Kubernetes, project: str | None) -> dict[str, Any]:
    metadata = _metadata(f"alertmanager-{project or 'obsgen'}", k8s, {})
    files = sorted(set(_secret_files(config)))
    if files:
        metadata["annotations"] = {SECRET_FILES: ",".join(files)}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "stringData": {CONFIG_KEY: config_text}}


def _secret_files(value: Any) -> list[str]:
    """Every `*_file` path in the configuration: the secrets it reads at run time."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if str(k).endswith("_file") and isinstance(v, str)] + [
            f for v in value.values() for f in _secret_files(v)
        ]
    if isinstance(value, list):
        return [f for v in value for f in _secret_files(v)]
    return []


def thanos_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Thanos Ruler's rule groups: a partial answer (a store down) would compute wrong error ratios,
    and wrong pages, so every group aborts on one (`partial_response_strategy: abort`)."""
    return [{**group, "partial_response_strategy": "abort"} for group in groups]
