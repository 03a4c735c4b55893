"""The one error family. Each error carries the exit status the CLI returns for it, and a message
that is safe to print (no secrets, no traceback); the CLI catches `ObsgenError` once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_CHANGES, EXIT_OUTPUT, EXIT_REFUSED = 0, 1, 2, 3, 4, 5


class ObsgenError(Exception):
    """Something obsgen cannot do; `exit_code` says which kind."""

    exit_code = EXIT_FAILED

    def lines(self) -> list[str]:
        """What the CLI prints to standard error."""
        return [f"error: {self}"]


@dataclass(frozen=True, order=True)
class SpecIssue:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True)
class Origin:
    """Where in the specs something generated came from."""

    file: str
    line: int
    field: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def issue(self, message: str) -> SpecIssue:
        return SpecIssue(self.file, self.line, self.field, message)


class SpecError(ObsgenError):
    """One or more problems in the specs, each naming file, line and field."""

    exit_code = EXIT_INPUT

    def __init__(self, issues: list[SpecIssue]):
        self.issues = sorted(set(issues))
        super().__init__("\n".join(str(i) for i in self.issues))

    def lines(self) -> list[str]:
        return [f"error: {i}" for i in self.issues] + [f"{len(self.issues)} error(s) in the specs; nothing was written."]


class OutputError(ObsgenError):
    """The output folder cannot be used as asked (a file, read-only, holding files obsgen did not
    write): a problem of --out or the machine, not of the specs."""

    exit_code = EXIT_OUTPUT


class ToolMissing(ObsgenError):
    """A checker (promtool, amtool, node) is not installed."""


class ValidationFailed(ObsgenError):
    """Generated files were rejected by a checker; each finding is one line."""

    def __init__(self, findings: list[str]):
        self.findings = findings
        super().__init__(f"{len(findings)} check(s) failed")

    def lines(self) -> list[str]:
        return [f"invalid: {f}" for f in self.findings]


class CannotDecide(ObsgenError):
    """A live command (backtest, gate) that cannot answer: a mistake in its arguments, no data, a
    range beyond retention, no server. Exit 2, so CI never reads it as a pass or a plain failure."""

    exit_code = EXIT_INPUT


class RemoteError(ObsgenError):
    """A server (Grafana, a ruler) refused a request or could not be reached. `outage` marks the
    kinds that say the server is down (unreachable, timing out, 5xx or 429 after retries)."""

    def __init__(self, message: str, outage: bool = False) -> None:
        super().__init__(message)
        self.outage = outage


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
