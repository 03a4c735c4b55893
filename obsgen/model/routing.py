"""Routing (alerts/routing.yaml): teams, how each is reached, and Alertmanager's timing.

The input's shape is the model's, so these pydantic models are both.

Secrets never appear here: receivers name files (`routing_key_file`, `api_url_file`, ...) that
Alertmanager reads at run time. A literal secret is rejected with the field to use instead.
"""
from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from obsgen.model.types import LabelName, Name, Seconds, Strict, Url

# Literal secret fields a user might reach for, and the file-based field Alertmanager 0.25 reads instead.
_SECRET_FIELDS = {
    "routing_key": "routing_key_file",
    "service_key": "routing_key_file",
    "api_key": "api_key_file",
    "api_url": "api_url_file",
    "auth_password": "auth_password_file",
    "password": "auth_password_file",
    "token": "credentials_file",
    "credentials": "credentials_file",
    "bearer_token": "credentials_file",
}
_SECRET_QUERY = re.compile(r"(?i)^(token|access_token|api_?key|key|secret|password|passwd|sig|signature|auth)$")


class _NoSecrets(Strict):
    """A routing model: literal secrets are refused with the file-based field to use instead."""

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, instead in _SECRET_FIELDS.items():
                if key in data and instead in cls.model_fields:
                    raise ValueError(
                        f"`{key}` would put a secret in the spec and in alertmanager.yml; store it in a file "
                        f"Alertmanager can read and write `{instead}: /etc/alertmanager/secrets/...` instead"
                    )
        return data


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC", "Local"}


def _file(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r}: give the absolute path of the file on the Alertmanager host")
    return value


SecretFile = Annotated[str, AfterValidator(_file), Field(description="Absolute path of a file holding the secret.")]


def _webhook_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.username or parts.password:
        raise ValueError("the URL carries credentials; put them in `credentials_file` (sent as a bearer token)")
    secret = [k for k, _ in parse_qsl(parts.query) if _SECRET_QUERY.match(k)]
    if secret or "hooks.slack.com" in parts.netloc:
        what = f"query parameter {secret[0]!r}" if secret else "a Slack hook URL"
        raise ValueError(
            f"{what} is a secret in the URL; use `slack.api_url_file`, or `credentials_file` for a bearer token"
        )
    return value


class PagerDuty(_NoSecrets):
    routing_key_file: SecretFile


class Opsgenie(_NoSecrets):
    api_key_file: SecretFile
    responders: list[Name] = Field(default_factory=list, description="Opsgenie team names to notify.")


class Slack(_NoSecrets):
    channel: Annotated[str, Field(pattern=r"^[#@]?[\w.-]+$")]
    api_url_file: SecretFile


class Email(_NoSecrets):
    to: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]


class Webhook(_NoSecrets):
    """A webhook: its `url`, or `url_file` when the URL itself is a secret (Alertmanager 0.26 or later)."""

    url: Annotated[Url, AfterValidator(_webhook_url)] | None = None
    url_file: SecretFile | None = Field(
        None, description="File holding the URL; needs `alertmanager_version: \"0.26\"` or later in obsgen.yaml."
    )
    credentials_file: SecretFile | None = Field(None, description="Bearer token for the webhook.")

    @model_validator(mode="after")
    def _one_url(self) -> Webhook:
        if (self.url is None) == (self.url_file is None):
            raise ValueError("give exactly one of `url` or `url_file`")
        return self


class Target(_NoSecrets):
    """Where notifications go: at least one of pagerduty, opsgenie, slack, email, webhook."""

    pagerduty: PagerDuty | None = Field(None, description="Page through PagerDuty (Events API v2).")
    opsgenie: Opsgenie | None = Field(None, description="Page through Opsgenie.")
    slack: Slack | None = Field(None, description="Post to a Slack channel.")
    email: Email | None = Field(None, description="Send email (needs `smtp` in this file).")
    webhook: Webhook | None = Field(None, description="POST the Alertmanager payload to a URL (or a URL in a file).")
    active_during: list[Name] = Field(
        default_factory=list, description="Send only within these time_intervals (e.g. business-hours)."
    )

    @model_validator(mode="after")
    def _has_a_target(self) -> Target:
        if not self.kinds():
            raise ValueError("a receiver needs a target: pagerduty, opsgenie, slack, email or webhook")
        return self

    def kinds(self) -> list[str]:
        return [k for k in ("pagerduty", "opsgenie", "slack", "email", "webhook") if getattr(self, k) is not None]


class Escalation(Target):
    """A second receiver for critical alerts still firing `after` this long."""

    after: Seconds = Field("30m", validate_default=True)


class Timing(_NoSecrets):
    group_by: list[LabelName] | None = Field(None, description="Labels Alertmanager groups notifications by.")
    group_wait: Seconds | None = Field(None, description="How long a new group waits for more alerts before its first notification.")
    group_interval: Seconds | None = Field(None, description="How long a group waits before notifying about alerts added to it.")
    repeat_interval: Seconds | None = Field(None, description="How long before a notification for a still-firing alert is sent again.")


class Team(Timing):
    critical: Target = Field(description="Pages: PagerDuty, Opsgenie or a webhook.")
    warning: Target | None = Field(None, description="Tickets: Slack, email or a webhook. Without it, warnings go to `default`.")
    escalation: Escalation | None = Field(None, description="Where critical alerts still firing after `after` go too.")


def _time_of_day(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d|24:00", value):
        raise ValueError(f"{value!r} is not a time of day: HH:MM from 00:00 to 24:00")
    return value


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekdays(value: str) -> str:
    if not all(day in WEEKDAYS for day in value.split(":", 1)):
        raise ValueError(f"{value!r} is not a weekday or a range of them, such as monday or monday:friday (full names)")
    return value


TimeOfDay = Annotated[str, AfterValidator(_time_of_day)]


class TimeRange(_NoSecrets):
    start_time: TimeOfDay
    end_time: TimeOfDay


class TimeInterval(_NoSecrets):
    weekdays: list[Annotated[str, AfterValidator(_weekdays)]] = Field(default_factory=list, description="Days, or ranges of them: monday:friday.")
    times: list[TimeRange] = Field(default_factory=list, description="Times of day, e.g. 09:00 to 17:00; all day when empty.")
    location: str | None = Field(None, description="IANA time zone, e.g. Europe/Berlin; UTC when left out.")

    @field_validator("location")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        """Alertmanager refuses to start on a zone it does not know; say so here, with the closest."""
        if value is None or value in _zones() or len(_zones()) <= 2:  # no tz database here: cannot tell
            return value
        close = difflib.get_close_matches(value, sorted(_zones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin{hint}")


class Smtp(_NoSecrets):
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    smarthost: Annotated[str, Field(pattern=r"^[^\s:]+:\d+$")]
    auth_username: str | None = Field(None, description="SMTP user name.")
    auth_password_file: SecretFile | None = Field(None, description="A file holding the SMTP password (never the password itself).")
    require_tls: bool = True


class Routing(Timing):
    """alerts/routing.yaml."""

    teams: dict[Name, Team] = Field(min_length=1)
    default: Target = Field(description="Gets every alert no team owns.")
    time_intervals: dict[Name, list[TimeInterval]] = Field(default_factory=dict, description="Named time intervals (e.g. business hours) a team's warning route may be limited to, with active_during.")
    smtp: Smtp | None = Field(None, description="Needed when any receiver sends email.")
