"""Shared vocabulary, written once: label names, recording rule names, alert names, rule-group
names and the prefixes obsgen owns, dashboard uids and paths.

Builders, remotes and tests import these instead of spelling the strings again.
"""
from __future__ import annotations

import hashlib
import json
import re
import urllib.parse

from obsgen.core.durations import format_duration

BASE_WINDOW = 300  # seconds; the only SLI window read from raw series (5m)

# Labels obsgen sets itself.
SERVICE = "service"
SLO = "slo"
TEAM = "team"
SEVERITY = "severity"
LONG_WINDOW = "long_window"
SHORT_WINDOW = "short_window"
ALERTNAME = "alertname"
PART = "obsgen_part"  # tells a composite's parts apart inside its expressions; never on a recorded series
RESERVED_LABELS = frozenset({SERVICE, SLO, TEAM, SEVERITY, LONG_WINDOW, SHORT_WINDOW, ALERTNAME})

# Alerts.
ALERT_BURN = "ErrorBudgetBurn"
ALERT_NO_DATA = "SLONoData"


def errors_rate(window: int) -> str:
    """Bad events per second over the window, labelled only {service, slo}."""
    return f"slo:sli_errors:rate{format_duration(window)}"


def total_rate(window: int) -> str:
    """All events per second over the window, labelled only {service, slo}."""
    return f"slo:sli_total:rate{format_duration(window)}"


def error_ratio(window: int) -> str:
    """Bad over all events in the window: the SLI's error ratio."""
    return f"slo:sli_error:ratio_rate{format_duration(window)}"


OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
BUDGET_REMAINING = "slo:error_budget_remaining:ratio"
CURRENT_BURN_RATE = "slo:current_burn_rate:ratio"
PERIOD_BURN_RATE = "slo:period_burn_rate:ratio"


# Rule groups: obsgen owns every group whose name starts with one of these (prune relies on it).
SLO_GROUP = "slo"
OPS_GROUP = "ops"
LOG_GROUP = "logs"
OWNED_GROUP_PREFIXES = tuple(f"{p}:" for p in (SLO_GROUP, OPS_GROUP, LOG_GROUP))


def calendar_count(kind: str, unit: str) -> str:
    """Events (kind total) or errors (kind errors) since a calendar period started, e.g. slo:sli_errors:count_month."""
    return f"slo:sli_{kind}:count_{unit}"


def period_error_ratio(period: int, calendar: str | None = None) -> str:
    """The SLI over the SLO's period: its rolling window's, or since its calendar period started."""
    return f"slo:sli_error:ratio_{calendar}" if calendar else error_ratio(period)


def group_name(service: str, slo: str) -> str:
    """An SLO's rule group: its windows and alerts, evaluated together every minute."""
    return f"{SLO_GROUP}:{service}:{slo}"


PERIOD_GROUP_SUFFIX = ":period"  # the cost label of a group: slow, long windows, nothing pages on it


def period_group_name(service: str, slo: str) -> str:
    """An SLO's period group: the period's window and the budget, which no alert reads."""
    return f"{group_name(service, slo)}{PERIOD_GROUP_SUFFIX}"


def ops_group_name(service: str, part: int = 0) -> str:
    """`ops:<service>`, numbered from 1 when the service's operational alerts take several groups."""
    return f"{OPS_GROUP}:{service}" + (f":{part}" if part else "")


def log_group_name(service: str) -> str:
    return f"{LOG_GROUP}:{service}"


# Grafana's own rules for a dashboard uid, and obsgen's for folder names: both become path parts.
UID = re.compile(r"[a-zA-Z0-9_-]{1,40}")
FOLDER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}")


def dashboard_uid(kind: str, name: str = "") -> str:
    """Stable Grafana uid from names: at most 40 characters, letters, digits and '-'."""
    base = re.sub(r"[^a-z0-9-]+", "-", f"{kind}-{name}".lower() if name else kind.lower()).strip("-")
    if len(base) <= 40:
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    return f"{base[:31].rstrip('-')}-{digest}"


def dashboard_path(uid: str, title: str) -> str:
    """Grafana's URL path of a dashboard: /d/<uid>/<slug>."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"/d/{uid}/{slug}"


def explore_path(datasource_uid: str, query: str, since: str) -> str:
    """Grafana's Explore URL path for one query on a datasource over the last `since` (e.g. 1h)."""
    state = {"datasource": datasource_uid, "queries": [{"refId": "A", "datasource": {"uid": datasource_uid}, "query": query}],
             "range": {"from": f"now-{since}", "to": "now"}}
    return "/explore?schemaVersion=1&left=" + urllib.parse.quote(json.dumps(state, separators=(",", ":"), sort_keys=True), safe="")


SERVICE_DASHBOARD = "service"


def slo_overview_uid(team: str) -> str:
    return dashboard_uid("slo", team)


def slo_overview_title(team: str) -> str:
    return f"SLO overview: {team}"


def service_dashboard_title(service: str) -> str:
    return f"{service}: service overview"
