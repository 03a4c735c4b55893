"""validate's in-process checks (the tools' checks run in tests/test_cli.py and the corpus)."""
from __future__ import annotations

from pathlib import Path

import pytest

from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.validate import check_test_rules
from obsgen.pipeline.writer import write_output
from tests.conftest import ROOT, project_at


@pytest.fixture
def out(tmp_path: Path) -> Path:
    write_output(compile_project(project_at(ROOT)), tmp_path / "out")
    return tmp_path / "out"


def test_the_groups_tests_load_are_the_deployed_groups(out: Path) -> None:
    copies = sorted(p.name for p in (out / "prometheus" / "tests" / "rules").glob("*.yml"))
    assert "pup-api.availability.slo.yml" in copies and "pup-api.ops.yml" in copies
    assert check_test_rules(out) == []


@pytest.mark.parametrize("edited", ["prometheus/rules/pup-api.yml", "prometheus/tests/rules/pup-api.availability.slo.yml"])
def test_an_edit_on_either_side_is_found(out: Path, edited: str) -> None:
    path = out / edited
    text = path.read_text()
    assert text.index("- name: slo:pup-api:availability") < text.index("> 0.0144\n")  # the first group's 1h tier
    path.write_text(text.replace("> 0.0144\n", "> 0.0288\n", 2))
    findings = check_test_rules(out)
    assert [f.file for f in findings] == [str(out / "prometheus/tests/rules/pup-api.availability.slo.yml")]
    assert "group slo:pup-api:availability differs from the one in prometheus/rules/pup-api.yml" in findings[0].message
