from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo.stack import CURRENT_TOOLS  # Prometheus 3 and the current Alertmanager, built by `make tools`
from obsgen.model.project import Project
from obsgen.model.slo import SLO
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.tools import Generation, in_folder, on_path
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


TOOL_FIXTURES = frozenset({"promtool", "amtool", "node", "generation"})
GENERATIONS = ("debian", "current")


def generation_named(name: str) -> Generation:
    """Debian's Prometheus 2.42 / Alertmanager 0.25 (on PATH), or the current releases (.tools/bin);
    a test that needs one fails, with the way to install it, when it is missing."""
    found = on_path() if name == "debian" else in_folder(CURRENT_TOOLS)
    missing = [t for t in ("promtool", "prometheus", "amtool", "alertmanager") if getattr(found, t) is None]
    if missing:
        how = "Debian packages prometheus, prometheus-alertmanager" if name == "debian" else "built into .tools/bin"
        pytest.fail(f"{', '.join(missing)} of the {name} generation missing: run `make tools` ({how})")
    return found


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--e2e-tools", choices=GENERATIONS, default="current",
                     help="which Prometheus and Alertmanager the end-to-end test runs on (default: current)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for a real tool is a `tools` test, which `make test-fast` leaves out.

    Order (a stable sort, so each module keeps its own): modules sharing a running stack first,
    since they mostly wait and overlap with the others' computing; then slow tests, which started
    last would hold the run open for minutes while the other workers idle; then the rest."""
    for item in items:
        if TOOL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.tools)
    items.sort(key=lambda item: (item.get_closest_marker("xdist_group") is None, item.get_closest_marker("slow") is None))


@pytest.fixture(scope="session", params=GENERATIONS)
def generation(request: pytest.FixtureRequest) -> Generation:
    """Each generation of the Prometheus tools in turn: output must work on both."""
    return generation_named(request.param)


@pytest.fixture(scope="session")
def promtool(generation: Generation) -> str:
    return generation.need("promtool")


@pytest.fixture(scope="session")
def amtool(generation: Generation) -> str:
    return generation.need("amtool")


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
