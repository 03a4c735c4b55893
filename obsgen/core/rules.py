"""Typed rules, as every target emits them (Prometheus and Loki rule files share one shape).

Builders return these; `RuleGroup.to_dict` is the one place they become the documents the rulers
read. Alert rules keep what they were built from (the SLO and its burn-rate tier), so the test
generators and the report never parse labels back.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from obsgen.core import names
from obsgen.core.durations import format_duration
from obsgen.core.slo_math import Tier


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record, "expr": self.expr, "labels": dict(self.labels)}


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    for_: int = 0  # seconds the condition must hold; 0 fires at once
    slo: str | None = None  # the SLO it guards, for SLO alerts
    tier: Tier | None = None  # the burn-rate tier, for burn-rate alerts

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_:
            out["for"] = format_duration(self.for_)
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        return out


Rule = RecordingRule | AlertRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]
    interval: int = 0  # seconds; 0 leaves it to the ruler's default

    @property
    def alerts(self) -> list[AlertRule]:
        return [r for r in self.rules if isinstance(r, AlertRule)]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.interval:
            out["interval"] = format_duration(self.interval)
        out["rules"] = [r.to_dict() for r in self.rules]
        return out


def rule_file(groups: list[RuleGroup]) -> dict[str, Any]:
    """A Prometheus or Loki rule file's document."""
    return {"groups": [g.to_dict() for g in groups]}


def alerts_of(groups: list[RuleGroup]) -> list[AlertRule]:
    return [a for g in groups for a in g.alerts]


@dataclass(frozen=True)
class AlertText:
    """What an alert tells the on-call: a static summary, a templated description, and links."""

    summary: str
    description: str
    runbook_url: str
    dashboard_url: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)  # a spec's own annotations, last


def runbook_section(runbook: str, alert_name: str) -> str:
    """A service's runbook at the section docs/runbooks.md gives an operational alert."""
    return f"{runbook}#{alert_name.lower()}"


def alert(
    name: str,
    expr: str,
    *,
    severity: str,
    team: str,
    service: str,
    identity: Mapping[str, str],
    text: AlertText,
    for_: int = 0,
    custom_labels: Mapping[str, str] | None = None,
    slo: str | None = None,
    tier: Tier | None = None,
) -> AlertRule:
    """Every alert obsgen writes, for every target, in one shape: a spec's own labels first, then
    severity, team and service, then what identifies the alert (slo, queue, signal, windows);
    annotations summary, description, runbook_url, dashboard_url, then a spec's own."""
    labels = {**(custom_labels or {}), names.SEVERITY: severity, names.TEAM: team, names.SERVICE: service, **identity}
    annotations = {"summary": text.summary, "description": text.description, "runbook_url": text.runbook_url}
    if text.dashboard_url:
        annotations["dashboard_url"] = text.dashboard_url
    annotations.update(text.extra)
    return AlertRule(name, expr, labels, annotations, for_, slo, tier)
