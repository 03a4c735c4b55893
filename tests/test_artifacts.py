from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsgen.artifacts import MARKER, to_yaml, write_output
from tests.conftest import tree


def test_write_replaces_the_whole_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output({"a/x.yml": "1\n", "b.yml": "2\n"}, out)
    write_output({"a/y.yml": "3\n"}, out)
    assert set(tree(out)) == {"a/y.yml", MARKER}
    assert not [p for p in tmp_path.iterdir() if p.name != "out"], "no staging folders are left behind"


def test_failed_write_leaves_the_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_output({"keep.yml": "old\n"}, out)
    before = tree(out)


    with pytest.raises(TypeError):
        write_output({"new.yml": "new\n", "bad.yml": 42}, out)  # type: ignore[dict-item]
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_output({"x.yml": "1\n"}, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_yaml_keeps_builder_order_and_literal_blocks() -> None:
    text = to_yaml({"record": "b", "expr": "x\nand\ny\n", "labels": {"z": "1", "a": "2"}})
    assert text.index("record") < text.index("expr") < text.index("labels")
    assert "expr: |\n  x\n  and\n  y\n" in text
    assert yaml.safe_load(text)["labels"] == {"z": "1", "a": "2"}
