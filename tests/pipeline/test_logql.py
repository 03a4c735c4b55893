"""The LogQL checker ships inside the package and installs Grafana's grammar on first use, so a
pip-installed obsgen refuses broken LogQL as a source checkout does."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from obsgen.pipeline import logql
from obsgen.pipeline.validate import logql_check
from tests.conftest import ROOT, run_obsgen


def test_the_wheel_carries_the_checker(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("obsgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"obsgen/loki/logql/{f}" for f in logql.FILES} <= names
    assert not any("node_modules" in n for n in names)  # the grammar comes from npm, pinned by the lock file


def test_first_use_installs_the_grammar_into_the_cache(tmp_path: Path, node: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSGEN_CACHE", str(tmp_path))
    script = logql.checker()
    assert script.parent.parent == tmp_path / "logql" and (script.parent / "node_modules/@grafana/lezer-logql").is_dir()
    assert logql.checker() == script  # the second use finds it
    dashboard = '{"panels": [{"title": "t", "targets": [{"datasource": {"type": "loki"}, "expr": %s}]}]}'
    good = ("grafana/dashboards/x/a.json", dashboard % '"{job=\\"api\\"} |= \\"panic\\""')
    bad = ("grafana/dashboards/x/b.json", dashboard % '"{job=\\"api\\"} |= \\"unterminated"')
    findings = logql_check([good, bad])
    assert [f.file for f in findings] == ["grafana/dashboards/x/b.json: t"] and "invalid LogQL" in findings[0].message


def test_generate_outside_the_checkout_refuses_broken_logql(tmp_path: Path, node: str) -> None:
    """From another folder (as after `pip install`), with the cache the test session already warmed."""
    specs = tmp_path / "specs"
    (specs / "slo").mkdir(parents=True)
    (specs / "alerts").mkdir()
    (specs / "slo" / "api.yaml").write_text(
        "service: api\nteam: web\nrunbook: https://runbooks.example.com/api\nslos:\n  - name: availability\n    objective: 99.9\n"
        "    sli: {ratio: {errors: 'http_requests_total{code=~\"5..\"}', total: http_requests_total}}\n")
    (specs / "alerts" / "api.yaml").write_text(
        "service: api\nlogs:\n  - name: panics\n    selector: '{app=\"api\"}'\n    match: '|= \"unterminated'\n    above: 1\n")
    result = run_obsgen("generate", "--specs", str(specs), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and "alerts/api.yaml:5: logs[0].match: invalid LogQL" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_an_unwritable_cache_is_a_message_not_a_traceback(tmp_path: Path, node: str, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("OBSGEN_CACHE", str(blocker / "cache"))  # under a file: no user, root included, can create it
    with pytest.raises(logql.ToolMissing, match="set OBSGEN_CACHE to a writable folder"):
        logql.checker()
