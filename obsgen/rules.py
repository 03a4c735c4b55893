"""Prometheus recording and alerting rules for SLOs. Pure: a Service in, rule groups out.

Layers, per SLO (see README, "How the rules are layered"):
  sli   (every 1m)  raw counters -> 5m rates; 30m..6h averaged from the 5m recordings.
  long  (every 2m)  1d and 3d from 5m recordings sampled every 5m (a subquery, so each 5m
                    slice is counted once), the period from 1h recordings sampled every 1h,
                    plus objective, budget and burn-rate metadata.
  alerts(every 1m)  one multiwindow alert per burn-rate tier, and a no-data alert.
Averaging rates of equal-length slices and dividing errors by total weights every
window by traffic: the period's SLI equals its errors over its events.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsgen import burnrate, names, promql
from obsgen.durations import format_duration, human_duration, parse_duration
from obsgen.spec import SLO, Service

BASE_WINDOW = names.BASE_WINDOW
PERIOD_STEP = 3600  # the period is summed from 1h slices
LONG_WINDOW = 86400  # windows this long or longer are sampled by subquery in the slow group
FAST_INTERVAL = "1m"
SLOW_INTERVAL = "2m"  # well inside the 5m lookback, so instant reads never see a gap
NO_DATA_FOR = "15m"

Rule = dict[str, Any]
Group = dict[str, Any]


@dataclass(frozen=True)
class SLIExpressions:
    """Events per second over the base window, from the raw series.

    `errors` reads the `total` recording (evaluated just before it in the same group) for two
    reasons: the raw total is read once, and errors exist exactly when total does, so averaging
    both over a window counts the same slices.
    """

    total: str
    errors: str


def sli_expressions(slo: SLO, total_recording: str) -> SLIExpressions:
    window = format_duration(BASE_WINDOW)

    def counter(spec: str) -> str:
        if promql.WINDOW_PLACEHOLDER in spec:
            return f"sum({promql.with_window(spec, window)})"
        return f"sum(rate({spec}[{window}]))"

    def total_minus(good: str) -> str:
        # clamp_min: a good counter can outpace its total by a scrape's rounding.
        return f"clamp_min({total_recording} - on () ({good} or vector(0)), 0)"

    if slo.sli.ratio is not None:
        ratio = slo.sli.ratio
        total = counter(ratio.total)
        if ratio.errors is not None:
            # An error counter often does not exist until the first error: then errors are zero.
            return SLIExpressions(total=total, errors=f"{counter(ratio.errors)} or on () 0 * {total_recording}")
        return SLIExpressions(total=total, errors=total_minus(counter(ratio.good or "")))

    latency = slo.sli.latency
    assert latency is not None
    histogram = promql.parse_selector(latency.histogram)
    total = f"sum(rate({histogram.with_name(histogram.name + '_count').render()}[{window}]))"
    fast = histogram.with_name(histogram.name + "_bucket").with_matcher(promql.le_matcher(latency.threshold))
    return SLIExpressions(total=total, errors=total_minus(f"sum(rate({fast.render()}[{window}]))"))


def slo_windows(slo: SLO) -> list[int]:
    return sorted(set(burnrate.windows(burnrate.DEFAULT_TIERS, parse_duration(slo.period))) | {BASE_WINDOW, PERIOD_STEP})


def rule_groups(service: Service, dashboard_url: str = "") -> list[Group]:
    """The service's rule groups; alerts link to `dashboard_url` when given."""
    groups: list[Group] = []
    for slo in service.slos:
        groups.extend(_slo_groups(service, slo, dashboard_url))
    return groups


def _slo_groups(service: Service, slo: SLO, dashboard_url: str) -> list[Group]:
    period = parse_duration(slo.period)
    ids = {names.SERVICE: service.service, names.SLO: slo.name}
    series_labels = {**ids, **service.labels}
    budget = burnrate.error_budget(slo.objective)

    def sel(name: str) -> str:
        return promql.selector(name, *ids.items())

    def record(name: str, expr: str, labels: dict[str, str]) -> Rule:
        return {"record": name, "expr": expr, "labels": dict(labels)}

    def window_rules(window: int) -> list[Rule]:
        if window == BASE_WINDOW:
            exprs = sli_expressions(slo, sel(names.total_rate(BASE_WINDOW)))
            errors, total = exprs.errors, exprs.total
        else:
            source, step = (PERIOD_STEP, PERIOD_STEP) if window == period else (BASE_WINDOW, BASE_WINDOW)
            rng = f"[{format_duration(window)}:{format_duration(step)}]" if window >= LONG_WINDOW else f"[{format_duration(window)}]"
            errors = f"avg_over_time({sel(names.errors_rate(source))}{rng})"
            total = f"avg_over_time({sel(names.total_rate(source))}{rng})"
        return [
            # Rates carry only {service, slo}: relabelling a service never splits its long windows.
            record(names.total_rate(window), total, ids),
            record(names.errors_rate(window), errors, ids),
            record(names.error_ratio(window), f"{sel(names.errors_rate(window))} / {sel(names.total_rate(window))}", series_labels),
        ]

    windows = slo_windows(slo)
    fast = [r for w in windows if w < LONG_WINDOW for r in window_rules(w)]
    slow = [r for w in windows if w >= LONG_WINDOW for r in window_rules(w)]
    budget_text = promql.number(float(budget))
    slow += [
        record(names.OBJECTIVE, f"vector({promql.number(float(burnrate.objective_ratio(slo.objective)))})", series_labels),
        record(names.ERROR_BUDGET, f"vector({budget_text})", series_labels),
        record(names.BUDGET_REMAINING, f"1 - {sel(names.error_ratio(period))} / {budget_text}", series_labels),
        record(names.CURRENT_BURN_RATE, f"{sel(names.error_ratio(BASE_WINDOW))} / {budget_text}", series_labels),
        record(names.PERIOD_BURN_RATE, f"{sel(names.error_ratio(period))} / {budget_text}", series_labels),
    ]
    links = {"runbook_url": slo.runbook or service.runbook, **({"dashboard_url": dashboard_url} if dashboard_url else {})}
    alerts = [_burn_alert(service, slo, tier, period, sel, links) for tier in burnrate.DEFAULT_TIERS if _enabled(slo, tier)]
    if slo.alerting.no_data:
        alerts.append(_no_data_alert(service, slo, sel, links))
    groups = [
        {"name": names.group_name(service.service, slo.name, "sli"), "interval": FAST_INTERVAL, "rules": fast},
        {"name": names.group_name(service.service, slo.name, "long"), "interval": SLOW_INTERVAL, "rules": slow},
    ]
    if alerts:
        groups.append({"name": names.group_name(service.service, slo.name, "alerts"), "interval": FAST_INTERVAL, "rules": alerts})
    return groups


def _enabled(slo: SLO, tier: burnrate.Tier) -> bool:
    return {"critical": slo.alerting.critical, "warning": slo.alerting.warning}[tier.severity]


def _alert_labels(service: Service, slo: SLO, severity: str) -> dict[str, str]:
    return {
        **slo.alerting.labels,
        names.SEVERITY: severity,
        names.TEAM: service.team,
        names.SERVICE: service.service,
        names.SLO: slo.name,
    }


def _annotations(slo: SLO, summary: str, description: str, links: dict[str, str]) -> dict[str, str]:
    return {"summary": summary, "description": description, **links, **slo.alerting.annotations}


def _burn_alert(service: Service, slo: SLO, tier: burnrate.Tier, period: int, sel, links: dict[str, str]) -> Rule:
    rate = tier.burn_rate(period)
    limit = promql.number(float(burnrate.threshold(tier, slo.objective, period)))
    long_w, short_w = format_duration(tier.long_window), format_duration(tier.short_window)
    lines = [
        f"{sel(names.error_ratio(tier.long_window))} > {limit}",
        "and",
        f"{sel(names.error_ratio(tier.short_window))} > {limit}",
    ]
    if slo.min_events:
        # Low traffic: too few events in the long window say nothing about the budget.
        lines += [
            f"and on ({names.SERVICE}, {names.SLO})",
            f"{sel(names.total_rate(tier.long_window))} * {tier.long_window} >= {slo.min_events}",
        ]
    rate_text = promql.number(float(rate))
    labels = _alert_labels(service, slo, tier.severity)
    labels[names.LONG_WINDOW] = long_w
    labels[names.SHORT_WINDOW] = short_w
    summary = f"{service.service} is burning its {slo.name} error budget {rate_text}x too fast."
    description = (
        f"{{{{ $labels.service }}}} {{{{ $labels.slo }}}}: {{{{ $value | humanizePercentage }}}} of events failed "
        f"over the last {long_w}, and more than {float(burnrate.threshold(tier, slo.objective, period)):.4%} over the last "
        f"{short_w}, against a {slo.objective:g}% objective. At {rate_text}x the {slo.period} error budget lasts "
        f"{human_duration(burnrate.exhaustion_seconds(rate, period))}."
    )
    return {
        "alert": names.ALERT_BURN,
        "expr": "\n".join(lines) + "\n",
        "labels": labels,
        "annotations": _annotations(slo, summary, description, links),
    }


def _no_data_alert(service: Service, slo: SLO, sel, links: dict[str, str]) -> Rule:
    summary = f"{service.service} has no data for its {slo.name} SLO."
    description = (
        f"No events recorded for {{{{ $labels.service }}}} {{{{ $labels.slo }}}} for {NO_DATA_FOR}: the SLO "
        "cannot be measured and its burn-rate alerts cannot fire. Check the scrape target and the SLI's metric names."
    )
    return {
        "alert": names.ALERT_NO_DATA,
        "expr": f"absent({sel(names.total_rate(BASE_WINDOW))})",
        "for": NO_DATA_FOR,
        "labels": _alert_labels(service, slo, "warning"),
        "annotations": _annotations(slo, summary, description, links),
    }


