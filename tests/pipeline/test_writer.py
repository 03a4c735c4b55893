from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsgen.core.yaml_text import to_yaml
from obsgen.errors import OutputError
from obsgen.pipeline.writer import MARKER, write_output
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
    with pytest.raises(OutputError):
        write_output({"x.yml": "1\n"}, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_yaml_keeps_builder_order_and_literal_blocks() -> None:
    text = to_yaml({"record": "b", "expr": "x\nand\ny\n", "labels": {"z": "1", "a": "2"}})
    assert text.index("record") < text.index("expr") < text.index("labels")
    assert "expr: |\n  x\n  and\n  y\n" in text
    assert yaml.safe_load(text)["labels"] == {"z": "1", "a": "2"}


@pytest.mark.parametrize(
    "value",
    [
        {"a": [], "b": {}, "c": [1, "x", {"k": "v", "l": ["q"]}, [1, 2]]},
        {"yes": "yes", "one": "1", "float": "1.5", "null": "null", "tilde": "~", "bool": True, "num": 2.5},
        {"colon": "a: b", "hash": "a #b", "lead": " x", "trail": "x ", "dash": "-x", "quote": "it's", "both": "'\""},
        {"tab": "a\tb", "unicode": "é ✓", "empty": "", "star": "*x", "amp": "&x", "pct": "%x", "at": "@x"},
        {"block": "a\nand\nb\n", "no_newline": "a\nb", "two_newlines": "a\n\n", "blank_line": "a\n\nb\n"},
        {"promql": 'sum(rate(x{job="a", code=~"5.."}[5m])) / 0.001', "template": "{{ $labels.service }} is {{ $value }}"},
        {"url": "https://runbooks.example.com/a#b?c=d", "record": "slo:sli_error:ratio_rate5m", "date": "2024-01-01"},
    ],
)
def test_yaml_reads_back_as_written(value: dict) -> None:
    assert yaml.safe_load(to_yaml(value)) == value


def test_every_generated_file_reads_back_as_built() -> None:
    from obsgen.core.rules import rule_file
    from obsgen.prometheus import slo_rules
    from obsgen.spec.load import load_project
    from tests.conftest import FIXTURES, ROOT

    for root in (ROOT, FIXTURES / "good", FIXTURES / "weighted"):
        for service in load_project(root).services:
            data = rule_file(slo_rules.rule_groups(service, "https://grafana.example.com/d/x"))
            assert yaml.safe_load(to_yaml(data)) == data
