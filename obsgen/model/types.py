"""Value types of the model, each validated once when a spec is loaded.

A duration becomes seconds and a selector a parsed `promql.Selector`; their JSON Schema stays the
string a user writes. `Strict` is the base of every model that is also an input schema.
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema

from obsgen.core import gotemplate, names, promql
from obsgen.core.durations import format_duration, parse_duration

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class Strict(BaseModel):
    """Unknown fields are errors (with a did-you-mean), numbers are finite (YAML's .nan and .inf are
    not objectives or thresholds), and a loaded model never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} is not a name: use lower-case letters, digits and '-', starting with a letter")
    return value


def _label_name(value: str) -> str:
    if not promql.LABEL_NAME.match(value) or value.startswith("__"):
        raise ValueError(f"{value!r} is not a label name: use letters, digits and '_', not starting with '__'")
    return value


def _label_value(value: str) -> str:
    bad = [c for c in value if c in '"\\' or ord(c) < 32]
    if bad:
        raise ValueError(f"label value {value!r} contains {bad[0]!r}; quotes, backslashes and newlines are not allowed")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    clash = sorted(names.RESERVED_LABELS & value.keys())
    if clash:
        raise ValueError(f"label {clash[0]!r} is set by obsgen itself; choose another name")
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+\S*$", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _seconds(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value  # already seconds (a default, or a model built in code)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration like 5m, 1h, 7d or 30d")
    seconds = parse_duration(value)
    format_duration(seconds)  # rejects zero
    return seconds


def _selector(value: Any) -> promql.Selector:
    if isinstance(value, promql.Selector):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a PromQL selector written as a string")
    return promql.parse_selector(value)


def _gauge(value: Any) -> promql.Gauge:
    if isinstance(value, (promql.Selector, promql.Aggregate)):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a PromQL selector written as a string")
    return promql.parse_gauge(value)


def _events(value: Any) -> promql.Events:
    if isinstance(value, (promql.Selector, promql.WindowExpression)):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a PromQL selector or expression written as a string")
    return promql.parse_events(value)


def _render(value: promql.Selector | promql.WindowExpression | promql.Aggregate) -> str:
    return value.render()


Name = Annotated[str, AfterValidator(_name)]
LabelName = Annotated[str, AfterValidator(_label_name), WithJsonSchema({"type": "string", "pattern": promql.LABEL_NAME.pattern})]
LabelValue = Annotated[str, AfterValidator(_label_value)]
Labels = Annotated[dict[LabelName, LabelValue], AfterValidator(_labels)]
Url = Annotated[str, AfterValidator(_url)]
# An alert annotation: Go template syntax checked here, not when Prometheus refuses the rule file.
Template = Annotated[str, AfterValidator(gotemplate.check)]
Seconds = Annotated[
    int,
    PlainValidator(_seconds),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["30d", "28d", "7d"]}),
]
Selector = Annotated[
    promql.Selector,
    PlainValidator(_selector),
    PlainSerializer(_render, return_type=str),
    WithJsonSchema({"type": "string", "description": "A PromQL vector selector, e.g. http_request_duration_seconds{job=\"api\"}"}),
]
Gauge = Annotated[
    promql.Selector | promql.Aggregate,
    PlainValidator(_gauge),
    PlainSerializer(_render, return_type=str),
    WithJsonSchema({
        "type": "string",
        "description": "A gauge selector, or sum/max/min/avg by (labels) of one, e.g. sum by (topic) (kafka_consumergroup_lag)",
    }),
]
Events = Annotated[
    promql.Selector | promql.WindowExpression,
    PlainValidator(_events),
    PlainSerializer(_render, return_type=str),
    WithJsonSchema({
        "type": "string",
        "description": (
            "A counter selector such as http_requests_total{job=\"api\", code=~\"5..\"} (obsgen wraps it in "
            "sum(rate(...))), or a PromQL expression using [$window] as its range"
        ),
    }),
]
Percent = Annotated[float, Field(gt=0, le=100, description="Percent, e.g. 80 for 80%.")]
