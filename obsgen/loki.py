"""LogQL for the log signals of alerts/<service>.yaml: Loki ruler groups and dashboard queries. Pure."""
from __future__ import annotations

from typing import Any

from obsgen import names, promql
from obsgen.ops_rules import runbook_url
from obsgen.ops_spec import LogSignal, OpsSpec
from obsgen.spec import Service

WINDOW = "5m"
RECORD = "log_signal:lines:rate5m"
ALERT = "LogSignalHigh"


def stream(signal: LogSignal) -> str:
    """The signal's matching lines: selector, then its filters or parser stage."""
    return f"{signal.selector} {signal.match}".strip()


def lines_rate(signal: LogSignal) -> str:
    return f"sum(rate({stream(signal)} [{WINDOW}]))"


def alert_expr(signal: LogSignal) -> str:
    if signal.above_ratio is not None:
        return f"{lines_rate(signal)} / sum(rate({signal.selector} [{WINDOW}])) * 100 > {promql.number(signal.above_ratio)}"
    return f"{lines_rate(signal)} > {promql.number(signal.above or 0)}"


def ruler_groups(service: Service, ops: OpsSpec, dashboard_url: str = "") -> list[dict[str, Any]]:
    """One group per service for Loki's ruler: a recording and an alerting rule per signal."""
    rules: list[dict[str, Any]] = []
    for signal in ops.logs:
        ids = {names.SERVICE: service.service, "signal": signal.name}
        rules.append({"record": RECORD, "expr": lines_rate(signal), "labels": dict(ids)})
        threshold = f"{signal.above_ratio:g}% of its lines" if signal.above_ratio is not None else f"{signal.above:g} lines per second"
        annotations = {
            "summary": f"{service.service} logs too many {signal.name} lines.",
            "description": f"{{{{ $value | humanize }}}} for {signal.name} in {signal.selector}, above {threshold}.",
            "runbook_url": runbook_url(service, ALERT),
        }
        if dashboard_url:
            annotations["dashboard_url"] = dashboard_url
        rules.append({
            "alert": ALERT,
            "expr": alert_expr(signal),
            "for": signal.for_,
            "labels": {names.SEVERITY: signal.severity or "warning", names.TEAM: signal.team or service.team, **ids},
            "annotations": annotations,
        })
    return [{"name": f"logs:{service.service}", "rules": rules}] if rules else []
