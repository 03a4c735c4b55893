"""`long_rules: separate`: the period groups go to their own files for another ruler, the paging
groups stay local, the generated tests prove the same alert timing, and validate holds the line."""
from __future__ import annotations

import dataclasses
import functools
import posixpath
import subprocess
from pathlib import Path

import pytest
import yaml

from obsgen.core import names
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.tools import Generation
from obsgen.pipeline.validate import check_long_split, check_test_rules, promtool_check_rules
from obsgen.pipeline.writer import write_output
from obsgen.remote.ruler import MIMIR_PREFIX
from tests.conftest import ROOT, artifacts_at, project_at
from tests.remote.fake_ruler import FakeRuler
from tests.remote.test_ruler import _cli

SERVICES = ("ai-provider", "pup-api", "pup-journeys", "pup-workers")


@functools.cache
def split() -> dict[str, str]:
    project = project_at(ROOT)
    settings = project.settings.model_copy(update={"long_rules": "separate"})
    return compile_project(dataclasses.replace(project, settings=settings))


def _groups(artifacts: dict[str, str], path: str) -> list[dict]:
    doc = yaml.safe_load(artifacts[path])
    return (doc.get("spec") or doc)["groups"]


def _is_long(group: dict) -> bool:
    return group["name"].endswith(names.PERIOD_GROUP_SUFFIX)


@pytest.mark.parametrize("service", SERVICES)
def test_the_period_groups_move_and_nothing_else_does(service: str) -> None:
    together = _groups(artifacts_at(ROOT), f"prometheus/rules/{service}.yml")
    assert any(_is_long(g) for g in together)  # the example is split by default: local
    local = _groups(split(), f"prometheus/rules/{service}.yml")
    far = _groups(split(), f"prometheus/long-rules/{service}.yml")
    assert local == [g for g in together if not _is_long(g)]
    assert far == [g for g in together if _is_long(g)] and all(g["interval"] == "2m" for g in far)
    # The cluster outputs follow: the in-cluster Prometheus gets the paging groups, Thanos Ruler the long ones.
    assert _groups(split(), f"kubernetes/prometheusrules/{service}.yaml") == local
    thanos = _groups(split(), f"thanos/rules/{service}.yml")
    assert [{k: v for k, v in g.items() if k != "partial_response_strategy"} for g in thanos] == far


def test_the_generated_tests_are_the_same_bytes_either_way() -> None:
    """Same test documents, same groups in their copies: the proofs of every alert's minute hold on both layouts."""
    tests = {p: t for p, t in artifacts_at(ROOT).items() if p.startswith("prometheus/tests/")}
    assert len([p for p in tests if p.endswith(".slo.test.yml")]) == 8
    other = {p: t for p, t in split().items() if p.startswith("prometheus/tests/")}
    assert {p for p in other if p.endswith(".test.yml")} == {p for p in tests if p.endswith(".test.yml")}
    for path in (p for p in tests if p.endswith(".test.yml")):
        # A service whose local rule file holds only the group a test proves (pup-journeys, without
        # operational alerts) loads that file itself once the period group moves out: the same groups.
        mine, theirs = yaml.safe_load(tests[path]), yaml.safe_load(other[path])
        assert _loaded(artifacts_at(ROOT), mine.pop("rule_files")) == _loaded(split(), theirs.pop("rule_files")), path
        assert mine == theirs, path


def _loaded(artifacts: dict[str, str], rule_files: list[str]) -> list[dict]:
    """The groups a test loads, from its rule files (relative to prometheus/tests/)."""
    return [g for f in rule_files for g in yaml.safe_load(artifacts[posixpath.normpath(f"prometheus/tests/{f}")])["groups"]]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("split") / "out"
    write_output(split(), folder)
    return folder


def test_validate_holds_the_copies_to_both_files(out: Path) -> None:
    assert check_test_rules(out) == [] and check_long_split(out) == []
    long_file = out / "prometheus/long-rules/pup-api.yml"
    original = long_file.read_text()
    try:
        long_file.write_text(original.replace("vector(0.999)", "vector(0.99)", 1))
        assert [f.file for f in check_test_rules(out)] == [str(out / "prometheus/tests/rules/pup-api.availability.period.yml")]
    finally:
        long_file.write_text(original)


def test_validate_refuses_a_page_that_waits_on_the_long_ruler(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    write_output(split(), folder)
    rules = folder / "prometheus/rules/pup-api.yml"
    text = rules.read_text()
    needle = 'absent(slo:sli_total:rate5m{service="pup-api", slo="availability"})'
    assert needle in text
    rules.write_text(text.replace(needle, f'{names.BUDGET_REMAINING}{{service="pup-api", slo="availability"}} < 0', 1))
    (finding,) = check_long_split(folder)
    assert finding.file == str(rules) and f"SLONoData reads {names.BUDGET_REMAINING}" in finding.message


def test_promtool_loads_both_sides_and_runs_a_split_proof(out: Path, generation: Generation) -> None:
    """Both generations load both files; the proof (the same bytes as the example's, which validate
    runs on both generations) runs on the current one."""
    assert promtool_check_rules(out, generation) == []
    if generation.where == "PATH":
        return
    promtool = generation.need("promtool")
    proof = out / "prometheus/tests/pup-api.accounts.period.test.yml"
    loaded = yaml.safe_load(proof.read_text())["rule_files"]
    assert loaded == ["rules/pup-api.accounts.slo.yml", "rules/pup-api.accounts.period.yml"]  # copies of the groups of two files
    result = subprocess.run([promtool, "test", "rules", str(proof)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_push_sends_only_the_long_groups_to_the_ruler(out: Path) -> None:
    with FakeRuler(MIMIR_PREFIX) as mimir:
        pushed = _cli("push", "--rules", "--out", str(out), env={"MIMIR_URL": mimir.url, "MIMIR_TENANT": "pup"})
        assert pushed.returncode == 0, pushed.stderr
        groups = mimir.state.rules["pup"]["pup-ai.pup-api"]
    assert sorted(groups) == sorted(g["name"] for g in _groups(split(), "prometheus/long-rules/pup-api.yml"))
    assert all(name.endswith(names.PERIOD_GROUP_SUFFIX) for name in groups)
