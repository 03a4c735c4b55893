"""LogQL for a service's log signals: Loki ruler groups and the queries dashboards use. Pure."""
from __future__ import annotations

from obsgen.core import names, promql
from obsgen.core.durations import format_duration
from obsgen.core.rules import AlertText, RecordingRule, Rule, RuleGroup, alert, runbook_section
from obsgen.model.ops import LogSignal
from obsgen.model.slo import Service

WINDOW = format_duration(300)
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


def ruler_groups(service: Service, dashboard_url: str = "") -> list[RuleGroup]:
    """One group per service for Loki's ruler: a recording and an alerting rule per signal."""
    rules: list[Rule] = []
    for signal in service.ops.logs:
        identity = {"signal": signal.name}
        rules.append(RecordingRule(RECORD, lines_rate(signal), {names.SERVICE: service.name, **identity}))
        threshold = f"{signal.above_ratio:g}% of its lines" if signal.above_ratio is not None else f"{signal.above:g} lines per second"
        text = AlertText(
            f"{service.name} logs too many {signal.name} lines.",
            f"{{{{ $value | humanize }}}} for {signal.name} in {signal.selector}, above {threshold}.",
            runbook_section(service.runbook, ALERT), dashboard_url,
        )
        rules.append(alert(
            ALERT, alert_expr(signal), severity=signal.severity or "warning", team=signal.team or service.team,
            service=service.name, identity=identity, text=text, for_=signal.for_,
        ))
    return [RuleGroup(names.log_group_name(service.name), tuple(rules))] if rules else []
