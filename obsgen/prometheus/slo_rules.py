"""Prometheus recording and alerting rules for SLOs. Pure: a Service in, typed rule groups out.

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

from collections.abc import Callable
from dataclasses import dataclass

from obsgen.core import names, promql, slo_math
from obsgen.core.durations import format_duration, human_duration
from obsgen.core.rules import AlertRule, AlertText, RecordingRule, RuleGroup, alert
from obsgen.model.slo import SLO, LatencySLI, Service

BASE_WINDOW = names.BASE_WINDOW
PERIOD_STEP = 3600  # the period is summed from 1h slices
LONG_WINDOW = 86400  # windows this long or longer are sampled by subquery in the slow group
FAST_INTERVAL = 60
SLOW_INTERVAL = 120  # well inside the 5m lookback, so instant reads never see a gap
NO_DATA_FOR = 900


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

    def total_minus(good: str) -> str:
        # clamp_min: a good counter can outpace its total by a scrape's rounding.
        return f"clamp_min({total_recording} - on () ({good} or vector(0)), 0)"

    sli = slo.sli
    if isinstance(sli, LatencySLI):
        total = f"sum(rate({sli.count.render()}[{window}]))"
        return SLIExpressions(total=total, errors=total_minus(f"sum(rate({sli.fast.render()}[{window}]))"))
    total = promql.sum_rate(sli.total, window)
    if sli.errors is not None:
        # An error counter often does not exist until the first error: then errors are zero.
        return SLIExpressions(total=total, errors=f"{promql.sum_rate(sli.errors, window)} or on () 0 * {total_recording}")
    assert sli.good is not None
    return SLIExpressions(total=total, errors=total_minus(promql.sum_rate(sli.good, window)))


def slo_windows(slo: SLO) -> list[int]:
    """Every window recorded for the SLO: the tiers' windows, the period, the 5m and 1h slices."""
    return sorted(set(slo_math.windows(slo_math.DEFAULT_TIERS, slo.period)) | {BASE_WINDOW, PERIOD_STEP})


def rule_groups(service: Service, dashboard_url: str = "") -> list[RuleGroup]:
    """The service's SLO rule groups; alerts link to `dashboard_url` when given."""
    return [group for slo in service.slos for group in _slo_groups(service, slo, dashboard_url)]


Select = Callable[[str], str]


def _slo_groups(service: Service, slo: SLO, dashboard_url: str) -> list[RuleGroup]:
    ids = service.ids(slo)
    series_labels = service.labelled(slo)

    def sel(name: str) -> str:
        return promql.selector(name, *ids.items())

    def window_rules(window: int) -> list[RecordingRule]:
        if window == BASE_WINDOW:
            exprs = sli_expressions(slo, sel(names.total_rate(BASE_WINDOW)))
            errors, total = exprs.errors, exprs.total
        else:
            source, step = (PERIOD_STEP, PERIOD_STEP) if window == slo.period else (BASE_WINDOW, BASE_WINDOW)
            rng = f"[{format_duration(window)}:{format_duration(step)}]" if window >= LONG_WINDOW else f"[{format_duration(window)}]"
            errors = f"avg_over_time({sel(names.errors_rate(source))}{rng})"
            total = f"avg_over_time({sel(names.total_rate(source))}{rng})"
        return [
            # Rates carry only {service, slo}: relabelling a service never splits its long windows.
            RecordingRule(names.total_rate(window), total, ids),
            RecordingRule(names.errors_rate(window), errors, ids),
            RecordingRule(names.error_ratio(window), f"{sel(names.errors_rate(window))} / {sel(names.total_rate(window))}", series_labels),
        ]

    windows = slo_windows(slo)
    fast: list[RecordingRule] = [r for w in windows if w < LONG_WINDOW for r in window_rules(w)]
    slow: list[RecordingRule] = [r for w in windows if w >= LONG_WINDOW for r in window_rules(w)]
    budget_text = promql.number(float(slo.budget))
    slow += [
        RecordingRule(names.OBJECTIVE, f"vector({promql.number(float(slo_math.objective_ratio(slo.objective)))})", series_labels),
        RecordingRule(names.ERROR_BUDGET, f"vector({budget_text})", series_labels),
        RecordingRule(names.BUDGET_REMAINING, f"1 - {sel(names.error_ratio(slo.period))} / {budget_text}", series_labels),
        RecordingRule(names.CURRENT_BURN_RATE, f"{sel(names.error_ratio(BASE_WINDOW))} / {budget_text}", series_labels),
        RecordingRule(names.PERIOD_BURN_RATE, f"{sel(names.error_ratio(slo.period))} / {budget_text}", series_labels),
    ]
    alerts = [_burn_alert(service, slo, tier, sel, dashboard_url) for tier in slo.tiers]
    if slo.no_data:
        alerts.append(_no_data_alert(service, slo, sel, dashboard_url))
    groups = [
        RuleGroup(names.group_name(service.name, slo.name, "sli"), tuple(fast), FAST_INTERVAL),
        RuleGroup(names.group_name(service.name, slo.name, "long"), tuple(slow), SLOW_INTERVAL),
    ]
    if alerts:
        groups.append(RuleGroup(names.group_name(service.name, slo.name, "alerts"), tuple(alerts), FAST_INTERVAL))
    return groups


def _slo_alert(
    service: Service, slo: SLO, name: str, expr: str, severity: str, text: tuple[str, str], dashboard_url: str,
    for_: int = 0, tier: slo_math.Tier | None = None,
) -> AlertRule:
    identity = {names.SLO: slo.name}
    if tier is not None:
        identity |= {names.LONG_WINDOW: format_duration(tier.long_window), names.SHORT_WINDOW: format_duration(tier.short_window)}
    return alert(
        name, expr, severity=severity, team=service.team, service=service.name, identity=identity,
        text=AlertText(*text, runbook_url=slo.runbook, dashboard_url=dashboard_url, extra=slo.alert_annotations),
        for_=for_, custom_labels=slo.alert_labels, slo=slo.name, tier=tier,
    )


def _burn_alert(service: Service, slo: SLO, tier: slo_math.Tier, sel: Select, dashboard_url: str) -> AlertRule:
    rate = tier.burn_rate(slo.period)
    threshold = float(slo_math.threshold(tier, slo.objective, slo.period))
    limit = promql.number(threshold)
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
    summary = f"{service.name} is burning its {slo.name} error budget {rate_text}x too fast."
    description = (
        f"{{{{ $labels.service }}}} {{{{ $labels.slo }}}}: {{{{ $value | humanizePercentage }}}} of events failed "
        f"over the last {long_w}, and more than {threshold:.4%} over the last "
        f"{short_w}, against a {slo.objective:g}% objective. At {rate_text}x the {format_duration(slo.period)} error budget lasts "
        f"{human_duration(slo_math.exhaustion_seconds(rate, slo.period))}."
    )
    return _slo_alert(service, slo, names.ALERT_BURN, "\n".join(lines) + "\n", tier.severity, (summary, description),
                      dashboard_url, tier=tier)


def _no_data_alert(service: Service, slo: SLO, sel: Select, dashboard_url: str) -> AlertRule:
    summary = f"{service.name} has no data for its {slo.name} SLO."
    description = (
        f"No events recorded for {{{{ $labels.service }}}} {{{{ $labels.slo }}}} for {format_duration(NO_DATA_FOR)}: the SLO "
        "cannot be measured and its burn-rate alerts cannot fire. Check the scrape target and the SLI's metric names."
    )
    return _slo_alert(service, slo, names.ALERT_NO_DATA, f"absent({sel(names.total_rate(BASE_WINDOW))})", "warning",
                      (summary, description), dashboard_url, for_=NO_DATA_FOR)
