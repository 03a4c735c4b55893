from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from obsgen.model.project import Project
from obsgen.model.slo import SLO
from obsgen.pipeline.compile import compile_project
from obsgen.spec import resolve
from obsgen.spec.files import SLOSpec
from obsgen.spec.load import load_project

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_obsgen(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "obsgen", *args], cwd=cwd, capture_output=True, text=True)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under folder, by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} is missing: run `make tools` (Debian package `{package}`)")
    return path


TOOL_FIXTURES = frozenset({"promtool", "amtool", "node", "logql_grammar"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for a real tool is a `tools` test, which `make test-fast` leaves out."""
    for item in items:
        if TOOL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.tools)


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    return _tool("amtool", "prometheus-alertmanager")


def slo_of(data: dict[str, Any]) -> SLO:
    """An SLO of the typed model from its spec, as slo/*.yaml would give it."""
    return resolve.slo(SLOSpec.model_validate(data), "https://runbooks.example.com/x")


@pytest.fixture(scope="session")
def node() -> str:
    return _tool("node", "nodejs")


@functools.cache
def project_at(root: Path) -> Project:
    """The specs under root, loaded once per test session, on first use (never at import)."""
    return load_project(root)


@functools.cache
def artifacts_at(root: Path) -> dict[str, str]:
    """Everything obsgen generates from the specs under root, compiled once per session, on first use."""
    return compile_project(project_at(root))
