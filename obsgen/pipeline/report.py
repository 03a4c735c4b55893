"""SLO_REPORT.md: what each generated alert means, in numbers the on-call can act on.

Every figure comes from core/slo_math.py, the code that also sets the alert thresholds and the times the
generated promtool tests expect, so report, rules and tests cannot disagree.
"""
from __future__ import annotations

from obsgen.core import guard, slo_math
from obsgen.core.durations import format_duration, human_duration
from obsgen.model.project import Project
from obsgen.model.slo import SLO, CompositeSLI, LatencySLI, ProbeSLI, Service
from obsgen.pipeline import layout
from obsgen.prometheus import series, slo_tests
from obsgen.report import detection


def _pct(value: float) -> str:
    return f"{value:.4g}%"


def _sli(slo: SLO) -> str:
    sli = slo.sli
    if isinstance(sli, LatencySLI):
        kind = "native histogram " if sli.native else ""
        return f"requests at or under {sli.threshold:g} s, from the {kind}`{sli.histogram.render()}`"
    if isinstance(sli, ProbeSLI):
        return f"samples in which `{sli.success.render()}` is 1, each sample an event"
    if isinstance(sli, CompositeSLI):
        parts = ", ".join(f"{p.ref}" + (f" (weight {p.weight:g})" if p.weight != 1 else "") for p in sli.parts)
        how = "the worst part's error ratio in each 5 minutes" if sli.aggregate == "worst" else "good events over all events"
        muted = "; its pages mute its parts' pages" if sli.mute_parts else ""
        return f"a composite of {parts}: {how}{muted}"
    part = f"errors `{sli.errors.render()}`" if sli.errors is not None else f"good `{sli.good.render() if sli.good else ''}`"
    return f"{part} over total `{sli.total.render()}`"


def _minutes(span: tuple[int, int] | None) -> str:
    """`2m`, or `2-3m` where Prometheus 2 and 3 differ by an evaluation."""
    if span is None:
        return "never"
    return f"{span[0]}m" if span[0] == span[1] else f"{span[0]}-{span[1]}m"


def _mutes(project: Project) -> dict[tuple[str, str], list[str]]:
    """(service, SLO) -> the services whose critical alerts inhibit every alert of that SLO."""
    found: dict[tuple[str, str], list[str]] = {}
    for service in project.services:
        for dep in service.depends_on:
            for name in dep.mute:
                found.setdefault((service.name, name), []).append(dep.service)
    return found


def _inhibitions(project: Project, service: Service, slo: SLO, mutes: dict[tuple[str, str], list[str]]) -> list[str]:
    """Which pages an inhibition can suppress, on both sides of it."""
    lines = []
    if mutes.get((service.name, slo.name)) and project.routing is not None:
        by = ", ".join(f"`{s}`" for s in sorted(mutes[(service.name, slo.name)]))
        lines.append(f"- Muted: while {by} has a critical alert firing, this SLO's alerts (pages included) do not notify.")
    journeys = sorted(f"`{other.name}/{c.name}`" for other in project.services for c in other.slos
                      if isinstance(c.sli, CompositeSLI) and c.sli.mute_parts and any(p.service == service.name and p.slo.name == slo.name for p in c.sli.parts))
    if journeys and project.routing is not None:
        lines.append(f"- Part of {', '.join(journeys)}: while that composite pages, this SLO's pages do not notify (`mute_parts`).")
    silenced = sorted(f"`{s}/{n}`" for (s, n), deps in mutes.items() if service.name in deps)
    if silenced and project.routing is not None and slo is service.slos[0]:
        lines.append(f"- While {service.name} has a critical alert firing it mutes {', '.join(silenced)}: this page is the one that notifies.")
    return lines


def _over(slo: SLO) -> str:
    if slo.calendar is None:
        return f"a rolling {format_duration(slo.period)}"
    return (f"each {slo.calendar.label()}: the budget resets when it starts; burn rates count a "
            f"{format_duration(slo.period)} {slo.calendar.unit}")


def _slo_section(service: Service, slo: SLO, inhibitions: list[str]) -> list[str]:
    period = slo.period
    written = format_duration(period) + (f" {slo.calendar.unit}" if slo.calendar else "")  # a calendar one's nominal length
    lines = [
        f"### {service.name} / {slo.name}",
        "",
        f"{slo.description}".strip(),
        "",
        f"- Objective: {slo.objective:g}% of events good over {_over(slo)}; SLI: {_sli(slo)}.",
        f"- Error budget: {_pct(float(slo.budget) * 100)} of events, or "
        f"{human_duration(slo_math.budget_seconds(slo.objective, period))} of total outage "
        f"({slo_math.budget_seconds(slo.objective, period) / 60:.1f} minutes) per {written}.",
    ]
    if slo.group_by:
        by = ", ".join(f"`{label}`" for label in slo.group_by)
        lines.append(f"- Per {by}: every group has this budget of its own and pages on its own burn; no data is per SLO.")
    scaled = slo_math.reachable(slo_math.DEFAULT_TIERS, slo.objective, period)
    if slo.tier_set == scaled != slo_math.DEFAULT_TIERS:
        changed = [t for t, s in zip(slo_math.DEFAULT_TIERS, scaled, strict=True) if t != s]
        names_ = ", ".join(f"{format_duration(t.long_window)}/{format_duration(t.short_window)}" for t in changed)
        most = float(1 / slo_math.error_budget(slo.objective))
        lines.append(f"- Tiers: the SRE Workbook's four, but a total outage burns only {most:g}x at {slo.objective:g}%, so the "
                     f"{names_} tier{'s' if len(changed) > 1 else ''} could never fire at the Workbook's burn rate: "
                     f"scaled to fire when {float(slo_math.SCALED_THRESHOLD):.0%} of the long window's events fail.")
    elif slo.tier_set != slo_math.DEFAULT_TIERS:
        lines.append("- Tiers: this SLO's own, in place of the SRE Workbook's four.")
    lines += inhibitions
    lines.append(_guard_line(slo))
    testable = True
    try:
        series.counters(slo)
    except series.Untestable as exc:
        testable = False
        lines.append(f"- No generated promtool tests: {exc}. Write tests for this SLO by hand.")
    if slo.tiers:
        chart = layout.detection_chart(detection.stem(slo.objective, slo.period, slo.tiers))
        lines += ["", f"![Detection time against error ratio for each tier of {service.name} / {slo.name}]({chart})"]
    lines += [
        "",
        "| severity | long / short window | burn rate | fires above error ratio | time to fire at 100% errors "
        "| proven: fires at 100% errors | at 2x the threshold | budget spent when it fires | proven: clears after errors stop |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    proven = slo_tests.outage_timings(slo) if testable else {}
    for tier in slo.tier_set:
        limit = slo_math.threshold(tier, slo.objective, period)
        full = slo_math.time_to_fire(tier, slo.objective, period, 1.0)
        double = slo_math.time_to_fire(tier, slo.objective, period, float(2 * limit)) if 2 * limit < 1 else None
        state = "" if tier in slo.tiers else " (off)"
        lines.append(
            f"| {tier.severity}{state} | {format_duration(tier.long_window)} / {format_duration(tier.short_window)} "
            f"| {float(tier.burn_rate(period)):.4g}x | {_pct(float(limit) * 100)} "
            f"| {human_duration(full) if full is not None else 'never'} "
            f"| {_minutes(proven[tier].fires) if tier in proven else 'n/a'} "
            f"| {human_duration(double) if double is not None else 'n/a'} "
            f"| {_pct(float(slo_math.budget_spent_when_fired(tier, period)) * 100)} "
            f"| {_minutes(proven[tier].clears) if tier in proven else 'n/a'} |"
        )
    lines += ["", *_at_traffic(slo), ""]
    return lines


def _guard_line(slo: SLO) -> str:
    per = " (per group)" if slo.group_by else ""
    events = f"at least {slo.min_events} events (`min_events`)" if slo.min_events else ""
    if slo.guard is None:
        return (f"- Low-traffic guard: off (`guard: off`); a tier's threshold alone decides{', with ' + events if events else ''}{per}, "
                "so one failure at low traffic can page.")
    also = f", and {events}" if events else ""
    return (f"- Low-traffic guard: a tier fires only when its long window holds at least {slo.guard.min_errors} errors, and more "
            f"than a service meeting its objective would show by chance ({slo.guard.confidence:g}% confidence){also}{per}.")


def typical_rate(slo: SLO) -> tuple[float, str]:
    """Events a second the report's traffic figures use, and how the report names that traffic."""
    if slo.expected_rate is not None:
        return slo.expected_rate, f"{_events_per(slo.expected_rate)} (`expected_rate`)"
    if isinstance(slo.sli, ProbeSLI):
        return series.PROBES / 60, f"{_events_per(series.PROBES / 60)} (a probe's samples)"
    return slo_tests.TRAFFIC / 60, f"{_events_per(slo_tests.TRAFFIC / 60)} (declare `expected_rate` for this SLO's own)"


def _events_per(rate: float) -> str:
    """In the unit an SRE would say it: 250 events a second, 1,000 a minute, 10 an hour."""
    unit, seconds = ("second", 1) if rate >= 100 else ("minute", 60) if rate * 60 >= 1 else ("hour", 3600)
    return f"{rate * seconds:,.4g} events a{'n' if unit == 'hour' else ''} {unit}"


def _at_traffic(slo: SLO) -> list[str]:
    """Each tier at the SLO's usual traffic: when a total outage pages (the Workbook's time, or
    later where the guard or min_events wait for more errors) and how often chance would page a
    service spending half its budget."""
    if not slo.tiers:
        return []
    rate, named = typical_rate(slo)
    budget = float(slo.budget)
    lines = [
        f"At {named}:",
        "",
        "| tier | errors to fire in the long window | fires at 100% errors | Workbook | chance pages per 30 days at half the budget |",
        "|---|---|---|---|---|",
    ]
    for tier in slo.tiers:
        limit = slo.limit(tier)
        count = guard.first_firing_count(slo.guard, limit, budget, rate * tier.long_window, slo.min_events)
        workbook = limit * tier.long_window
        fires = "never (too few events)" if count is None else human_duration(max(count / rate, workbook))
        chance = guard.false_pages(slo.guard, limit, budget, rate, tier.long_window, slo.min_events, budget / 2)
        lines.append(
            f"| {tier.severity} {format_duration(tier.long_window)} / {format_duration(tier.short_window)} "
            f"| {'-' if count is None else f'{count:,}'} | {fires} | {human_duration(workbook)} | {_chance(chance)} |"
        )
    return lines


def _chance(pages: float) -> str:
    return "0" if pages == 0 else ("< 0.001" if pages < 0.001 else f"{pages:.3g}")


def detection_charts(project: Project) -> dict[str, str]:
    """One chart per distinct objective, period and tiers, which every SLO with those numbers links."""
    distinct = dict.fromkeys((slo.objective, slo.period, slo.tiers) for s in project.services for slo in s.slos if slo.tiers)
    return {layout.detection_chart(detection.stem(*numbers)): detection.chart(*numbers) for numbers in distinct}


def report(project: Project) -> str:
    lines = [
        "# SLO alert report",
        "",
        "What each generated alert means. Generated by obsgen from slo/*.yaml; `obsgen explain` prints it.",
        "",
        "How to read it: a tier fires when the error ratio over both its long and its short window is above "
        "burn rate x (1 - objective), and the long window's errors are evidence of a burn, not chance (the "
        "low-traffic guard: at least 3 errors, and more than a service meeting its objective shows at 99.5% "
        "confidence; where the threshold means many errors this passes first, so it never delays). Time to fire is the SRE Workbook's (1 - objective) / error "
        "ratio x long window x burn rate, counted from the start of a steady error ratio. Windows tile exactly "
        "the span that ends at each evaluation, so the generated promtool tests, evaluated every "
        f"{format_duration(slo_tests.EVAL)}, prove the paging tiers fire within one evaluation of this time (Prometheus "
        "2 in the evaluation after it; Prometheus 3, whose ranges are left-open, at most one before or after) and "
        "the ticket tiers at the minute their partly filled windows cross the threshold. Once errors stop, a "
        "tier clears when its short window falls under the threshold, at most the short window plus one "
        "evaluation later. The `proven` columns are what the generated tests assert for a total outage after "
        "6h10m of clean traffic (a span where the two Prometheus generations differ by an evaluation): the "
        "paging tiers' windows are full, the ticket tiers' only partly, so those fire sooner than with full windows.",
        "",
    ]
    mutes = _mutes(project)
    for service in project.services:
        lines += [f"## {service.name} (team {service.team})", "", f"Runbook: {service.runbook}", ""]
        for slo in service.slos:
            lines += _slo_section(service, slo, _inhibitions(project, service, slo, mutes))
    return "\n".join(lines).rstrip("\n") + "\n"
