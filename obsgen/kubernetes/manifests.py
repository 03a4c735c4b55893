"""The same rules, Alertmanager configuration and queue depths, as the objects a cluster runs them from.

A PrometheusRule (monitoring.coreos.com/v1) per service holds exactly the groups of the plain rule
file. The Alertmanager configuration becomes a Secret that references its secrets, never embeds
them: the configuration reads every key and token from a `*_file` path, and the Secret names those
files in an annotation so whoever mounts it knows which Secrets to mount beside it.
"""
from __future__ import annotations

from typing import Any

from obsgen.core import promql
from obsgen.model.ops import Queue, Scaling
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


# Scaling workers on a queue's depth: Queue.total_depth, the query QueueCannotCatchUp reads too.
QUEUE_LABEL = "obsgen.dev/queue"


def external_metric(service: str, q: Queue) -> str:
    """The name prometheus-adapter serves one queue's depth under: one metric per queue, so no
    HPA depends on how the adapter matches selectors."""
    return f"obsgen_queue_depth_{service}_{q.name}".replace("-", "_")


def _scaler(service: str, q: Queue, k8s: Kubernetes) -> tuple[Scaling, dict[str, Any]]:
    """The queue's scaling, and the metadata of the objects that scale its workers."""
    assert q.scale is not None, "only queues that scale have scalers"
    metadata = {"name": f"{q.scale.workload(service)}-{q.name}", "namespace": q.scale.namespace,
                "labels": {**k8s.labels, **MANAGED_BY, SERVICE_LABEL: service, QUEUE_LABEL: q.name}}
    return q.scale, metadata


def scaled_object(service: str, q: Queue, k8s: Kubernetes) -> dict[str, Any]:
    """A KEDA ScaledObject: replicas = ceil(depth / target_per_replica), within min and max."""
    scale, metadata = _scaler(service, q, k8s)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"name": scale.workload(service)},
            "minReplicaCount": scale.min,
            "maxReplicaCount": scale.max,
            "triggers": [{
                "type": "prometheus",
                "metadata": {"serverAddress": k8s.prometheus_url, "query": q.total_depth,
                             "threshold": promql.number(scale.target_per_replica)},
            }],
        },
    }


def hpa(service: str, q: Queue, k8s: Kubernetes) -> dict[str, Any]:
    """For clusters without KEDA: an HPA on the external metric prometheus-adapter serves."""
    scale, metadata = _scaler(service, q, k8s)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": scale.workload(service)},
            "minReplicas": max(1, scale.min),  # an HPA cannot scale to zero
            "maxReplicas": scale.max,
            "metrics": [{
                "type": "External",
                "external": {
                    "metric": {"name": external_metric(service, q)},
                    "target": {"type": "AverageValue", "averageValue": promql.number(scale.target_per_replica)},
                },
            }],
        },
    }


def adapter_rules(queues: list[tuple[str, Queue]]) -> dict[str, Any]:
    """prometheus-adapter's `externalRules` (its Helm chart's rules.external): each scaled queue's
    depth, summed, under its own name."""
    return {"externalRules": [
        {
            "seriesQuery": q.depth.selector.render(),
            "metricsQuery": q.total_depth,
            "name": {"as": external_metric(service, q)},
            "resources": {"namespaced": False},
        }
        for service, q in queues
    ]}
