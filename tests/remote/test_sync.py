"""The one plan/apply engine every remote goes through, with an in-memory remote."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from obsgen.errors import RemoteError
from obsgen.remote import sync
from obsgen.remote.http import Endpoint
from obsgen.remote.sync import Action, Change


@dataclass
class Memory:
    """A remote of named texts; `broken` keys fail to write, `down` fails everything."""

    name: str = "memory"
    held: dict[str, str] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    down: bool = False

    def plan(self, prune: bool) -> list[Change]:
        return []

    def prepare(self, changes: list[Change]) -> None:
        if self.down:
            raise RemoteError("memory is down")

    def apply(self, change: Change, message: str) -> None:
        if change.key in self.broken:
            raise RemoteError(f"cannot write {change.key}")
        if change.action == Action.DELETE:
            del self.held[change.key]
        else:
            self.held[change.key] = change.payload


def _changes() -> list[Change]:
    return [
        Change("memory", "a", Action.CREATE, payload="new"),
        Change("memory", "b", Action.UNCHANGED, payload="same"),
        Change("memory", "c", Action.DRIFT, payload="mine"),
        Change("memory", "d", Action.DELETE),
        Change("memory", "e", Action.UPDATE, payload="newer"),
    ]


def test_a_push_writes_what_changed_and_refuses_edits_unless_forced() -> None:
    remote = Memory(held={"b": "same", "c": "theirs", "d": "old", "e": "older"})
    result = sync.apply(remote, _changes(), "m")
    assert (result.written, result.deleted, result.refused, result.failed) == (["a", "e"], ["d"], ["c"], [])
    assert remote.held == {"a": "new", "b": "same", "c": "theirs", "e": "newer"}
    forced = sync.apply(remote, [c for c in _changes() if c.action == Action.DRIFT], "m", force=True)
    assert forced.written == ["c"] and not forced.refused and remote.held["c"] == "mine"


def test_a_failure_stops_nothing_and_is_reported() -> None:
    remote = Memory(held={"d": "old", "e": "older"}, broken={"a"})
    seen: list[tuple[str, str]] = []
    result = sync.apply(remote, _changes(), "m", progress=lambda i, n, c, outcome: seen.append((c.key, outcome)))
    assert result.failed == [("a", "cannot write a")] and result.written == ["e"] and result.deleted == ["d"]
    assert seen == [("a", "failed"), ("d", "done"), ("e", "done")]


def test_when_preparation_fails_every_write_fails_and_nothing_is_written() -> None:
    remote = Memory(down=True)
    result = sync.apply(remote, _changes(), "m")
    assert [k for k, _ in result.failed] == ["a", "d", "e"] and not remote.held


def test_plan_lines_say_what_and_why() -> None:
    assert Change("Grafana", "slo/x", Action.DRIFT, "X").describe() == (
        "! drift     Grafana: slo/x  X (edited since obsgen wrote it; --force to overwrite)"
    )
    assert Change("Loki ruler", "api/logs:api", Action.CREATE).describe() == "+ create    Loki ruler: api/logs:api"
    assert sync.pending(_changes()) == [c for c in _changes() if c.key in "ade"]


def test_endpoint_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for key in ("URL", "TOKEN", "TOKEN_FILE", "ORG_ID", "CA_FILE", "TIMEOUT"):
        monkeypatch.delenv(f"MIMIR_{key}", raising=False)
    assert Endpoint.from_env("MIMIR") is None
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    monkeypatch.setenv("MIMIR_URL", "https://mimir.example.com/")
    monkeypatch.setenv("MIMIR_TOKEN_FILE", str(token))
    monkeypatch.setenv("MIMIR_ORG_ID", "7")
    endpoint = Endpoint.from_env("MIMIR")
    assert endpoint == Endpoint("https://mimir.example.com", "s3cret", 7)
    assert "s3cret" not in repr(endpoint)
    monkeypatch.setenv("MIMIR_ORG_ID", "seven")
    with pytest.raises(RemoteError, match="MIMIR_ORG_ID must be a number"):
        Endpoint.from_env("MIMIR")
