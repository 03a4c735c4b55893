"""One plan/apply engine for every remote. An adapter says what the remote holds against what
obsgen generated (`plan`) and how to write one change (`apply`); the engine decides what a push
does, tries every change, and reports each outcome, so a second run finishes what a first could not.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from obsgen.errors import RemoteError


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DRIFT = "drift"  # edited on the remote since obsgen wrote it
    FOREIGN = "foreign"  # not written by obsgen
    DELETE = "delete"
    KEEP = "keep"  # left alone, never written even with --force; the note says why


SYMBOLS = {
    Action.CREATE: "+", Action.UPDATE: "~", Action.UNCHANGED: "=", Action.DRIFT: "!", Action.FOREIGN: "!",
    Action.DELETE: "-", Action.KEEP: " ",
}
NOTES = {
    Action.DRIFT: " (edited since obsgen wrote it; --force to overwrite)",
    Action.FOREIGN: " (not written by obsgen; --force to take it over)",
}
WRITES = frozenset({Action.CREATE, Action.UPDATE, Action.DELETE})
REFUSED = frozenset({Action.DRIFT, Action.FOREIGN})  # written only with --force


@dataclass(frozen=True)
class Change:
    """One object on a remote and what a push would do with it."""

    remote: str  # "Grafana", "Mimir ruler", ...
    key: str  # where it lives: folder/uid, namespace/group
    action: Action
    title: str = ""
    diff: str = ""  # unified diff, remote -> generated
    payload: Any = None  # what the adapter writes
    version: int | None = None  # the remote's version, so a concurrent edit is refused
    note: str = ""  # why, where the action alone does not say it
    remove: bool = False  # a forced DRIFT that deletes (an edited dashboard obsgen no longer generates)

    def describe(self) -> str:
        """The plan's line for this change."""
        title = f"  {self.title}" if self.title else ""
        note = f" ({self.note})" if self.note else NOTES.get(self.action, "")
        return f"{SYMBOLS[self.action]} {self.action.value:9} {self.remote}: {self.key}{title}{note}"


@dataclass
class Result:
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: Result) -> None:
        """Another remote's outcome, into this one."""
        self.written += other.written
        self.deleted += other.deleted
        self.refused += other.refused
        self.failed += other.failed


class Adapter(Protocol):
    """A remote as the engine sees it."""

    name: str

    def plan(self, prune: bool, diffs: bool = True, skip_unchanged: bool = False) -> list[Change]:
        """Every change; `diffs` False when nobody will read them (push); `skip_unchanged` lets an
        adapter call unchanged what it can tell cheaply obsgen has not changed, unread."""

    def prepare(self, changes: list[Change]) -> None:
        """Whatever the writes need first (e.g. folders); a RemoteError fails them all."""

    def apply(self, change: Change, message: str) -> None: ...


def pending(changes: list[Change], force: bool = False) -> list[Change]:
    """What a push would do: forced pushes also overwrite drifted and foreign objects."""
    todo = WRITES | (REFUSED if force else frozenset())
    return [c for c in changes if c.action in todo]


Progress = Callable[[int, int, Change, str], None]
BREAKER = 3  # outage failures in a row after which a push stops trying: the server is down


def apply(
    adapter: Adapter, changes: list[Change], message: str, force: bool = False,
    progress: Progress = lambda *_: None,
) -> Result:
    """Carry out the plan. A failure stops nothing: every change is tried."""
    result = Result(refused=[c.key for c in changes if c.action in REFUSED and not force])
    todo = pending(changes, force)
    try:
        adapter.prepare(todo)
    except RemoteError as exc:
        result.failed += [(c.key, str(exc)) for c in todo]
        return result
    down = 0
    for i, change in enumerate(todo, 1):
        if down >= BREAKER:  # each would wait out its own retries: minutes for nothing
            result.failed.append((change.key, f"not tried: {adapter.name} looks down ({BREAKER} failures in a row); run the push again later"))
            continue
        try:
            adapter.apply(change, message)
        except RemoteError as exc:
            down = down + 1 if exc.outage else 0
            result.failed.append((change.key, str(exc)))
            progress(i, len(todo), change, "failed")
            continue
        down = 0
        (result.deleted if change.action == Action.DELETE or change.remove else result.written).append(change.key)
        progress(i, len(todo), change, "done")
    return result
