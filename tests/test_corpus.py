"""The bad-input corpus (tests/fixtures/corpus, described in tests/corpus.py): every malformed or
hostile input gets the documented exit status, names the right file, line and field, prints no
traceback, leaves the output folder as it was, and finishes within the corpus's time and memory."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from obsgen.errors import EXIT_INPUT, EXIT_OK
from tests.conftest import ROOT
from tests.corpus import CORPUS, Case

CASES = sorted(CORPUS.glob("*.case"))
# Cases that need a real checker (promtool, Grafana's LogQL grammar on node) are in the tools tier,
# so `make test-fast` passes on a fresh clone before `make tools`.
NEEDS_TOOLS = {p for p in CASES if Case.parse(p).needs}
# xdist gives every worker its own session: one group keeps the corpus on one worker, run once.
pytestmark = pytest.mark.xdist_group("corpus")


def _run(cases: list[Path]) -> dict[str, Any]:
    """The cases, run once in one process under the corpus's memory limit."""
    run = subprocess.run(
        [sys.executable, "-m", "tests.corpus", *map(str, cases)], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout))


@pytest.fixture(scope="session")
def outcomes() -> dict[str, Any]:
    return _run([p for p in CASES if p not in NEEDS_TOOLS])


@pytest.fixture(scope="session")
def tool_outcomes(node: str) -> dict[str, Any]:
    """The `node` fixture puts these in the tools tier; `validate` cases use the promtool on PATH."""
    if not shutil.which("promtool"):
        pytest.fail("promtool is missing: run `make tools` (Debian package `prometheus`)")
    return _run(sorted(NEEDS_TOOLS))


def test_corpus_is_large_and_well_formed() -> None:
    assert len(CASES) >= 150
    for path in CASES:
        Case.parse(path)  # raises on a malformed case


@pytest.mark.parametrize("path", [p for p in CASES if p not in NEEDS_TOOLS], ids=lambda p: p.stem)
def test_case(path: Path, outcomes: dict[str, Any]) -> None:
    _check(path, outcomes[path.stem])


@pytest.mark.parametrize("path", sorted(NEEDS_TOOLS), ids=lambda p: p.stem)
def test_case_with_tools(path: Path, tool_outcomes: dict[str, Any]) -> None:
    _check(path, tool_outcomes[path.stem])


def _check(path: Path, got: dict[str, Any]) -> None:
    case = Case.parse(path)
    assert not got["crashed"], got["crashed"] + "\n" + got["stderr"]
    assert "Traceback" not in got["stderr"] + got["stdout"]
    assert "SUCCESS" not in got["stderr"], "a failure report repeats what passed"
    statuses = {e.status for e in case.expects}
    assert len(statuses) == 1, "one exit status per case"
    assert got["status"] == statuses.pop(), got["stderr"]
    if got["status"] == EXIT_OK:
        return
    errors = [line for line in got["stderr"].splitlines() if line.startswith(("error: ", "invalid: "))]
    for expect in case.expects:
        assert any(expect.matches(line) for line in errors), f"{expect} not in:\n{got['stderr']}"
    if got["status"] == EXIT_INPUT:
        assert len(errors) == len(case.expects), f"only root causes, one line each:\n{got['stderr']}"
    if case.run[0] == "generate":
        assert got["output_unchanged"], "a failed generate changed the output folder"


