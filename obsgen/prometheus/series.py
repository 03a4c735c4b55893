"""Synthetic input series for promtool tests: raw counters that give an SLI a chosen error ratio.

From the SLI's selectors obsgen finds label sets that match them (and, for the good half of a
shared counter, label sets that do not match the error selector), then writes counters in
promtool's `start+step x count` notation. Pure; no I/O.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Literal

from obsgen.core import promql
from obsgen.model.slo import SLO, CompositeSLI, LatencySLI, ProbeSLI

# A probe SLI's test series: this many probes, each sampled once a minute, told apart by a label.
PROBES = 4
PROBE_LABEL = "probe"
# Label values tried for matchers that are not plain equality, most plausible first.
_BAD_VALUES = ("error", "failed", "500", "failure", "timeout", "5xx", "false")
_GOOD_VALUES = ("ok", "success", "200", "succeeded", "2xx", "true")
_OTHER_VALUES = ("", "x", "other", "default")
# Counters start far above zero, as long-running ones do: Prometheus then extrapolates a rate at the
# start of a series to the range's edge instead of stopping where the counter would reach zero, which
# keeps every series' extrapolation the same (2^30: increments of 1/1024 stay exact in a float).
BASELINE = float(2**30)


def exact(count: float) -> float:
    """Nearest multiple of 1/1024: sums of such numbers are exact in floating point, so a counter
    built from them never steps backwards by a rounding error (which Prometheus reads as a reset)."""
    return round(count * 1024) / 1024


@dataclass(frozen=True)
class Phase:
    """`minutes` of traffic with `good` and `bad` events a minute (multiples of 1/1024)."""

    minutes: int
    good: float
    bad: float

    @classmethod
    def of(cls, minutes: int, per_minute: float, error_ratio: float) -> Phase:
        bad = exact(per_minute * error_ratio)
        return cls(minutes, exact(per_minute) - bad, bad)

    @property
    def error_ratio(self) -> float:
        return self.bad / (self.good + self.bad)


@dataclass(frozen=True)
class Counter:
    """A synthetic series: a counter of the events it counts; a probe's gauge whose sample each
    minute is the share of that minute's events that passed; or a native histogram of them."""

    name: str
    labels: tuple[tuple[str, str], ...]
    bad: float  # share of a bad event this counter counts (0 or 1)
    good: float  # share of a good event it counts (0 or 1)
    kind: Literal["counter", "gauge", "native"] = "counter"
    threshold: float = 0.0  # a native histogram's: good events are observed under it, bad ones over it

    @property
    def series(self) -> str:
        """promtool's series notation: name{label="value", ...}."""
        return promql.Selector.of(self.name, **dict(self.labels)).render()

    def selected_by(self, selector: promql.Selector) -> bool:
        labels = dict(self.labels)
        return selector.name == self.name and all(_matches(m, labels.get(m.name, "")) for m in selector.matchers)


class Untestable(ValueError):
    """The SLI cannot be driven by synthetic series (an expression, or unsatisfiable matchers)."""


def counters(slo: SLO) -> list[Counter]:
    """The raw counters to synthesise, with what each one counts (without the labels of a group)."""
    groups(slo, 1)  # a per-group SLO also needs values of its group labels
    sli = slo.sli
    if isinstance(sli, CompositeSLI):
        return [c for own in part_counters(slo) for c in own]
    if isinstance(sli, ProbeSLI):
        labels = _satisfy(sli.success.matchers, prefer=_GOOD_VALUES)
        if PROBE_LABEL in labels:
            raise Untestable(f"the probe's selector matches on {PROBE_LABEL}, which the generated probes use")
        return [
            Counter(sli.success.name, tuple(sorted({**labels, PROBE_LABEL: str(i)}.items())), bad=0, good=1, kind="gauge")
            for i in range(1, PROBES + 1)
        ]
    if isinstance(sli, LatencySLI) and sli.native:
        labels = _satisfy(sli.histogram.matchers, prefer=_GOOD_VALUES)
        return [Counter(sli.histogram.name, tuple(sorted(labels.items())), bad=1, good=1, kind="native", threshold=sli.threshold)]
    if isinstance(sli, LatencySLI):
        labels = _satisfy(sli.histogram.matchers, prefer=_GOOD_VALUES)
        le = promql.le_values(sli.threshold)[0]
        return [
            _counter(sli.bucket.name, {**labels, "le": le}, bad=0, good=1),
            _counter(sli.count.name, labels, bad=1, good=1),
        ]
    if sli.test_series:
        shares = {"bad": (1, 0), "good": (0, 1), "all": (1, 1)}
        return [_counter(t.series.name, satisfy(t.series.matchers), *shares[t.counts]) for t in sli.test_series]
    part, counts_bad = (sli.errors, True) if sli.errors is not None else (sli.good, False)
    part_counter, total_counter = _plain_counter(part), _plain_counter(sli.total)
    if part_counter is None or total_counter is None:
        raise Untestable("an expression SLI that is more than the rate of one counter: give `test_series` to say which counters it reads")
    return ratio_counters(part_counter, total_counter, counts_bad)


def part_counters(slo: SLO) -> list[list[Counter]]:
    """A composite's counters, part by part: the scenarios drive each part on its own. Every part
    must count only its own series, so that feeding them all the same traffic gives the composite
    exactly its weight times that traffic."""
    assert isinstance(slo.sli, CompositeSLI)
    parts = [replace(p.slo, group_by=slo.group_by) for p in slo.sli.parts]
    if any(isinstance(leaf, ProbeSLI) for leaf in slo.sli.leaves()):
        raise Untestable("a probe's events are samples, which the scenarios of a composite cannot mix with counted events")
    found = [(part, counters(part)) for part in parts]
    if not independent(found):
        raise Untestable("one part's selectors also read another part's series, so no traffic drives one part alone")
    return [own for _, own in found]


def _plain_counter(events: promql.Events | None) -> promql.Selector | None:
    """The counter a field counts: its selector, or the one counter an expression is the rate of."""
    if isinstance(events, promql.WindowExpression):
        return events.counter
    return events


def ratio_counters(part_sel: promql.Selector, total_sel: promql.Selector, counts_bad: bool = True) -> list[Counter]:
    """Counters for a part (errors, or good events) over a total, both plain selectors."""
    own, other = (_BAD_VALUES, _GOOD_VALUES) if counts_bad else (_GOOD_VALUES, _BAD_VALUES)
    if part_sel.name != total_sel.name:
        # Separate counters: the part counts its own events, the total counts all of them.
        return [
            _counter(part_sel.name, _satisfy(part_sel.matchers, prefer=own), bad=counts_bad, good=not counts_bad),
            _counter(total_sel.name, _satisfy(total_sel.matchers, prefer=own), bad=1, good=1),
        ]
    # One counter split by a label: a series the part selects, and one only the total selects.
    inside = _satisfy(part_sel.matchers + total_sel.matchers, prefer=own)
    outside = _satisfy(total_sel.matchers, prefer=other, avoid=part_sel.matchers)
    return [
        _counter(total_sel.name, inside, bad=counts_bad, good=not counts_bad),
        _counter(total_sel.name, outside, bad=not counts_bad, good=counts_bad),
    ]


_GROUP_VALUES = ("a", "b", "c", "d", "e")  # tried after the values a selector's matchers name


def groups(slo: SLO, count: int) -> list[dict[str, str]]:
    """Label sets of up to `count` groups of a per-group SLO, each meeting every matcher the SLI's
    selectors put on the group labels; [{}] for an SLO without groups."""
    if not slo.group_by:
        return [{}]
    matchers = tuple(m for sel in selectors(slo) for m in sel.matchers)
    options = []
    for label in slo.group_by:
        values = [v for v in _candidates(matchers, label, _GROUP_VALUES) if v and all(_matches(m, v) for m in matchers if m.name == label)]
        if not values:
            raise Untestable(f"no value of {label} found that matches {', '.join(m.render() for m in matchers if m.name == label)}")
        options.append(values)
    width = min(count, *(len(v) for v in options))
    return [{label: values[i] for label, values in zip(slo.group_by, options)} for i in range(width)]


def in_group(sli_counters: list[Counter], group: dict[str, str]) -> list[Counter]:
    """The counters of one group: the same series with the group's labels."""
    return [replace(c, labels=tuple(sorted({**dict(c.labels), **group}.items()))) for c in sli_counters]


def input_series(sli_counters: list[Counter], phases: list[Phase]) -> list[dict[str, str]]:
    """promtool `input_series` for these phases, one sample a minute."""
    out = []
    for counter in sli_counters:
        if counter.kind == "gauge":
            out.append({"series": counter.series, "values": gauge_values(phases)})
            continue
        if counter.kind == "native":
            out.append({"series": counter.series, "values": native_values(phases, counter.threshold)})
            continue
        steps = [(p.bad * counter.bad + p.good * counter.good, p.minutes) for p in phases]
        out.append({"series": counter.series, "values": counter_values(steps)})
    return out


def gauge_values(phases: list[Phase]) -> str:
    """promtool notation for a probe's gauge: each minute the share of its events that passed (the
    probes together give PROBES samples a minute), the last minute's once more at the end."""
    shares = [(p.good / (p.good + p.bad), p.minutes) for p in phases if p.minutes > 0]
    shares[-1] = (shares[-1][0], shares[-1][1] + 1)
    return " ".join(f"{_exact_number(share)}+0x{count - 1}" for share, count in shares)


def counter_values(steps: list[tuple[float, int]]) -> str:
    """promtool notation for a counter from BASELINE growing by `increment` for `count` samples, per step."""
    parts = [_exact_number(BASELINE)]
    value = BASELINE
    for increment, count in steps:
        if count <= 0:
            continue
        first = value + increment
        parts.append(f"{_exact_number(first)}+{_exact_number(increment)}x{count - 1}")
        value = first + increment * (count - 1)
    return " ".join(parts)


def native_values(phases: list[Phase], threshold: float) -> str:
    """promtool 3 notation for a native histogram (schema 0: buckets (2^(i-1), 2^i]) whose good
    events fall in the bucket just at or under the threshold and bad ones in the bucket just over
    it, so histogram_fraction(0, threshold) counts exactly the good ones, whatever the threshold."""
    fast = math.floor(math.log2(threshold))  # upper bound 2^fast <= threshold
    slow = math.ceil(math.log2(threshold)) + 1  # lower bound 2^(slow - 1) >= threshold
    gap = " 0" * (slow - fast - 1)

    def histogram(good: float, bad: float) -> str:
        return f"{{{{schema:0 count:{_exact_number(good + bad)} offset:{fast} buckets:[{_exact_number(good)}{gap} {_exact_number(bad)}]}}}}"

    parts = [histogram(BASELINE, 0)]
    good, bad = BASELINE, 0.0
    for p in phases:
        if p.minutes <= 0:
            continue
        parts.append(f"{histogram(good + p.good, bad + p.bad)}+{histogram(p.good, p.bad)}x{p.minutes - 1}")
        good, bad = good + p.good * p.minutes, bad + p.bad * p.minutes
    return " ".join(parts)


def _exact_number(value: float) -> str:
    """Shortest text that reads back as exactly this float (promql.number rounds to 12 digits)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _counter(name: str, labels: dict[str, str], bad: float, good: float) -> Counter:
    return Counter(name, tuple(sorted(labels.items())), bad=float(bad), good=float(good))


def selectors(slo: SLO) -> list[promql.Selector]:
    """Every raw selector the SLI reads (for plain-selector SLIs)."""
    sli = slo.sli
    if isinstance(sli, ProbeSLI):
        return [sli.success]
    if isinstance(sli, LatencySLI):
        return [sli.histogram] if sli.native else [sli.bucket, sli.count]
    if isinstance(sli, CompositeSLI):
        return [sel for p in sli.parts for sel in selectors(p.slo)]
    found: list[promql.Selector] = [t.series for t in sli.test_series or []]
    for events in (sli.errors, sli.good, sli.total):
        found += list(events.selectors) if isinstance(events, promql.WindowExpression) else [events] if events else []
    return found


def independent(slos: list[tuple[SLO, list[Counter]]]) -> bool:
    """True when no SLO's selectors pick up another's synthetic series, so their scenarios can share a test."""
    for slo, own in slos:
        others = [sel for other, _ in slos if other is not slo for sel in selectors(other)]
        if any(c.selected_by(sel) for c in own for sel in others):
            return False
    return True


def _matches(matcher: promql.Matcher, value: str) -> bool:
    if matcher.op == "=":
        return value == matcher.value
    if matcher.op == "!=":
        return value != matcher.value
    found = re.fullmatch(matcher.value, value, flags=re.DOTALL) is not None
    return found if matcher.op == "=~" else not found


def _candidates(matchers: tuple[promql.Matcher, ...], label: str, prefer: tuple[str, ...]) -> list[str]:
    values: list[str] = []
    for m in matchers:
        if m.name == label and m.op == "=":
            values.append(m.value)
        elif m.name == label and m.op == "=~":
            # Alternatives of a simple regex such as succeeded|failed are likely values.
            values += [v for v in m.value.strip("()").split("|") if re.escape(v) == v.replace("-", "\\-")]
    ordered = list(dict.fromkeys([*values, *prefer, *_BAD_VALUES, *_GOOD_VALUES, *_OTHER_VALUES]))
    # Status codes want numbers, outcomes want words: rank values shaped like the matchers' first.
    numeric = any(ch.isdigit() for m in matchers if m.name == label for ch in m.value)
    return sorted(ordered, key=lambda v: v[:1].isdigit() != numeric)


def satisfy(matchers: tuple[promql.Matcher, ...]) -> dict[str, str]:
    """Label values that meet every matcher (for synthetic series of any selector)."""
    return _satisfy(matchers, prefer=())


def _satisfy(
    matchers: tuple[promql.Matcher, ...], prefer: tuple[str, ...], avoid: tuple[promql.Matcher, ...] = ()
) -> dict[str, str]:
    """Label values meeting every matcher and, when `avoid` is given, failing at least one of those."""
    labels = sorted({m.name for m in matchers} | {m.name for m in avoid})
    options = {
        label: [v for v in _candidates(matchers + avoid, label, prefer) if all(_matches(m, v) for m in matchers if m.name == label)]
        for label in labels
    }
    chosen = {label: values[0] for label, values in options.items() if values}
    if len(chosen) < len(labels):
        raise Untestable(f"no label values found that match {', '.join(m.render() for m in matchers)}")
    if avoid and all(_matches(m, chosen[m.name]) for m in avoid):
        for m in avoid:
            escape = [v for v in options[m.name] if not _matches(m, v)]
            if escape:
                chosen[m.name] = escape[0]
                break
        else:
            raise Untestable(f"every series the total selects is also selected by {', '.join(m.render() for m in avoid)}")
    return {k: v for k, v in chosen.items() if v != ""}  # an empty value is an absent label
