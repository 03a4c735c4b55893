"""Operational early warnings next to a service's SLOs (alerts/<service>.yaml).

Queues, saturation, external dependencies, traffic anomalies and log signals. Each alert belongs
to the service's team unless it names another, and carries a runbook link.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from obsgen.core import promql
from obsgen.model.types import Gauge, LabelName, Name, Number, Percent, Seconds, Selector, Strict

Severity = Literal["critical", "warning", "info"]


def _log_selector(value: str) -> str:
    if not re.fullmatch(r"\{\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*\".*\"\s*(,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*\".*\"\s*)*\}", value.strip()):
        raise ValueError(f"{value!r} is not a LogQL stream selector: write it in braces, e.g. {{app=\"pup-api\"}}")
    return value.strip()


LogSelector = Annotated[str, AfterValidator(_log_selector)]
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')


def _log_pipeline(value: str) -> str:
    """Line filters, parsers and label filters only: `match` is pasted inside rate(...), and a
    bracket outside a string would let it close that and add, say, `or vector(1)`, which always fires."""
    bare = _QUOTED.sub('""', value).strip()
    if bare and (not bare.startswith(("|", "!=", "!~")) or any(c in bare for c in "()[]{}")):
        raise ValueError(
            f"{value!r} is not a pipeline of line filters or parsers, such as |= \"panic\" or | json | level=\"error\" "
            "(brackets belong inside quoted strings)"
        )
    return value


LogPipeline = Annotated[str, AfterValidator(_log_pipeline)]


class _Alert(Strict):
    team: Name | None = Field(None, description="Owning team; the service's team by default.")
    severity: Severity | None = Field(None, description="Default per kind: see the README.")
    for_: Seconds = Field("5m", alias="for", validate_default=True, description="How long the condition must hold before the alert fires.")


class Scaling(Strict):
    """How the queue's workers scale on its depth: obsgen writes the KEDA ScaledObject (and, for
    clusters without KEDA, a prometheus-adapter rule and an HPA) from the same depth the alerts read."""

    target_per_replica: Number = Field(gt=0, description="Messages waiting per worker replica the scaler aims at.")
    min: int = Field(1, ge=0, description="Fewest replicas (0 lets KEDA scale the workers away when the queue is empty).")
    max: int = Field(ge=1, description="Most replicas: at max, a growing backlog pages (QueueCannotCatchUp).")
    deployment: Name | None = Field(None, description="The workers' Deployment; the service's name by default.")
    namespace: Name = Field("default", description="The Deployment's namespace (the scaler objects go there too).")
    replicas: Selector | None = Field(
        None, description="Gauge of the workers' ready replicas; kube-state-metrics' "
        "kube_deployment_status_replicas_available{namespace, deployment} by default.",
    )

    @model_validator(mode="after")
    def _range(self) -> Scaling:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self

    def workload(self, service: str) -> str:
        return self.deployment or service

    def replicas_of(self, service: str) -> promql.Selector:
        return self.replicas or promql.Selector.of(
            "kube_deployment_status_replicas_available", namespace=self.namespace, deployment=self.workload(service)
        )


class Queue(_Alert):
    name: Name
    depth: Gauge = Field(
        description="Gauge: messages waiting; may sum partitions, e.g. sum by (topic) (kafka_consumergroup_lag). "
        "Queue alerts fire per series of this expression."
    )
    max_depth: Annotated[int, Field(gt=0)] = Field(description="The most the queue may hold.")
    oldest_age: Selector | None = Field(None, description="Gauge: age in seconds of the oldest waiting message.")
    max_age: Seconds | None = Field(None, description="Oldest message age limit (needs `oldest_age`).")
    drain_within: Seconds = Field("30m", validate_default=True, description="Alert when the trend says the backlog will not drain within this.")
    processed: Selector | None = Field(None, description="Counter of processed messages (dashboards).")
    enqueued: Selector | None = Field(None, description="Counter of enqueued messages (dashboards).")
    scale: Scaling | None = Field(None, description="How the workers scale on the depth (KEDA, or prometheus-adapter and an HPA).")

    @property
    def total_depth(self) -> str:
        """All the queue's waiting messages as one number: what scaling and QueueCannotCatchUp read."""
        return f"sum({self.depth.render()})"

    @model_validator(mode="after")
    def _age_needs_metric(self) -> Queue:
        if (self.max_age is None) != (self.oldest_age is None):
            raise ValueError("give `oldest_age` and `max_age` together")
        return self


class Saturation(_Alert):
    name: Name
    used: Selector = Field(description="Gauge of the resource in use, e.g. connections in use.")
    capacity: Selector = Field(description="Gauge of the resource's limit, e.g. pool size.")
    by: list[LabelName] = Field(
        default_factory=lambda: ["instance"], description="Labels that tell one pool or container from another."
    )
    warning: Percent = 80
    critical: Percent = 95

    @field_validator("critical")
    @classmethod
    def _levels(cls, value: float, info: ValidationInfo) -> float:
        warning = info.data.get("warning")
        if warning is not None and warning >= value:
            raise ValueError(f"must be above warning ({warning:g}%), got {value:g}%")
        return value


class DependencyLatency(Strict):
    histogram: Selector = Field(description="The client-side histogram, without _bucket.")
    percentile: Annotated[Number, Field(gt=0, lt=100)] = 99
    max: Annotated[Number, Field(gt=0, description="Seconds.")]


class ExternalDependency(_Alert):
    name: Name
    failures: Selector = Field(description="Counter of failed calls.")
    total: Selector = Field(description="Counter of all calls.")
    max_failure_ratio: Percent = 5
    latency: DependencyLatency | None = None


class Anomaly(_Alert):
    name: Name
    rate: Selector = Field(description="Counter of business or request events, e.g. conversations started.")
    min_ratio: Percent = Field(50, description="Alert below this share of the rate one week earlier.")
    for_: Seconds = Field("30m", alias="for", validate_default=True)


class LogSignal(_Alert):
    name: Name
    selector: LogSelector
    match: LogPipeline = Field("", description="Line filters or a parser stage, e.g. |= \"panic\" or | json | level=\"error\".")
    above: Number | None = Field(None, ge=0, description="Alert when matching lines per second exceed this.")
    above_ratio: Percent | None = Field(None, description="Alert when matching lines exceed this percent of all lines.")

    @model_validator(mode="after")
    def _one_threshold(self) -> LogSignal:
        if (self.above is None) == (self.above_ratio is None):
            raise ValueError("give exactly one of `above` (lines per second) or `above_ratio` (percent of lines)")
        return self


class Operations(Strict):
    """A service's operational alerts; empty when it has no alerts file."""

    queues: list[Queue] = Field(default_factory=list)
    saturation: list[Saturation] = Field(default_factory=list)
    dependencies: list[ExternalDependency] = Field(default_factory=list)
    anomalies: list[Anomaly] = Field(default_factory=list)
    logs: list[LogSignal] = Field(default_factory=list)
