"""Alertmanager configuration from teams and severities, and the routing cases that prove it.

Pure: the Project and the labels of every generated alert in, dicts out. Written for
Alertmanager 0.25: `matchers` (not the deprecated `match`), top-level `time_intervals` and
`active_time_intervals`, and secrets only through `*_file` fields.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from obsgen.core import names, promql
from obsgen.core.durations import format_duration
from obsgen.model.project import Project
from obsgen.model.routing import Routing, Target, Team
from obsgen.model.slo import CompositeSLI

DEFAULT_RECEIVER = "default"
DEFAULTS = {"group_by": [names.ALERTNAME, names.SERVICE, names.SLO], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
SEVERITIES = ("critical", "warning", "info")


def _matcher(label: str, value: str, op: str = "=") -> str:
    """Alertmanager matchers share PromQL's label-matcher syntax and escaping."""
    return f"{label}{op}{promql.quote(value)}"


def receiver_name(team: str, role: str) -> str:
    return f"{team}-{role}"


def _receiver(name: str, target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if target.pagerduty:
        out["pagerduty_configs"] = [{"routing_key_file": target.pagerduty.routing_key_file, "send_resolved": True}]
    if target.opsgenie:
        config: dict[str, Any] = {"api_key_file": target.opsgenie.api_key_file, "send_resolved": True}
        if target.opsgenie.responders:
            config["responders"] = [{"name": r, "type": "team"} for r in target.opsgenie.responders]
        out["opsgenie_configs"] = [config]
    if target.slack:
        out["slack_configs"] = [{"channel": target.slack.channel, "api_url_file": target.slack.api_url_file, "send_resolved": True}]
    if target.email:
        out["email_configs"] = [{"to": target.email.to, "send_resolved": True}]
    if target.webhook:
        where = {"url": target.webhook.url} if target.webhook.url else {"url_file": target.webhook.url_file}
        hook: dict[str, Any] = {**where, "send_resolved": True}
        if target.webhook.credentials_file:
            hook["http_config"] = {"authorization": {"credentials_file": target.webhook.credentials_file}}
        out["webhook_configs"] = [hook]
    return out


def _timing(spec: Team | Routing) -> dict[str, Any]:
    """The timing fields a team or the root sets, in Alertmanager's names."""
    out: dict[str, Any] = {}
    for key in DEFAULTS:
        value = getattr(spec, key)
        if value is not None:
            out[key] = list(value) if key == "group_by" else format_duration(value)
    return out


def _route(receiver: str, target: Target | None, **extra: Any) -> dict[str, Any]:
    route: dict[str, Any] = {"receiver": receiver, **extra}
    if target is not None and target.active_during:
        route["active_time_intervals"] = list(target.active_during)
    return route


def _team_route(name: str, team: Team) -> dict[str, Any]:
    critical = _matcher(names.SEVERITY, "critical")
    warning_receiver = receiver_name(name, "warning") if team.warning else DEFAULT_RECEIVER
    routes = [_route(receiver_name(name, "critical"), team.critical, matchers=[critical], **({"continue": True} if team.escalation else {}))]
    if team.escalation:
        # Alertmanager sends nothing for a group resolved within group_wait, so a sibling route
        # that waits `after` notifies the escalation receiver only for alerts still firing then.
        routes.append(_route(receiver_name(name, "escalation"), team.escalation, matchers=[critical], group_wait=format_duration(team.escalation.after)))
    routes.append(_route(warning_receiver, team.warning, matchers=[_matcher(names.SEVERITY, "warning")]))
    # Anything else the team owns (info, or no severity) goes where its warnings go.
    return {"receiver": warning_receiver, "matchers": [_matcher(names.TEAM, name)], **_timing(team), "routes": routes}


@dataclass(frozen=True)
class Matcher:
    label: str
    value: str
    op: str = "="  # = or =~

    def __str__(self) -> str:
        return _matcher(self.label, self.value, self.op)

    def matches(self, labels: Mapping[str, str]) -> bool:
        found = labels.get(self.label, "")
        return found == self.value if self.op == "=" else re.fullmatch(self.value, found) is not None


@dataclass(frozen=True)
class Inhibition:
    """An inhibit rule: a firing alert matching `source` mutes those matching `target` that carry
    the same values (or none on both) of the `equal` labels."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source_matchers": [str(m) for m in self.source], "target_matchers": [str(m) for m in self.target]}
        return out | ({"equal": list(self.equal)} if self.equal else {})

    def mutes(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        """Whether a firing `source` alert mutes `target`, as Alertmanager decides: an alert that
        matches both sides is not muted by another that does too (nor by itself)."""
        if not (all(m.matches(source) for m in self.source) and all(m.matches(target) for m in self.target)):
            return False
        if not all(source.get(label, "") == target.get(label, "") for label in self.equal):
            return False
        both = all(m.matches(target) for m in self.source) and all(m.matches(source) for m in self.target)
        return not both


def inhibitions(project: Project) -> list[Inhibition]:
    # Per-group SLOs: a group's alert mutes only the same group's (a label absent on both sides is equal).
    groups = tuple(sorted({label for service in project.services for slo in service.slos for label in slo.group_by}))
    rules = [
        # A page makes the ticket for the same alert, service and SLO redundant.
        Inhibition((Matcher(names.SEVERITY, "critical"),), (Matcher(names.SEVERITY, "warning"),),
                   (names.ALERTNAME, names.SERVICE, names.SLO, *groups)),
    ]
    burn = Matcher(names.ALERTNAME, names.ALERT_BURN)
    # A faster tier of the same severity makes a slower one redundant, per SLO: the pairs of every
    # SLO's tiers, each with its severity so a ticket never mutes a page.
    pairs: set[tuple[str, int, int]] = set()
    for service in project.services:
        for slo in service.slos:
            for i, fast in enumerate(slo.tiers):
                pairs |= {(fast.severity, fast.long_window, slow.long_window) for slow in slo.tiers[i + 1 :]
                          if slow.severity == fast.severity and fast.long_window < slow.long_window}
    for severity, fast_window, slow_window in sorted(pairs, key=lambda p: (p[0] != "critical", p[1], p[2])):
        level = Matcher(names.SEVERITY, severity)
        rules.append(Inhibition(
            (burn, level, Matcher(names.LONG_WINDOW, format_duration(fast_window))),
            (burn, level, Matcher(names.LONG_WINDOW, format_duration(slow_window))),
            (names.SERVICE, names.SLO, *groups),
        ))
    for service in project.services:
        for dep in service.depends_on:
            if dep.mute:
                rules.append(Inhibition(
                    (Matcher(names.SERVICE, dep.service), Matcher(names.SEVERITY, "critical")),
                    (Matcher(names.SERVICE, service.name), Matcher(names.SLO, "|".join(sorted(dep.mute)), "=~")),
                ))
    for service in project.services:
        for slo in service.slos:
            if isinstance(slo.sli, CompositeSLI) and slo.sli.mute_parts:
                # One page per incident: the journey's page stands for its parts' (per group when grouped).
                source = (Matcher(names.SERVICE, service.name), Matcher(names.SLO, slo.name), Matcher(names.SEVERITY, "critical"))
                rules += [Inhibition(source, (Matcher(names.SERVICE, part.service), Matcher(names.SLO, part.slo.name),
                                              Matcher(names.SEVERITY, "critical")), slo.group_by)
                          for part in slo.sli.parts]
    return rules


def config(project: Project) -> dict[str, Any]:
    routing = project.routing
    assert routing is not None
    out: dict[str, Any] = {}
    if routing.smtp:
        smtp = routing.smtp
        out["global"] = {"smtp_from": smtp.sender, "smtp_smarthost": smtp.smarthost, "smtp_require_tls": smtp.require_tls}
        if smtp.auth_username:
            out["global"]["smtp_auth_username"] = smtp.auth_username
        if smtp.auth_password_file:
            out["global"]["smtp_auth_password_file"] = smtp.auth_password_file
    out["route"] = {
        "receiver": DEFAULT_RECEIVER,
        **DEFAULTS,
        **_timing(routing),
        "routes": [_team_route(name, team) for name, team in routing.teams.items()],
    }
    out["inhibit_rules"] = [rule.config() for rule in inhibitions(project)]
    receivers = [_receiver(DEFAULT_RECEIVER, routing.default)]
    for name, team in routing.teams.items():
        receivers.append(_receiver(receiver_name(name, "critical"), team.critical))
        if team.escalation:
            receivers.append(_receiver(receiver_name(name, "escalation"), team.escalation))
        if team.warning:
            receivers.append(_receiver(receiver_name(name, "warning"), team.warning))
    out["receivers"] = receivers
    if routing.time_intervals:
        out["time_intervals"] = [
            {"name": name, "time_intervals": [r.model_dump(exclude_none=True, exclude_defaults=True) for r in ranges]}
            for name, ranges in routing.time_intervals.items()
        ]
    return out


def expected_receivers(routing: Routing, labels: dict[str, str]) -> list[str]:
    """Who should get an alert with these labels, from the spec's meaning rather than the tree."""
    team = routing.teams.get(labels.get(names.TEAM, ""))
    if team is None:
        return [DEFAULT_RECEIVER]
    name = labels[names.TEAM]
    if labels.get(names.SEVERITY) == "critical":
        return [receiver_name(name, "critical")] + ([receiver_name(name, "escalation")] if team.escalation else [])
    return [receiver_name(name, "warning") if team.warning else DEFAULT_RECEIVER]


def route_tests(project: Project, alerts: list[dict[str, str]]) -> dict[str, Any]:
    """Cases for `amtool config routes test`: every team and severity, unowned alerts, and every
    alert obsgen generates, with its own labels."""
    routing = project.routing
    assert routing is not None
    cases: list[dict[str, Any]] = [
        {"name": f"{team} {severity}", "labels": {names.TEAM: team, names.SEVERITY: severity}}
        for team in routing.teams
        for severity in SEVERITIES
    ]
    cases += [
        {"name": "no team", "labels": {names.ALERTNAME: "Unowned", names.SEVERITY: "critical"}},
        {"name": "unknown team", "labels": {names.TEAM: "nobody-owns-this", names.SEVERITY: "critical"}},
    ]
    seen = set()
    for labels in alerts:
        key = tuple(sorted(labels.items()))
        if key not in seen:
            seen.add(key)
            described = ", ".join(f"{k}={v}" for k, v in labels.items() if k in (names.ALERTNAME, names.SERVICE, names.SLO, names.LONG_WINDOW, names.SEVERITY))
            cases.append({"name": described, "labels": labels})
    for case in cases:
        case["receivers"] = expected_receivers(routing, case["labels"])
    return {"cases": cases}
