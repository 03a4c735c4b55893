from __future__ import annotations

from pathlib import Path

import pytest

from obsgen.errors import SpecError, SpecIssue
from obsgen.pipeline.compile import compile_project, workers_for, write_project
from obsgen.pipeline.writer import MARKER
from tests.conftest import ROOT, project_at, tree


def test_parallel_and_serial_compiles_are_identical() -> None:
    project = project_at(ROOT)
    assert workers_for(len(project.services)) == 1  # small projects compile in-process
    assert compile_project(project, workers=2) == compile_project(project, workers=1)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_written_output_is_the_compiled_artifacts_byte_for_byte(tmp_path: Path, workers: int) -> None:
    """Workers write the files they compile themselves: the folder holds exactly what compiling in
    memory gives, and the count write_project returns is the files'."""
    project = project_at(ROOT)
    artifacts = compile_project(project)
    out = tmp_path / "out"
    assert write_project(project, out, workers=workers) == len(artifacts)
    written = tree(out)
    assert written.pop(MARKER)
    assert written == {path: text.encode() for path, text in artifacts.items()}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_check_leaves_the_output_as_it_was(tmp_path: Path, workers: int) -> None:
    """The check runs on the staged files (every worker's written by then) and a spec error it
    raises leaves the previous output and nothing else."""
    project = project_at(ROOT)
    out = tmp_path / "out"
    write_project(project, out)
    before = tree(out)
    seen: list[int] = []

    def refuse(staged: Path) -> None:
        seen.append(sum(1 for p in staged.rglob("*") if p.is_file()))
        raise SpecError([SpecIssue("slo/pup-api.yaml", 1, "service", "refused")])

    with pytest.raises(SpecError):
        write_project(project, out, workers=workers, check=refuse)
    assert seen == [len(before) - 1]  # every file but the marker, which the swap writes
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no staging folder is left behind"
