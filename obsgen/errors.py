"""Errors a user can cause, reported as `file:line: field: message`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class SpecIssue:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SpecError(Exception):
    """One or more problems in the specs; the CLI prints them and exits 2."""

    def __init__(self, issues: list[SpecIssue]):
        self.issues = sorted(set(issues))
        super().__init__("\n".join(str(i) for i in self.issues))


class ValidationFailed(Exception):
    """A generated artifact was rejected by a checker; the CLI exits 1."""


def user_line(exc: BaseException, path: str) -> int:
    """The last line of `path` in the exception's traceback (0 when it is not there): where a
    user's Python file went wrong."""
    line = 0
    tb = exc.__traceback__
    resolved = str(Path(path).resolve())
    while tb is not None:
        if str(Path(tb.tb_frame.f_code.co_filename).resolve()) == resolved:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
