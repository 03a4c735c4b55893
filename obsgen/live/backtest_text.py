"""What `obsgen backtest` prints: a terminal table per SLO, a side-by-side comparison, JSON for scripts."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from obsgen.core.durations import human_duration
from obsgen.live.backtest import Backtest, Episode, Incident, SLOBacktest


def _when(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(seconds))


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _tier(e: Episode) -> str:
    return f"{e.long_window}/{e.short_window}" if e.long_window else e.alertname


def _group(e: Episode) -> str:
    return ",".join(f"{k}={v}" for k, v in e.group.items())


def episode_row(e: Episode) -> tuple[str, ...]:
    duration = human_duration(e.seconds) + ("+" if e.open_end else "")
    flags = "flapping" if e.flapping else ""
    return (("…" if e.open_start else "") + _when(e.start), duration, e.severity, _tier(e), _group(e),
            "-" if e.peak_burn is None else f"{e.peak_burn:.1f}x", _share(e.budget_at_start), _share(e.budget_at_end), flags)


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows])


def totals(slo: SLOBacktest) -> str:
    tiers: dict[str, tuple[int, int]] = {}
    for e in slo.episodes:
        count, seconds = tiers.get(f"{e.severity} {_tier(e)}", (0, 0))
        tiers[f"{e.severity} {_tier(e)}"] = (count + 1, seconds + e.seconds)
    parts = [f"{name}: {count} ({human_duration(seconds)})" for name, (count, seconds) in sorted(tiers.items())]
    return "; ".join(parts) or "nothing fired"


def text(result: Backtest) -> str:
    lines = [f"backtest {_when(result.start)} to {_when(result.end)} UTC ({human_duration(result.seconds)}), one evaluation a minute"]
    for slo in result.slos:
        pages, tickets = slo.pages(), slo.tickets()
        flapping = sum(e.flapping for e in slo.episodes)
        spent = slo.spent_at(result.end)
        lines += ["", f"{slo.name} ({slo.objective:g}%): {len(pages)} page(s), {len(tickets)} ticket(s), "
                  f"{flapping} shorter than 10m; {spent:.1%} of a period's budget spent in the range"
                  + (f"; {human_duration(slo.inhibited_minutes * 60)} held by inhibitions" if slo.inhibited_minutes else "")]
        lines.append(f"  per tier: {totals(slo)}")
        if slo.episodes:
            rows = [episode_row(e) for e in slo.episodes]
            body = table(("start (UTC)", "lasted", "severity", "tier", "group", "peak burn", "budget then", "after", ""), rows)
            lines += ["  " + line for line in body.splitlines()]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines) + "\n"


def comparison(results: Sequence[Backtest], found: Sequence[Incident], labels: Sequence[str]) -> str:
    """The spec and the override side by side: pages per SLO, then every incident's detection."""
    base, other = results
    rows = []
    for a, b in zip(base.slos, other.slos):
        starts_a, starts_b = {e.start for e in a.pages()}, {e.start for e in b.pages()}
        rows.append((a.name, str(len(a.pages())), str(len(b.pages())), str(len(starts_b - starts_a)), str(len(starts_a - starts_b)),
                     str(len(a.tickets())), str(len(b.tickets()))))
    lines = [f"backtest {_when(base.start)} to {_when(base.end)} UTC: {labels[0]} against {labels[1]}", "",
             table(("SLO", f"pages ({labels[0]})", f"pages ({labels[1]})", "gained", "lost", "tickets", "tickets"), rows)]
    if found:
        def detect(seconds: int | None) -> str:
            return "missed" if seconds is None else human_duration(seconds)

        incident_rows = [(i.slo, _when(i.start), human_duration(i.end - i.start), detect(i.detected[0]), detect(i.detected[1]),
                          _share(i.burned[0]), _share(i.burned[1])) for i in found]
        lines += ["", "incidents (from where the 5m burn rate rose above 1 to the last page):",
                  table(("SLO", "start (UTC)", "lasted", f"paged after ({labels[0]})", f"paged after ({labels[1]})",
                         "budget before page", "budget before page"), incident_rows)]
    return "\n".join(lines) + "\n"


def _episode_json(e: Episode) -> dict[str, Any]:
    return {
        "alertname": e.alertname, "severity": e.severity, "long_window": e.long_window, "short_window": e.short_window,
        "group": e.group, "start": e.start, "end": e.end, "seconds": e.seconds, "peak_burn_rate": e.peak_burn,
        "budget_spent_at_start": e.budget_at_start, "budget_spent_at_end": e.budget_at_end,
        "firing_at_range_start": e.open_start, "firing_at_range_end": e.open_end, "flapping": e.flapping,
    }


def as_json(results: Sequence[Backtest], labels: Sequence[str], found: Sequence[Incident] = ()) -> str:
    out: dict[str, Any] = {"runs": []}
    for label, result in zip(labels, results):
        out["runs"].append({
            "variant": label, "start": result.start, "end": result.end, "notes": result.notes,
            "slos": [{
                "service": s.service, "slo": s.slo, "objective": s.objective, "period_seconds": s.period,
                "pages": len(s.pages()), "tickets": len(s.tickets()), "pages_per_period": round(s.pages_per_period(result.seconds), 3),
                "flapping": sum(e.flapping for e in s.episodes), "inhibited_minutes": s.inhibited_minutes,
                "events": s.events, "errors": s.errors, "alerts": [_episode_json(e) for e in s.episodes],
                "budget_spent": [[t, round(v, 6)] for t, v in s.budget()],
            } for s in result.slos],
        })
    if found:
        out["incidents"] = [{"slo": i.slo, "start": i.start, "end": i.end, "detected_after_seconds": dict(zip(labels, i.detected)),
                             "budget_spent_before_page": dict(zip(labels, i.burned))} for i in found]
    return json.dumps(out, indent=2) + "\n"
