"""Value types of the model, each validated once when a spec is loaded.

A duration becomes seconds and a selector a parsed `promql.Selector`; their JSON Schema stays the
string a user writes. `Strict` is the base of every model that is also an input schema.
"""
from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema

from obsgen.core import gotemplate, names, promql
from obsgen.core.durations import format_duration, parse_duration

NAME_LENGTH = 63  # a DNS label: names become Grafana uids, rule group names and URLs
_NAME = re.compile(rf"^[a-z][a-z0-9-]{{0,{NAME_LENGTH - 1}}}$")
MAX_DURATION = 366 * 86400  # a year: no SLO period or alert hold is longer; Prometheus durations overflow far later


class Strict(BaseModel):
    """Unknown fields are errors (with a did-you-mean), numbers are finite (YAML's .nan and .inf are
    not objectives or thresholds), and a loaded model never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _name(value: str) -> str:
    if not _NAME.match(value):
        too_long = f" ({len(value)} here)" if len(value) > NAME_LENGTH else ""
        raise ValueError(
            f"{value!r} is not a name: lower-case letters, digits and '-', starting with a letter, "
            f"at most {NAME_LENGTH} characters{too_long}"
        )
    return value


def _part_ref(value: str) -> str:
    """service/slo, or an SLO of the same service by its name alone."""
    service, _, slo = value.rpartition("/")
    if service:
        _name(service)
    _name(slo)
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


def _own_label(value: str) -> str:
    if value in names.RESERVED_LABELS:
        raise ValueError(f"label {value!r} is reserved: obsgen sets it itself; choose another name")
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
    if seconds > MAX_DURATION:
        raise ValueError(f"{value} is too long: at most {format_duration(MAX_DURATION)}")
    return seconds


CALENDAR_UNITS = ("week", "month", "quarter")


def _period(value: Any) -> int | str:
    """A rolling period in seconds, or a calendar unit as written."""
    if value in CALENDAR_UNITS:
        return str(value)
    try:
        return _seconds(value)
    except ValueError as exc:
        raise ValueError(f"{exc}; or a calendar period: week, month or quarter") from None


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


_PER = {"s": 1, "m": 60, "h": 3600}


def _rate(value: Any) -> float:
    """Events a second: a number, or a string such as 1000/m or 10/h."""
    per = 1
    if isinstance(value, str) and "/" in value:
        count, _, unit = value.partition("/")
        if unit.strip() not in _PER:
            raise ValueError(f"{value!r} is not a rate: write events per second (12.5), per minute (750/m) or per hour (10/h)")
        value, per = count.strip(), _PER[unit.strip()]
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{value!r} is not a rate above 0: write events per second (12.5), per minute (750/m) or per hour (10/h)")
    return number / per


def _render(value: promql.Selector | promql.WindowExpression | promql.Aggregate) -> str:
    return value.render()


Name = Annotated[str, AfterValidator(_name)]
# Another SLO, as a composite names it: service/slo, or a name of the same service.
PartRef = Annotated[str, AfterValidator(_part_ref), WithJsonSchema({"type": "string", "examples": ["pup-api/availability"]})]
LabelName = Annotated[str, AfterValidator(_label_name), WithJsonSchema({"type": "string", "pattern": promql.LABEL_NAME.pattern})]
LabelValue = Annotated[str, AfterValidator(_label_value)]
# A team's own labels: a reserved key is an error at that key's line.
Labels = dict[Annotated[LabelName, AfterValidator(_own_label)], LabelValue]
# A label an SLO is split by: the SLI's own label, never one obsgen sets on its series.
GroupLabel = Annotated[LabelName, AfterValidator(_own_label)]
Url = Annotated[str, AfterValidator(_url)]
# An alert annotation: Go template syntax checked here, not when Prometheus refuses the rule file.
Template = Annotated[str, AfterValidator(gotemplate.check)]
Seconds = Annotated[
    int,
    PlainValidator(_seconds),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["30d", "28d", "7d"]}),
]
# An SLO's period: seconds of a rolling window, or week, month or quarter (a calendar budget).
Period = Annotated[
    int | str,
    PlainValidator(_period),
    PlainSerializer(lambda v: v if isinstance(v, str) else format_duration(v), return_type=str),
    WithJsonSchema({"anyOf": [{"type": "string", "enum": list(CALENDAR_UNITS)}, {"type": "string", "examples": ["30d", "28d", "7d"]}]}),
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
def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a number (YAML reads yes, no, on and off as true or false)")
    return value


# A number as YAML gives it: a boolean is a mistake, not 1.0.
Number = Annotated[float, BeforeValidator(_not_bool)]
# Events a second, written as a number or per minute or hour: 750/m, 10/h.
Rate = Annotated[
    float,
    PlainValidator(_rate),
    WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": r"^[0-9.eE+-]+ */ *[smh]$"}],
                    "description": "Events per second (12.5), per minute (750/m) or per hour (10/h)."}),
]
Percent = Annotated[Number, Field(gt=0, le=100, description="Percent, e.g. 80 for 80%.")]
