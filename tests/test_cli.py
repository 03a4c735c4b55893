"""The command line as users and CI run it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from obsgen.cli import SCHEMAS
from obsgen.spec.files import ServiceFile, json_schema
from tests.conftest import CURRENT_TOOLS, FIXTURES, ROOT, generation_named, run_obsgen, tree


def test_help_explains_each_command() -> None:
    result = run_obsgen("--help")
    assert result.returncode == 0
    for command in ("generate", "validate", "explain", "schema"):
        assert command in result.stdout
    assert "Exit status" in result.stdout
    gen = run_obsgen("generate", "--help")
    assert "--specs" in gen.stdout and "--out" in gen.stdout and "nothing is written" in gen.stdout


def test_generate_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = run_obsgen("generate", "--out", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert len(tree(tmp_path / "a")) > 1


def test_committed_output_equals_a_fresh_generate(tmp_path: Path) -> None:
    result = run_obsgen("generate", "--out", str(tmp_path / "fresh"))
    assert result.returncode == 0, result.stderr
    assert tree(ROOT / "output") == tree(tmp_path / "fresh"), "output/ is stale: run `make generate` and commit it"


def test_generate_py_is_the_same_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "generate.py", "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "out") == tree(ROOT / "output")


@pytest.mark.slow
def test_validate_passes_on_good_output_and_fails_on_a_broken_rule(tmp_path: Path, node: str) -> None:
    debian, current = generation_named("debian"), generation_named("current")
    out = tmp_path / "out"
    # The SLO kinds (custom tiers, per-group, probe, native histogram, 7d and 28d periods): their
    # generated tests pass on both generations, native histograms' on Prometheus 3 only, as it says.
    # test_slo_tests runs the example's promtool tests.
    specs = FIXTURES / "slo-kinds"
    assert run_obsgen("generate", "--specs", str(specs), "--out", str(out)).returncode == 0
    ok = run_obsgen("validate", "--specs", str(specs), "--out", str(out), "--tools", str(CURRENT_TOOLS))
    assert ok.returncode == 0, ok.stderr
    assert "test rules" in ok.stdout and debian.label in ok.stdout and current.label in ok.stdout
    assert "note: 1 native-histogram test file(s) ran only on Prometheus 3" in ok.stdout and "promtool 2.42" in ok.stdout

    rule_file = out / "prometheus" / "rules" / "cart.yml"
    rule_file.write_text(rule_file.read_text().replace("vector(0.999)", "vector(0.999", 1))
    bad = run_obsgen("validate", "--specs", str(specs), "--out", str(out))
    assert bad.returncode == 1
    assert "cart.yml" in bad.stderr and "slo:objective:ratio" in bad.stderr


def test_validate_without_generated_files_fails(tmp_path: Path) -> None:
    result = run_obsgen("validate", "--out", str(tmp_path))
    assert result.returncode == 1 and "obsgen generate" in result.stderr


def test_generate_with_specs_elsewhere(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "slo", tmp_path / "slo")
    result = run_obsgen("generate", "--specs", str(tmp_path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # Only slo/ was copied: 4 rule files; per SLO a test file for its paging group and one for its
    # period group, each group's copy they load; the report and its 7 charts (one per distinct
    # objective, period and tiers), 4 service dashboards, 2 team overviews, provisioning, manifest.
    assert "4 services, 8 SLOs -> 52 files" in result.stdout


def test_schema_is_current_and_describes_the_spec(tmp_path: Path) -> None:
    result = run_obsgen("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema == json_schema(ServiceFile, SCHEMAS["slo"])
    assert set(schema["required"]) == {"service", "team", "runbook", "slos"}
    assert schema["additionalProperties"] is False
    committed = json.loads((ROOT / "docs" / "slo.schema.json").read_text())
    assert committed == schema, "docs/slo.schema.json is stale: run `make schema`"
    routing = json.loads(run_obsgen("schema", "--for", "routing").stdout)
    assert set(routing["required"]) == {"teams", "default"}
    assert routing == json.loads((ROOT / "docs" / "routing.schema.json").read_text()), "run `make schema`"


def test_push_progress_is_about_twenty_lines_in_a_log_and_every_failure() -> None:
    import io

    from obsgen.cli import progress_printer
    from obsgen.remote import sync

    log = io.StringIO()
    show = progress_printer(log)
    for i in range(1, 301):
        show(i, 300, sync.Change("Grafana", f"f/d{i}", sync.Action.UPDATE), "failed" if i == 7 else "done")
    lines = log.getvalue().splitlines()
    assert len(lines) == 21 and "[7/300] update Grafana: f/d7: failed" in lines and lines[-1].startswith("[300/300]")


def test_push_starts_without_the_compiler(tmp_path: Path) -> None:
    """push runs in CI on every commit: it imports the remote clients, not grafanalib or pydantic."""
    code = (
        "import sys\nfrom obsgen.cli import main\n"
        "status = main(['push', '--out', sys.argv[1]])\n"
        "heavy = sorted(m for m in ('grafanalib', 'pydantic', 'obsgen.pipeline.compile', 'obsgen.spec.load') if m in sys.modules)\n"
        "print(status, heavy)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")}
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "1 []", result.stdout + result.stderr  # no GRAFANA_URL: exit 1, nothing heavy loaded


def test_push_message_names_the_commit_only_when_the_tree_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from obsgen.cli import _commit_message

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "slo.yaml").write_text("a\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "first")
    monkeypatch.chdir(tmp_path)
    assert _commit_message() == f"obsgen push of commit {git('rev-parse', '--short', 'HEAD')}"
    (tmp_path / "slo.yaml").write_text("b\n")
    assert _commit_message() == "obsgen push of uncommitted changes"
