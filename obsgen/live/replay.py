"""The generated rules, evaluated at every minute of a stretch of history: what `obsgen backtest` replays.

The replay reads the rules' own PromQL, the text Prometheus loads, so it cannot drift from the
generator. Sub-expressions that read raw series (anything but a recording of the replayed groups)
are answered by the server, range-queried as written (`server_parts`); everything above them is
evaluated here, for all minutes at once, with Prometheus's semantics for what the generator writes:
arithmetic and comparisons with one-to-one matching (`on (...)` keeps only those labels, arithmetic
drops the metric name), `and`/`or`/`unless` decided per timestamp, `vector`, `absent`, `sqrt`,
`clamp_min`/`clamp_max`, aggregations by or without labels, `offset`. A recording that is not
produced at a minute is absent there (Prometheus writes a stale marker), so selectors need no
lookback. Anything else raises Unsupported: a gap in the replay, never a silent difference.

Pure: fetched series in, firing minutes out. numpy holds a series as values and a presence mask.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import promql_parser as pp

from obsgen.core import promql
from obsgen.core.rules import AlertRule, RecordingRule, RuleGroup

NAME = "__name__"
LabelKey = tuple[tuple[str, str], ...]  # sorted (label, value) pairs
Values = tuple[np.ndarray, np.ndarray]  # float64 values, bool present
Frame = dict[LabelKey, Values]  # an instant vector at every step of a timeline


class Unsupported(ValueError):
    """A rule the replay cannot evaluate exactly."""


@dataclass(frozen=True)
class Timeline:
    start: int  # unix seconds of the first step
    steps: int
    step: int = 60

    @property
    def end(self) -> int:
        """Unix seconds of the last step."""
        return self.start + (self.steps - 1) * self.step

    def index(self, at: float) -> int:
        return round((at - self.start) / self.step)


def key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted((k, v) for k, v in labels.items() if v != ""))


def _put(frame: Frame, labels: LabelKey, values: Values) -> None:
    """Adds a series; one already there under the same labels keeps its samples, the new one fills its
    gaps (at any one time a rule yields one sample per label set: the two are never both present)."""
    if labels in frame:
        old, seen = frame[labels]
        new, present = values
        frame[labels] = (np.where(seen, old, new), seen | present)
    else:
        frame[labels] = values


def _drop(labels: LabelKey, names: Iterable[str]) -> LabelKey:
    gone = set(names)
    return tuple(p for p in labels if p[0] not in gone)


def _keep(labels: LabelKey, names: Iterable[str]) -> LabelKey:
    kept = set(names)
    return tuple(p for p in labels if p[0] in kept)


def _recorded(node: pp.Expr, recorded: set[str]) -> bool:
    """Whether `node` reads a recording of the replayed groups."""
    if isinstance(node, pp.VectorSelector):
        return node.name in recorded
    return any(_recorded(child, recorded) for child in _children(node))


def _reads_series(node: pp.Expr) -> bool:
    if isinstance(node, (pp.VectorSelector, pp.MatrixSelector)):
        return True
    return any(_reads_series(child) for child in _children(node))


def _children(node: pp.Expr) -> list[pp.Expr]:
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.AggregateExpr, pp.SubqueryExpr)):
        return [node.expr]
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, pp.Call):
        return list(node.args)
    return []


def _is_server(node: pp.Expr, recorded: set[str]) -> bool:
    return _reads_series(node) and not _recorded(node, recorded)


def _seconds(delta: dt.timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{round(seconds * 1000)}ms"


def _offset(delta: dt.timedelta | None) -> str:
    return "" if delta is None else f" offset {'-' if delta.total_seconds() < 0 else ''}{_seconds(abs(delta))}"


def render(node: pp.Expr) -> str:
    """PromQL text for a parsed expression that Prometheus reads back as the same expression.
    (promql-parser's own text leaves label values unescaped: `le=~"10\\.0"` would come back as a
    string Prometheus refuses.) Every operand that is not a single term is parenthesised, so
    precedence never changes, and writing what this wrote gives the same text."""
    if isinstance(node, pp.VectorSelector):
        if node.at is not None:
            raise Unsupported(f"@ modifier in {node}")
        ops = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
        matchers = ", ".join(f"{m.name}{ops[str(m.op)]}{promql.quote(m.value)}" for m in node.matchers.matchers)
        return f"{node.name or ''}{{{matchers}}}{_offset(node.offset)}"
    if isinstance(node, pp.MatrixSelector):
        inner = node.vector_selector
        offset = _offset(inner.offset)
        bare = render(inner)[: -len(offset) or None]
        return f"{bare}[{_seconds(node.range)}]{offset}"
    if isinstance(node, pp.SubqueryExpr):
        step = _seconds(node.step) if node.step is not None else ""
        assert node.range is not None
        return f"{_operand(node.expr)}[{_seconds(node.range)}:{step}]{_offset(node.offset)}"
    if isinstance(node, pp.NumberLiteral):
        return repr(float(node.val)).replace("inf", "Inf").replace("nan", "NaN")
    if isinstance(node, pp.StringLiteral):
        return promql.quote(node.val)
    if isinstance(node, pp.ParenExpr):
        return f"({render(node.expr)})"
    if isinstance(node, pp.UnaryExpr):
        return f"-{_operand(node.expr)}"
    if isinstance(node, pp.Call):
        return f"{node.func.name}({', '.join(render(a) for a in node.args)})"
    if isinstance(node, pp.AggregateExpr):
        modifier = node.modifier
        grouping = ""
        if modifier is not None:
            kind = "by" if str(modifier.type) == "AggModifierType.By" else "without"
            grouping = f" {kind} ({', '.join(modifier.labels)})"
        param = f"{render(node.param)}, " if node.param is not None else ""
        return f"{node.op}{grouping} ({param}{render(node.expr)})"
    if isinstance(node, pp.BinaryExpr):
        return f"{_operand(node.lhs)} {node.op}{_modifier(node.modifier)} {_operand(node.rhs)}"
    raise Unsupported(f"cannot write {type(node).__name__} back as PromQL: {node}")


def _operand(node: pp.Expr) -> str:
    """An operand of an operator: parenthesised unless it is a single term already."""
    single = (pp.ParenExpr, pp.VectorSelector, pp.MatrixSelector, pp.NumberLiteral, pp.StringLiteral, pp.Call, pp.AggregateExpr)
    return render(node) if isinstance(node, single) else f"({render(node)})"


def _modifier(modifier: pp.BinModifier | None) -> str:
    if modifier is None:
        return ""
    out = " bool" if modifier.return_bool else ""
    matching = modifier.matching
    if matching is not None:
        kind = "on" if str(matching.type) == "LabelModifierType.Include" else "ignoring"
        out += f" {kind} ({', '.join(matching.labels)})"
    card = str(modifier.card)
    if card in ("VectorMatchCardinality.ManyToOne", "VectorMatchCardinality.OneToMany"):
        side = "group_left" if card.endswith("ManyToOne") else "group_right"
        out += f" {side} ({', '.join(modifier.group_labels or [])})"
    return out


def server_parts(groups: Iterable[RuleGroup]) -> list[str]:
    """The sub-expressions of the groups' rules that read raw series, as the server is asked for them."""
    recorded = recordings(groups)
    found: list[str] = []

    def walk(node: pp.Expr) -> None:
        if _is_server(node, recorded):
            text = render(node)
            if text not in found:
                found.append(text)
            return
        for child in _children(node):
            walk(child)

    for group in groups:
        for rule in group.rules:
            walk(pp.parse(rule.expr))
    return found


def recordings(groups: Iterable[RuleGroup]) -> set[str]:
    return {r.record for g in groups for r in g.rules if isinstance(r, RecordingRule)}


@dataclass
class Replay:
    """The groups evaluated over `timeline`, with `fetched` holding each server part's answer."""

    timeline: Timeline
    fetched: Mapping[str, Frame]
    recorded: dict[str, Frame] = field(default_factory=dict)
    alerts: list[tuple[AlertRule, Frame]] = field(default_factory=list)  # each rule's condition: labels -> active

    def run(self, groups: Iterable[RuleGroup]) -> Replay:
        groups = list(groups)
        names = recordings(groups)
        for group in groups:
            for rule in group.rules:
                result = self._vector(self.eval(pp.parse(rule.expr), names))
                out = self.recorded.setdefault(rule.record, {}) if isinstance(rule, RecordingRule) else {}
                extra = {**rule.labels, NAME: rule.record} if isinstance(rule, RecordingRule) else dict(rule.labels)
                for labels, values in result.items():
                    _put(out, key({**dict(_drop(labels, [NAME])), **extra}), values)
                if isinstance(rule, AlertRule):
                    self.alerts.append((rule, out))
        return self

    def firing(self) -> dict[LabelKey, tuple[AlertRule, np.ndarray]]:
        """Every alert's labels -> (its rule, firing at each step), `for` applied."""
        out: dict[LabelKey, tuple[AlertRule, np.ndarray]] = {}
        for rule, condition in self.alerts:
            for labels, (_, present) in condition.items():
                out[labels] = (rule, held(present, rule.for_ // self.timeline.step))
        return out

    # Evaluation: a float for a scalar, a Frame for an instant vector.

    def eval(self, node: pp.Expr, names: set[str]) -> float | Frame:
        if _is_server(node, names):
            return self.fetched[render(node)]
        if isinstance(node, pp.NumberLiteral):
            return float(node.val)
        if isinstance(node, pp.ParenExpr):
            return self.eval(node.expr, names)
        if isinstance(node, pp.UnaryExpr):
            inner = self.eval(node.expr, names)
            return -inner if isinstance(inner, float) else {_drop(k, [NAME]): (-v, p) for k, (v, p) in inner.items()}
        if isinstance(node, pp.VectorSelector):
            return self._select(node)
        if isinstance(node, pp.Call):
            return self._call(node, names)
        if isinstance(node, pp.AggregateExpr):
            return self._aggregate(node, names)
        if isinstance(node, pp.BinaryExpr):
            return self._binary(node, names)
        raise Unsupported(f"cannot replay {type(node).__name__}: {node}")

    def _vector(self, value: float | Frame) -> Frame:
        if isinstance(value, float):
            raise Unsupported("a rule whose value is a scalar")
        return value

    def _select(self, node: pp.VectorSelector) -> Frame:
        if node.at is not None:
            raise Unsupported(f"@ modifier in {node}")
        shift = 0
        if node.offset is not None:
            seconds = node.offset.total_seconds()
            if seconds % self.timeline.step:
                raise Unsupported(f"offset {seconds:g}s is not a whole number of steps")
            shift = int(seconds // self.timeline.step)
        matchers = [_matcher(m) for m in node.matchers.matchers]
        out: Frame = {}
        for labels, (values, present) in self.recorded.get(node.name or "", {}).items():
            found = dict(labels)
            if all(test(found.get(label, "")) for label, test in matchers):
                out[labels] = (_shift(values, shift, np.nan), _shift(present, shift, False))
        return out

    def _call(self, node: pp.Call, names: set[str]) -> Frame:
        name = node.func.name
        args = [self.eval(a, names) for a in node.args]
        steps = self.timeline.steps
        if name == "vector" and isinstance(args[0], float):
            return {(): (np.full(steps, args[0]), np.ones(steps, bool))}
        if name == "absent":
            selector = node.args[0]
            if not isinstance(selector, pp.VectorSelector):
                raise Unsupported(f"absent of {selector}")
            labels = key({m.name: m.value for m in selector.matchers.matchers if str(m.op) == "MatchOp.Equal" and m.name != NAME})
            present = np.zeros(steps, bool)
            for _, p in self._vector(args[0]).values():
                present |= p
            return {labels: (np.ones(steps), ~present)}
        simple: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sqrt": np.sqrt, "abs": np.abs, "exp": np.exp, "ln": np.log}
        if name in simple:
            return {_drop(k, [NAME]): (simple[name](v), p) for k, (v, p) in self._vector(args[0]).items()}
        if name in ("clamp_min", "clamp_max") and isinstance(args[1], float):
            bound = args[1]
            clamp = np.maximum if name == "clamp_min" else np.minimum
            return {_drop(k, [NAME]): (clamp(v, bound), p) for k, (v, p) in self._vector(args[0]).items()}
        raise Unsupported(f"cannot replay {name}() locally: {node}")

    def _aggregate(self, node: pp.AggregateExpr, names: set[str]) -> Frame:
        op = str(node.op)
        if op not in ("sum", "max", "min", "count") or node.param is not None:
            raise Unsupported(f"cannot replay the aggregation {node}")
        inner = self._vector(self.eval(node.expr, names))
        modifier = node.modifier
        groups: dict[LabelKey, list[Values]] = {}
        for labels, values in inner.items():
            out: LabelKey
            if modifier is None:
                out = ()
            elif str(modifier.type) == "AggModifierType.By":
                out = _keep(labels, modifier.labels)
            else:
                out = _drop(labels, [*modifier.labels, NAME])
            groups.setdefault(out, []).append(values)
        result: Frame = {}
        for labels, members in groups.items():
            stacked = np.stack([v for v, _ in members])
            seen = np.stack([p for _, p in members])
            masked = np.where(seen, stacked, {"sum": 0.0, "count": 0.0, "max": -np.inf, "min": np.inf}[op])
            combined = {"sum": masked.sum(0), "count": seen.sum(0).astype(float), "max": masked.max(0), "min": masked.min(0)}[op]
            result[labels] = (combined, np.asarray(seen.any(0)))
        return result

    def _binary(self, node: pp.BinaryExpr, names: set[str]) -> float | Frame:
        op = str(node.op)
        lhs, rhs = self.eval(node.lhs, names), self.eval(node.rhs, names)
        modifier = node.modifier
        returns_bool = bool(modifier is not None and modifier.return_bool)
        if op in ("and", "or", "unless"):
            return _set_op(op, self._vector(lhs), self._vector(rhs), modifier)
        if isinstance(lhs, float) and isinstance(rhs, float):
            return float(_apply(op, np.array([lhs]), np.array([rhs]))[0])
        if isinstance(lhs, float) or isinstance(rhs, float):
            return _with_scalar(op, lhs, rhs, returns_bool)
        return _one_to_one(op, lhs, rhs, modifier, returns_bool)


_ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
    "%": np.fmod, "atan2": np.arctan2,
}
_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal, "==": np.equal, "!=": np.not_equal,
}


def _apply(op: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # x/0 is ±Inf or NaN in PromQL too
        if op in _ARITHMETIC:
            return _ARITHMETIC[op](left, right)
        if op in _COMPARE:
            return _COMPARE[op](left, right)
    raise Unsupported(f"operator {op}")


def _with_scalar(op: str, lhs: float | Frame, rhs: float | Frame, returns_bool: bool) -> Frame:
    vector, scalar = (rhs, lhs) if isinstance(lhs, float) else (lhs, rhs)
    assert isinstance(vector, dict) and isinstance(scalar, float)
    swapped = isinstance(lhs, float)
    out: Frame = {}
    for labels, (values, present) in vector.items():
        left, right = (np.full_like(values, scalar), values) if swapped else (values, np.full_like(values, scalar))
        result = _apply(op, left, right)
        if op in _COMPARE:
            if returns_bool:
                out[_drop(labels, [NAME])] = (result.astype(float), present)
            else:  # a filter: the vector's own value where the comparison holds
                out[labels] = (values, present & result)
        else:
            out[_drop(labels, [NAME])] = (result, present)
    return out


def _signature(labels: LabelKey, modifier: pp.BinModifier | None) -> LabelKey:
    matching = modifier.matching if modifier is not None else None
    if matching is not None and str(matching.type) == "LabelModifierType.Include":
        return _keep(labels, matching.labels)
    return _drop(labels, [NAME, *(matching.labels if matching is not None else [])])


def _one_to_one(op: str, lhs: Frame, rhs: Frame, modifier: pp.BinModifier | None, returns_bool: bool) -> Frame:
    if modifier is not None and (modifier.group_labels or str(modifier.card) != "VectorMatchCardinality.OneToOne"):
        raise Unsupported("group_left/group_right matching")
    by_signature: Frame = {}
    for labels, values in rhs.items():
        _put(by_signature, _signature(labels, modifier), values)
    matching = modifier.matching if modifier is not None else None
    out: Frame = {}
    for labels, (left, left_present) in lhs.items():
        found = by_signature.get(_signature(labels, modifier))
        if found is None:
            continue
        right, right_present = found
        both = left_present & right_present
        result = _apply(op, left, right)
        comparison = op in _COMPARE
        named = labels if comparison and not returns_bool else _drop(labels, [NAME])
        if matching is not None:
            named = _keep(named, matching.labels) if str(matching.type) == "LabelModifierType.Include" else _drop(named, matching.labels)
        _put(out, named, (left, both & result) if comparison and not returns_bool else (result.astype(float), both))
    return out


def _set_op(op: str, lhs: Frame, rhs: Frame, modifier: pp.BinModifier | None) -> Frame:
    steps = len(next(iter((lhs or rhs).values()))[0]) if (lhs or rhs) else 0
    right_sigs: dict[LabelKey, np.ndarray] = {}
    for labels, (_, present) in rhs.items():
        sig = _signature(labels, modifier)
        right_sigs[sig] = right_sigs.get(sig, np.zeros(steps, bool)) | present
    if op == "and":
        return {labels: (v, p & right_sigs.get(_signature(labels, modifier), np.zeros_like(p))) for labels, (v, p) in lhs.items()}
    if op == "unless":
        return {labels: (v, p & ~right_sigs.get(_signature(labels, modifier), np.zeros_like(p))) for labels, (v, p) in lhs.items()}
    left_sigs: dict[LabelKey, np.ndarray] = {}
    for labels, (_, present) in lhs.items():
        sig = _signature(labels, modifier)
        left_sigs[sig] = left_sigs.get(sig, np.zeros(steps, bool)) | present
    out = dict(lhs)
    for labels, (values, present) in rhs.items():
        taken = left_sigs.get(_signature(labels, modifier))
        shown = present & ~taken if taken is not None else present
        if labels in out:  # the same series on both sides: the left's samples, the right's where the left has none
            v, p = out[labels]
            out[labels] = (np.where(p, v, values), p | shown)
        else:
            out[labels] = (values, shown)
    return out


def _matcher(m: pp.Matcher) -> tuple[str, Callable[[str], bool]]:
    import re

    op = str(m.op)
    if op == "MatchOp.Equal":
        return m.name, lambda v: v == m.value
    if op == "MatchOp.NotEqual":
        return m.name, lambda v: v != m.value
    pattern = re.compile(f"^(?:{m.value})$")
    if op == "MatchOp.Re":
        return m.name, lambda v: bool(pattern.match(v))
    return m.name, lambda v: not pattern.match(v)


def _shift(array: np.ndarray, by: int, fill: float | bool) -> np.ndarray:
    if by == 0:
        return array
    out = np.full_like(array, fill)
    if by > 0:
        out[by:] = array[:-by] if by < len(array) else out[by:]
    else:
        out[:by] = array[-by:]
    return out


def held(active: np.ndarray, steps: int) -> np.ndarray:
    """Firing at each step: active, and active for `steps` evaluations before it (Prometheus's `for`)."""
    if steps <= 0:
        return active.copy()
    # The index at which each run of active steps began; a step fires once it is `steps` past it.
    index = np.arange(len(active))
    starts = np.where(active & ~np.concatenate(([False], active[:-1])), index, 0)
    run_start = np.maximum.accumulate(starts)
    return active & (index - run_start >= steps)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, past last) index of each run of True."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def frame_from(series: Iterable[tuple[Mapping[str, str], Sequence[tuple[float, float]]]], timeline: Timeline) -> Frame:
    """A Frame from a range query's answer: (labels, (unix seconds, value) points) per series."""
    out: Frame = {}
    for labels, points in series:
        values = np.full(timeline.steps, np.nan)
        present = np.zeros(timeline.steps, bool)
        if points:
            pairs = np.asarray(points, float)
            index = np.rint((pairs[:, 0] - timeline.start) / timeline.step).astype(int)
            inside = (index >= 0) & (index < timeline.steps)
            values[index[inside]] = pairs[inside, 1]
            present[index[inside]] = True
        _put(out, key(labels), (values, present))  # the same labels from two chunks: one series
    return out
