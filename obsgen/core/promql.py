"""A small PromQL vocabulary: selectors with escaped label values, numbers, and parse checks.

Everything here emits text that Prometheus 2.42 parses; `check` proves it in-process.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import promql_parser

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
WINDOW_PLACEHOLDER = "$window"


@functools.lru_cache(maxsize=1 << 16)  # label values repeat in every rule of a service
def quote(value: str) -> str:
    """A PromQL double-quoted string literal for any label value."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def number(value: float) -> str:
    """Shortest decimal that round-trips the intended value: 14.4 * 0.001 -> 0.0144, not 0.014400000000000001."""
    if math.isinf(value) or math.isnan(value):
        raise ValueError(f"not a finite number: {value}")
    text = f"{value:.12g}"
    return text


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def render(self) -> str:
        return f"{self.name}{self.op}{quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    """An instant vector selector: metric name plus label matchers."""

    name: str
    matchers: tuple[Matcher, ...] = ()

    def render(self) -> str:
        inner = ", ".join(m.render() for m in self.matchers)
        return f"{self.name}{{{inner}}}" if inner else self.name

    def with_name(self, name: str) -> Selector:
        return Selector(name, self.matchers)

    def with_matcher(self, matcher: Matcher) -> Selector:
        return Selector(self.name, (*self.matchers, matcher))

    @classmethod
    def of(cls, name: str, **labels: str) -> Selector:
        return cls(name, tuple(Matcher(k, "=", v) for k, v in labels.items()))

    @property
    def selector(self) -> Selector:
        return self

    def ranged(self, window: str) -> str:
        return f"{self.render()}[{window}]"


GAUGE_AGGREGATIONS = ("sum", "max", "min", "avg")


@dataclass(frozen=True)
class Aggregate:
    """`sum by (topic) (selector)`: a gauge over several series, e.g. Kafka lag per partition summed
    per topic. Alerts on it are per series of the aggregation (per topic)."""

    op: str
    by: tuple[str, ...]
    selector: Selector

    def render(self) -> str:
        if not self.by:
            return f"{self.op}({self.selector.render()})"
        return f"{self.op} by ({', '.join(self.by)}) ({self.selector.render()})"

    def with_matcher(self, matcher: Matcher) -> Aggregate:
        return Aggregate(self.op, self.by, self.selector.with_matcher(matcher))

    def ranged(self, window: str) -> str:
        return f"{self.render()}[{window}:1m]"  # a range over an aggregation is a subquery


Gauge = Selector | Aggregate


def parse_gauge(text: str) -> Gauge:
    """A selector, or sum/max/min/avg by (labels) of one; ValueError otherwise."""
    try:
        node = promql_parser.parse(text)
    except ValueError as exc:
        raise ValueError(f"invalid PromQL: {exc}") from None
    if isinstance(node, promql_parser.AggregateExpr):
        op, modifier = str(node.op), node.modifier
        by = modifier is None or "By" in str(modifier.type)  # `without` would keep unknown labels
        if op in GAUGE_AGGREGATIONS and by and node.param is None and isinstance(node.expr, promql_parser.VectorSelector):
            return Aggregate(op, tuple(modifier.labels) if modifier else (), parse_selector(str(node.expr)))
    elif isinstance(node, promql_parser.VectorSelector):
        return parse_selector(text)
    raise ValueError(
        f"must be a selector, or an aggregation of one by labels ({', '.join(GAUGE_AGGREGATIONS)}), such as "
        f"sum by (topic) (kafka_consumergroup_lag{{group=\"api\"}}); got {text!r}"
    )


@functools.lru_cache(maxsize=1 << 16)  # builders render the same few selectors per SLO many times
def selector(name: str, *pairs: tuple[str, str]) -> str:
    """`name{k="v", ...}` for equality matchers, rendered once."""
    return Selector(name, tuple(Matcher(k, "=", v) for k, v in pairs)).render()


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (ValueError when it is not PromQL)."""
    try:
        root = promql_parser.parse(expr)
    except ValueError as exc:
        raise ValueError(f"invalid PromQL: {exc}") from None
    found: set[str] = set()
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                found.add(node.name)
        elif isinstance(node, promql_parser.MatrixSelector):
            stack.append(node.vector_selector)
        elif isinstance(node, promql_parser.BinaryExpr):
            stack += [node.lhs, node.rhs]
        elif isinstance(node, promql_parser.Call):
            stack += list(node.args)
        elif isinstance(node, promql_parser.AggregateExpr):
            stack += [node.expr, *([node.param] if node.param is not None else [])]
        elif hasattr(node, "expr"):  # parentheses, unary minus, subqueries
            stack.append(node.expr)
    return found


def check(expr: str) -> None:
    """Raise ValueError with the parser's message when `expr` is not valid PromQL."""
    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        raise ValueError(f"invalid PromQL: {exc}") from None


# Grafana's template variables: $__rate_interval, ${env}, [[env]], ${env:regex}.
_GRAFANA_RANGE = re.compile(r"\[\s*(?:\$\{?\w+(?::\w+)?\}?|\[\[\w+\]\])\s*(?P<step>:[^\]]*)?\]")
_GRAFANA_VARIABLE = re.compile(r"\$\{\w+(?::\w+)?\}|\$\w+|\[\[\w+\]\]")


def _subquery_step(step: str | None) -> str:
    """A subquery's `:step` with a variable for its step made a value (`:$__interval` -> `:1m`)."""
    if not step:
        return ""
    return ":" + ("1m" if _GRAFANA_VARIABLE.search(step) else step[1:].strip())


def check_templated(expr: str) -> None:
    """`check` for a dashboard query: Grafana's variables stand for a range inside [...] and for a
    name or value elsewhere, so each is replaced by one before parsing."""
    concrete = _GRAFANA_RANGE.sub(lambda m: f"[5m{_subquery_step(m['step'])}]", expr)  # a subquery keeps its colon
    concrete = _GRAFANA_VARIABLE.sub(lambda m: "300" if m.group().startswith("$__") else "x", concrete)
    check(concrete)


def parse_selector(text: str) -> Selector:
    """A plain vector selector such as `http_requests_total{job="api"}`; ValueError otherwise."""
    try:
        node = promql_parser.parse(text)
    except ValueError as exc:
        raise ValueError(f"invalid PromQL: {exc}") from None
    if not isinstance(node, promql_parser.VectorSelector) or node.offset is not None or node.at is not None:
        raise ValueError(f"must be a plain selector such as metric{{label=\"value\"}}, got {text!r}")
    if node.matchers.or_matchers:
        raise ValueError("`or` inside a selector needs Prometheus 3; write two SLOs or a regex matcher")
    if not node.name:
        raise ValueError("the selector needs a metric name, e.g. http_requests_total{job=\"api\"}")
    matchers = tuple(Matcher(m.name, _OPS[str(m.op)], m.value) for m in node.matchers.matchers)
    return Selector(node.name, matchers)


@dataclass(frozen=True)
class WindowExpression:
    """A PromQL expression whose ranges are written `[$window]`: obsgen fills in each window.

    `selectors`: every series selector it reads; `counter`: the one counter it is the rate of, when
    it is only that (`sum(rate(x[$window]))`, `sum by (...) (...)`, `rate(...)`), so generated tests
    can drive it like a plain selector."""

    text: str
    selectors: tuple[Selector, ...] = ()
    counter: Selector | None = None

    def at(self, window: str) -> str:
        return with_window(self.text, window)

    def render(self) -> str:
        return self.text


Events = Selector | WindowExpression  # what a counter field of an SLI may hold


def parse_events(text: str) -> Events:
    """A plain selector, or an expression with `[$window]` ranges; ValueError otherwise."""
    if WINDOW_PLACEHOLDER in text:
        check_window_expression(text)
        return _window_expression(text)
    try:
        return parse_selector(text)
    except ValueError:
        check(text)  # a syntax error says so first
        check_window_expression(text)  # a valid expression needs [$window]
        raise


def summed(by: tuple[str, ...]) -> str:
    """`sum`, or `sum by (a, b) ` when the result keeps labels."""
    return f"sum by ({', '.join(by)}) " if by else "sum"


def _window_expression(text: str) -> WindowExpression:
    node = promql_parser.parse(with_window(text, "5m"))
    found: list[Selector] = []

    def visit(item: object) -> None:
        if isinstance(item, promql_parser.VectorSelector) and item.name and not item.matchers.or_matchers:
            found.append(Selector(item.name, tuple(Matcher(m.name, _OPS[str(m.op)], m.value) for m in item.matchers.matchers)))

    promql_parser.walk(node, visit)
    inner = node.expr if isinstance(node, promql_parser.AggregateExpr) and str(node.op) == "sum" and node.param is None else node
    counter = None
    if (
        isinstance(inner, promql_parser.Call) and inner.func.name == "rate" and len(found) == 1
        and isinstance(inner.args[0], promql_parser.MatrixSelector)
        and inner.args[0].vector_selector.offset is None and inner.args[0].vector_selector.at is None
    ):
        counter = found[0]
    return WindowExpression(text, tuple(dict.fromkeys(found)), counter)


def sum_rate(events: Events, window: str, by: tuple[str, ...] = ()) -> str:
    """Events per second over the window, summed to one series (per value of `by`)."""
    agg = summed(by)
    if isinstance(events, WindowExpression):
        return f"{agg}({events.at(window)})"
    return f"{agg}(rate({events.render()}[{window}]))"


def on(labels: tuple[str, ...]) -> str:
    """`on (a, b)`: vector matching on these labels only (`on ()`: one series each side)."""
    return f"on ({', '.join(labels)})"


def usage_ratio(used: str, capacity: str, by: list[str]) -> str:
    """Share of a resource in use, per pool: the one saturation query of alerts and dashboards."""
    keys = ", ".join(by)
    return f"sum by ({keys}) ({used}) / sum by ({keys}) ({capacity})"


def check_window_expression(text: str) -> None:
    """An expression with `[$window]` range placeholders, e.g. `sum(rate(x[$window]))`."""
    if WINDOW_PLACEHOLDER not in text:
        raise ValueError(
            f"must be a plain selector such as http_requests_total{{code=~\"5..\"}}, or an expression "
            f"with {WINDOW_PLACEHOLDER} as its range: sum(rate(http_requests_total{{code=~\"5..\"}}[{WINDOW_PLACEHOLDER}]))"
        )
    check(with_window(text, "5m"))
    check(f"sum({with_window(text, '5m')})")  # obsgen aggregates it to one series


def with_window(text: str, window: str) -> str:
    return text.replace(WINDOW_PLACEHOLDER, window)


def le_values(bound: float) -> list[str]:
    """`le` label values a bucket bound may carry: Prometheus 2 writes `1`, Prometheus 3 writes `1.0`."""
    short = number(bound)
    values = [short]
    if float(bound).is_integer() and "e" not in short:
        values.append(f"{short}.0")
    return values


def le_matcher(bound: float) -> Matcher:
    values = le_values(bound)
    if len(values) == 1:
        return Matcher("le", "=", values[0])
    return Matcher("le", "=~", "|".join(re.escape(v) for v in values))
