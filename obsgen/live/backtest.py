"""`obsgen backtest`: what the generated SLO alerts would have done over a stretch of real history.

For each SLO, its paging group (windows, ratios and alerts: slo_rules, the generator itself) is
replayed minute by minute (live/replay.py): the SLI's raw series are range-queried from the server
as the rules read them, in chunks Prometheus accepts, from one longest alert window before the
range (so every window is whole when the range begins); every recording above them is computed
here from the rules' own PromQL. Alert state applies each rule's `for`; Alertmanager's inhibitions
(alertmanager/config.py's, between tiers and between services) are applied per minute, so a page
counts only while it would have been delivered.

The budget spent is a share of the SLO's budget for a whole period at the range's traffic: the
errors allowed are (1 - objective) x the range's events x period / range, and spent(t) is the
errors from the range's start to t (burning at exactly 1x, a 7-day range of a 30-day SLO spends
23%). Events and errors come from the replayed 5m rates (x 60 s per
minute): exact up to the 5m rate's edges.

Overrides (objective, tiers, min_events) change the model before the rules are generated, so a
what-if is the generator's output for the changed spec, replayed on the same fetched series.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from obsgen.alertmanager.config import Inhibition, inhibitions
from obsgen.core import names, slo_math
from obsgen.core.durations import format_duration, human_duration
from obsgen.core.rules import AlertRule, RuleGroup
from obsgen.errors import CannotDecide, RemoteError
from obsgen.live import select
from obsgen.live.replay import Frame, LabelKey, Replay, Timeline, frame_from, runs, server_parts
from obsgen.model.project import Project
from obsgen.model.slo import SLO, Service
from obsgen.prometheus import slo_rules
from obsgen.remote.prometheus import Prometheus

STEP = 60  # one evaluation a minute, as the paging groups run
CHUNK = 10_000  # steps per range query: Prometheus refuses more than 11,000 points per series
FLAPPING = 600  # an alert that fires for less than this is flapping (seconds)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Override:
    """What-if changes to the spec, for the run only."""

    objective: float | None = None
    tiers: tuple[slo_math.Tier, ...] | None = None
    min_events: int | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.objective, self.tiers, self.min_events))

    def apply(self, slo: SLO) -> SLO:
        changed = slo
        if self.objective is not None:
            changed = dataclasses.replace(changed, objective=self.objective)
        if self.tiers is not None:
            changed = dataclasses.replace(changed, tiers=self.tiers, tier_set=self.tiers)
        elif self.objective is not None and slo.tiers == slo.tier_set:
            # The Workbook's tiers, rescaled where the new objective leaves one unreachable (as loading does).
            changed = dataclasses.replace(changed, tiers=slo_math.reachable(slo.tier_set, self.objective, slo.period))
        if self.min_events is not None:
            changed = dataclasses.replace(changed, min_events=self.min_events)
        return changed


@dataclass(frozen=True)
class Episode:
    """One alert's firing, as Alertmanager would have delivered it (inhibited minutes excluded)."""

    alertname: str
    severity: str
    long_window: str
    short_window: str
    group: dict[str, str]  # the per-group SLO's labels, {} for one budget
    start: int  # unix seconds, first minute firing
    end: int  # unix seconds, first minute not firing (or the range's end)
    peak_burn: float | None  # highest burn rate over the long window while it fired
    budget_at_start: float | None  # share of the period's budget spent by then
    budget_at_end: float | None
    open_start: bool = False  # already firing when the range began
    open_end: bool = False  # still firing when it ended

    @property
    def seconds(self) -> int:
        return self.end - self.start

    @property
    def flapping(self) -> bool:
        return self.seconds < FLAPPING and not self.open_end


@dataclass
class SLOBacktest:
    service: str
    slo: str
    objective: float
    period: int
    episodes: list[Episode]
    inhibited_minutes: int  # minutes an alert fired but an inhibition held its notification
    events: float
    errors: float
    start: int  # unix seconds of the arrays' first minute: the range's start
    spent: np.ndarray = field(repr=False)  # per minute: share of the period's budget spent by then
    burn: np.ndarray = field(repr=False)  # per minute: the 5m burn rate (errors / events / budget)

    @property
    def name(self) -> str:
        return f"{self.service}/{self.slo}"

    def budget(self, every: int = 3600) -> list[tuple[int, float]]:
        """(unix seconds, share of the period's budget spent), every `every` seconds."""
        return [(self.start + i * STEP, float(self.spent[i])) for i in range(0, len(self.spent), every // STEP)
                if not math.isnan(self.spent[i])]

    def spent_at(self, at: int) -> float:
        i = min(max((at - self.start) // STEP, 0), len(self.spent) - 1)
        return 0.0 if math.isnan(self.spent[i]) else float(self.spent[i])

    def pages(self) -> list[Episode]:
        return [e for e in self.episodes if e.severity == "critical" and e.alertname == names.ALERT_BURN]

    def tickets(self) -> list[Episode]:
        return [e for e in self.episodes if e.severity == "warning" and e.alertname == names.ALERT_BURN]

    def pages_per_period(self, seconds: int) -> float:
        return len(self.pages()) * self.period / seconds if seconds else 0.0


@dataclass
class Backtest:
    start: int
    end: int
    slos: list[SLOBacktest]
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Target:
    service: Service
    slo: SLO  # as replayed: the spec's, or with the override applied
    groups: tuple[RuleGroup, ...]  # the paging group only: the period group pages on nothing
    context: bool = False  # replayed only for its inhibitions of a selected SLO, not reported


def targets(project: Project, services: Sequence[str] = (), slos: Sequence[str] = (), override: Override | None = None) -> list[Target]:
    """The SLOs to replay; `services` and `slos` (service/name) select, unknown names are an error.
    Services whose critical pages mute a selected one come along, for the inhibitions."""
    known = {s.name: s for s in project.services}
    chosen = select.chosen(project, services, slos)
    picked = {(s.name, o.name) for s, o in chosen}
    for service, _ in list(chosen):
        for dep in service.depends_on:
            if dep.mute and dep.service in known and not any(s.name == dep.service for s, _ in chosen):
                chosen += [(known[dep.service], o) for o in known[dep.service].slos]
    out = []
    for service, slo in chosen:
        replayed = override.apply(slo) if override else slo
        variant = dataclasses.replace(service, slos=(replayed,))
        paging, _period = slo_rules.slo_groups(variant)[0]
        out.append(Target(service, replayed, (paging,), context=(service.name, slo.name) not in picked))
    return out


def warmup(targets_: Iterable[Target]) -> int:
    """Seconds of history before the range that make every alert window whole at its start."""
    return max((t.long_window for target in targets_ for t in target.slo.tiers), default=names.BASE_WINDOW)


def fetch(client: Prometheus, parts: Sequence[str], timeline: Timeline, progress: Progress | None = None) -> dict[str, Frame]:
    """Every server part over the timeline, in chunks of at most CHUNK steps, a few queries at once."""
    chunks = [(timeline.start + i * timeline.step, min(timeline.end, timeline.start + (i + CHUNK - 1) * timeline.step))
              for i in range(0, timeline.steps, CHUNK)]
    jobs = [(part, a, b) for part in parts for a, b in chunks]
    done = 0
    stamp = time.monotonic()

    def one(job: tuple[str, int, int]) -> tuple[str, list[tuple[dict[str, str], tuple[tuple[float, float], ...]]]]:
        part, a, b = job
        return part, [(s.labels, s.points) for s in client.query_range(part, a, b, timeline.step)]

    answers: dict[str, list[tuple[dict[str, str], tuple[tuple[float, float], ...]]]] = {p: [] for p in parts}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for part, series in pool.map(one, jobs):
            answers[part] += series
            done += 1
            if progress and (time.monotonic() - stamp > 3 or done == len(jobs)):
                progress(f"fetched {done}/{len(jobs)} range queries")
                stamp = time.monotonic()
    return {part: frame_from(series, timeline) for part, series in answers.items()}


def backtest(
    project: Project, client: Prometheus, start: float, end: float, services: Sequence[str] = (), slos: Sequence[str] = (),
    overrides: Sequence[Override | None] = (None,), progress: Progress | None = None,
) -> list[Backtest]:
    """One Backtest per entry of `overrides` (None: the spec as it is), all from one fetch."""
    first, last = math.ceil(start / STEP) * STEP, int(end // STEP) * STEP
    if last <= first:
        raise CannotDecide("the range is shorter than a minute: give --from before --to, or --since 1d")
    variants = [targets(project, services, slos, o) for o in overrides]
    lead = max(warmup(v) for v in variants)
    timeline = Timeline(first - lead, (last - first + lead) // STEP + 1, STEP)
    parts = list(dict.fromkeys(p for v in variants for t in v for p in server_parts(t.groups)))
    if progress:
        progress(f"replaying {len(variants[0])} SLO(s) over {human_duration(last - first)} "
                 f"(+{format_duration(lead)} before, for the windows): {len(parts)} series expression(s)")
    try:
        fetched = fetch(client, parts, timeline, progress)
    except RemoteError as exc:
        raise CannotDecide(str(exc)) from None
    _check_coverage(client, variants[0], fetched, timeline, first)
    rules = inhibitions(project) if project.routing is not None else []
    results = []
    for variant in variants:
        notes = [] if rules else ["no alerts/routing.yaml: no inhibitions applied"]
        results.append(Backtest(first, last, _replay(variant, fetched, timeline, first, rules), notes))
    return results


def _check_coverage(client: Prometheus, replayed: Sequence[Target], fetched: dict[str, Frame], timeline: Timeline, first: int) -> None:
    """No data at all is a mistake (a wrong selector or server); data that begins late is a range beyond retention."""
    empty, late = [], []
    begin = timeline.index(first)
    for target in (t for t in replayed if not t.context):
        present = np.zeros(timeline.steps, bool)
        for part in server_parts(target.groups):
            for _, p in fetched[part].values():
                present |= p
        name = f"{target.service.name}/{target.slo.name}"
        if not present[begin:].any():
            empty.append(name)
        elif not present[begin : begin + 60].any():
            since = timeline.start + int(np.flatnonzero(present)[0]) * timeline.step
            late.append((name, since))
    if empty:
        raise CannotDecide(f"no series for {', '.join(empty)} in the range: check `obsgen check` against this server, "
                            "and that the range is one it scraped")
    if late:
        retention = _retention(client)
        held = ", ".join(f"{name} from {_iso(since)}" for name, since in late)
        raise CannotDecide(f"the range starts before the data: {held}{f' (retention {retention})' if retention else ''}; "
                            f"nothing was replayed: start at {_iso(max(s for _, s in late))} or later")


def _retention(client: Prometheus) -> str:
    try:
        flags = client.flags()
    except RemoteError:
        return ""
    return flags.get("storage.tsdb.retention.time", "")


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(seconds))


def _replay(replayed: Sequence[Target], fetched: dict[str, Frame], timeline: Timeline, first: int,
            rules: Sequence[Inhibition]) -> list[SLOBacktest]:
    begin = timeline.index(first)
    states: list[tuple[Target, Replay, dict[LabelKey, tuple[AlertRule, np.ndarray]]]] = []
    everything: dict[LabelKey, np.ndarray] = {}
    for target in replayed:
        replay = Replay(timeline, fetched).run(target.groups)
        firing = replay.firing()
        states.append((target, replay, firing))
        everything.update({labels: mask for labels, (_, mask) in firing.items()})
    muted = _inhibited(everything, rules)
    return [_summarise(target, replay, firing, muted, timeline, begin) for target, replay, firing in states if not target.context]


def _inhibited(firing: dict[LabelKey, np.ndarray], rules: Sequence[Inhibition]) -> dict[LabelKey, np.ndarray]:
    """Per alert, the minutes an inhibition mutes it: some firing alert mutes it then."""
    labelled = [(dict(k), k, m) for k, m in firing.items()]
    out = {k: np.zeros_like(m) for k, m in firing.items()}
    for rule in rules:
        # Only sources and targets of this rule, sources by their `equal` labels: linear, not quadratic, in alerts.
        sources: dict[tuple[str, ...], list[tuple[dict[str, str], LabelKey, np.ndarray]]] = {}
        for labels, k, mask in labelled:
            if all(m.matches(labels) for m in rule.source):
                sources.setdefault(tuple(labels.get(e, "") for e in rule.equal), []).append((labels, k, mask))
        for labels, k, mask in labelled:
            if not all(m.matches(labels) for m in rule.target):
                continue
            for source, sk, smask in sources.get(tuple(labels.get(e, "") for e in rule.equal), []):
                if sk != k and rule.mutes(source, labels):
                    out[k] |= smask & mask
    return out


def _summarise(target: Target, replay: Replay, firing: dict[LabelKey, tuple[AlertRule, np.ndarray]], muted: dict[LabelKey, np.ndarray],
               timeline: Timeline, begin: int) -> SLOBacktest:
    slo, service = target.slo, target.service
    ids = {names.SERVICE: service.name, names.SLO: slo.name}
    total = _sum(replay.recorded.get(names.total_rate(names.BASE_WINDOW), {}), ids, timeline.steps)
    errors = _sum(replay.recorded.get(names.errors_rate(names.BASE_WINDOW), {}), ids, timeline.steps)
    per_minute_events, per_minute_errors = total[begin:] * STEP, errors[begin:] * STEP
    events, errs = float(per_minute_events.sum()), float(per_minute_errors.sum())
    # The period's budget at the range's traffic: a week's range of a 30d SLO allows a quarter of it.
    allowed = float(slo.budget) * events * slo.period / (len(per_minute_events) * STEP)
    spent = np.cumsum(per_minute_errors) / allowed if allowed > 0 else np.full(len(per_minute_errors), np.nan)

    def budget_at(index: int) -> float | None:
        i = min(max(index - begin, 0), len(spent) - 1)
        return None if math.isnan(spent[i]) else float(spent[i])

    episodes: list[Episode] = []
    inhibited = 0
    for labels, (rule, mask) in sorted(firing.items(), key=lambda item: item[0]):
        found = dict(labels)
        if found.get(names.SERVICE) != service.name or found.get(names.SLO) != slo.name:
            continue
        delivered = mask & ~muted.get(labels, np.zeros_like(mask))
        inhibited += int((mask & ~delivered)[begin:].sum())
        group = {label: found.get(label, "") for label in slo.group_by}
        ratio = _ratio(replay, ids, group, rule.tier.long_window) if rule.tier else None
        for a, b in runs(delivered[begin:]):
            a, b = a + begin, b + begin
            peak = None
            if ratio is not None and ratio[1][a:b].any():
                peak = float(np.nanmax(np.where(ratio[1][a:b], ratio[0][a:b], np.nan))) / float(slo.budget)
            episodes.append(Episode(
                rule.alert, found.get(names.SEVERITY, ""), found.get(names.LONG_WINDOW, ""), found.get(names.SHORT_WINDOW, ""), group,
                timeline.start + a * timeline.step, timeline.start + b * timeline.step, peak,
                budget_at(a), budget_at(b - 1), open_start=a == begin, open_end=b == timeline.steps,
            ))
    episodes.sort(key=lambda e: (e.start, e.severity, e.long_window))
    with np.errstate(all="ignore"):
        burn = np.where(total[begin:] > 0, errors[begin:] / total[begin:], 0.0) / float(slo.budget)
    return SLOBacktest(service.name, slo.name, slo.objective, slo.period, episodes, inhibited, events, errs,
                       timeline.start + begin * timeline.step, spent, burn)


def _sum(frame: Frame, ids: dict[str, str], steps: int) -> np.ndarray:
    out = np.zeros(steps)
    for labels, (values, present) in frame.items():
        found = dict(labels)
        if all(found.get(k) == v for k, v in ids.items()):
            out += np.where(present, values, 0.0)
    return out


def _ratio(replay: Replay, ids: dict[str, str], group: dict[str, str], window: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The error ratio over `window` of the SLO (of its group), as replayed."""
    wanted = {**ids, **group}
    for labels, values in replay.recorded.get(names.error_ratio(window), {}).items():
        if all(dict(labels).get(k) == v for k, v in wanted.items()):
            return values
    return None


@dataclass(frozen=True)
class Incident:
    """A stretch where the SLO burned its budget faster than allowed, around a page of either variant."""

    slo: str
    start: int
    end: int
    detected: tuple[int | None, ...]  # seconds from start to the first page, per variant; None: no page
    burned: tuple[float | None, ...]  # share of the period's budget spent before that page


def incidents(results: Sequence[Backtest]) -> list[Incident]:
    """The pages of every variant, merged where they overlap, each traced back to where its burn began
    (the latest minute before the first page since which the 5m burn rate stayed at or above 1)."""
    out: list[Incident] = []
    for index, first in enumerate(results[0].slos):
        per_variant = [r.slos[index] for r in results]
        spans = sorted((e.start, e.end) for v in per_variant for e in v.pages())
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        for a, b in merged:
            begin = a
            while begin - STEP >= first.start and first.burn[(begin - STEP - first.start) // STEP] >= 1:
                begin -= STEP
            detected: list[int | None] = []
            burned: list[float | None] = []
            for variant in per_variant:
                page = next((e for e in variant.pages() if a <= e.start < b), None)
                detected.append(None if page is None else page.start - begin)
                burned.append(None if page is None or page.budget_at_start is None else page.budget_at_start - variant.spent_at(begin))
            out.append(Incident(first.name, begin, b, tuple(detected), tuple(burned)))
    return out

