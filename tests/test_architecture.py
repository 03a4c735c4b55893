"""The package map of docs/architecture.md, held against the code: who may import whom."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "obsgen"
TARGETS = {"prometheus", "grafana", "loki", "alertmanager", "kubernetes"}
# What each part may import besides itself. Builders never see remote/, the pipeline or the CLI;
# remote/ never sees the model; nothing but the CLI sees everything.
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "core": set(),
    "model": {"core", "errors"},
    "spec": {"core", "model", "errors"},
    "prometheus": {"core", "model"},
    "grafana": {"core", "model", "loki"},
    "loki": {"core", "model"},
    "alertmanager": {"core", "model"},
    "kubernetes": {"core", "model"},
    "remote": {"core", "errors"},
    "report": {"core"},
    "pipeline": {"core", "model", "errors", "report", *TARGETS},
    "live": {"core", "model", "errors", "remote", "prometheus", "alertmanager", "report"},
    "cli": {"core", "model", "spec", "errors", "pipeline", "remote", "live", *TARGETS, "__init__"},
    "__main__": {"cli"},
    "__init__": set(),
}


def _part(module: str) -> str:
    """obsgen.prometheus.slo_rules -> prometheus; obsgen.cli -> cli; obsgen -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "obsgen":  # from obsgen import remote
                found |= {f"obsgen.{a.name}" for a in node.names}
            elif node.module.startswith("obsgen."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("obsgen")}
    return found


def _module(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" and len(rel.parts) > 1 else rel.parts)


def violations(root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / "obsgen").rglob("*.py")):
        own = _part(_module(path, root))
        allowed = MAY_IMPORT[own] | {own}
        for imported in sorted(_imports(path)):
            target = _part(imported)
            if target in MAY_IMPORT and target not in allowed:
                found.append(f"{path.relative_to(root).as_posix()}: {own} imports {imported} ({target})")
    return found


def test_every_part_is_on_the_map() -> None:
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert parts == set(MAY_IMPORT)


def test_packages_import_only_what_the_architecture_allows() -> None:
    assert violations() == []


def test_a_forbidden_import_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: a builder that reaches for remote/ or the CLI is reported."""
    builder = tmp_path / "obsgen" / "grafana" / "boards.py"
    builder.parent.mkdir(parents=True)
    builder.write_text("from obsgen.remote.grafana import Grafana\nfrom obsgen import cli\nfrom obsgen.core import names\n")
    assert violations(tmp_path) == [
        "obsgen/grafana/boards.py: grafana imports obsgen.cli (cli)",
        "obsgen/grafana/boards.py: grafana imports obsgen.remote.grafana (remote)",
    ]


@pytest.mark.parametrize("package", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()))
def test_each_package_says_what_it_owns(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc) > 60, f"obsgen/{package}/__init__.py needs a docstring: what it owns, what it may import"


def test_only_the_model_types_parse_durations_and_selectors() -> None:
    """Parsed once, when a spec loads: builders, pipeline and remotes never parse them again."""
    callers = set()
    for path in (ROOT / "obsgen").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in ("parse_duration", "parse_selector", "parse_events"):
                    callers.add(path.relative_to(ROOT).as_posix())
    # The converters of foreign specs (OpenSLO, Sloth, Pyrra) read queries to turn them into
    # obsgen's spec; they run before the model, as part of loading, and hand it text.
    loading = {"obsgen/spec/openslo.py", "obsgen/spec/imports.py"}
    assert callers <= {"obsgen/model/types.py", "obsgen/core/promql.py", *loading}, sorted(callers)
