"""Operational alerts and log signals from alerts/<service>.yaml: rules, Loki files, LogQL, errors."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from obsgen.core import promql
from obsgen.errors import SpecIssue
from obsgen.loki import rules as loki
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.validate import check_loki_shape, logql_check, spec_logql_issues, written
from obsgen.pipeline.writer import write_output
from obsgen.prometheus import ops_rules
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT, artifacts_at, project_at


def _rules(service: str) -> list[dict]:
    return [r for g in yaml.safe_load(artifacts_at(ROOT)[f"prometheus/rules/{service}.yml"])["groups"] for r in g["rules"]]


def test_bundled_example_has_every_kind() -> None:
    workers = {(r["alert"], r["labels"].get("queue") or r["labels"].get("resource")) for r in _rules("pup-workers") if r.get("alert") in ops_rules.ALERTS}
    assert {("QueueBacklogHigh", "jobs"), ("QueueBacklogHigh", "emails"), ("QueueNotDraining", "jobs"),
            ("QueueMessagesTooOld", "emails"), ("ResourceSaturated", "postgres-connections"), ("ResourceSaturated", "redis-memory")} <= workers
    api = [r for r in _rules("pup-api") if r.get("alert") in ops_rules.ALERTS]
    assert {r["alert"] for r in api} == {"DependencyErrorsHigh", "DependencyLatencyHigh", "ResourceSaturated", "TrafficDropped"}
    assert next(r for r in api if r["alert"] == "DependencyErrorsHigh")["labels"]["team"] == "ml-platform"
    assert "offset 1w" in next(r for r in api if r["alert"] == "TrafficDropped")["expr"]
    assert "predict_linear(pup_queue_depth" in next(r for r in _rules("pup-workers") if r.get("alert") == "QueueNotDraining")["expr"]


def test_every_ops_expression_parses_and_links_a_runbook_section() -> None:
    headings = {h.lower() for h in re.findall(r"^## (\w+)$", (ROOT / "docs" / "runbooks.md").read_text(), re.M)}
    for service in ("pup-api", "pup-workers"):
        for rule in _rules(service):
            promql.check(rule["expr"])
            if "alert" in rule:
                anchor = rule["annotations"]["runbook_url"].rsplit("#", 1)[-1]
                assert rule["alert"] == "ErrorBudgetBurn" or rule["alert"] == "SLONoData" or anchor in headings
    assert {a.lower() for a in (*ops_rules.ALERTS, loki.ALERT, "ErrorBudgetBurn", "SLONoData")} <= headings


def test_loki_rules_have_the_ruler_shape_and_parse(tmp_path: Path, node: str) -> None:
    write_output(artifacts_at(ROOT), tmp_path / "out")
    doc = yaml.safe_load(artifacts_at(ROOT)["loki/rules/pup/pup-api.yml"])
    (group,) = doc["groups"]
    assert [r.get("record") or r.get("alert") for r in group["rules"]] == [loki.RECORD, loki.ALERT] * 2
    assert group["rules"][1]["expr"] == 'sum(rate({app="pup-api"} |= "panic" [5m])) > 0'
    assert group["rules"][3]["expr"].endswith('/ sum(rate({app="pup-api"} [5m])) * 100 > 2')
    assert not check_loki_shape(tmp_path / "out")
    assert not logql_check(written(tmp_path / "out", "loki", "grafana"), project_at(ROOT).sources)


def test_a_logql_syntax_error_is_a_spec_error_at_its_match(tmp_path: Path, node: str) -> None:
    shutil.copytree(ROOT, tmp_path / "specs", ignore=shutil.ignore_patterns("output", ".venv", ".git", "node_modules", "tests"))
    spec = tmp_path / "specs" / "alerts" / "pup-api.yaml"
    spec.write_text(spec.read_text().replace("""match: '|= "panic"'""", """match: '|= panic'"""))
    project = load_project(tmp_path / "specs")
    issues = spec_logql_issues(compile_project(project), project.sources)
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "|= panic" in text)
    assert [(i.file.endswith("alerts/pup-api.yaml"), i.line, i.field) for i in issues] == [(True, line, "logs[0].match")]
    # validate names the same place when the output was written without the check
    write_output(compile_project(project), tmp_path / "out")
    assert {(i.file, i.line, i.field) for i in logql_check(written(tmp_path / "out", "loki"), project.sources) if isinstance(i, SpecIssue)} == {
        (i.file, i.line, i.field) for i in issues
    }


def test_dashboard_shows_queues_resources_and_logs() -> None:
    board = json.loads(artifacts_at(ROOT)["grafana/dashboards/pup-ai/service-pup-workers.json"])
    titles = {p["title"] for p in board["panels"]}
    assert {"jobs: depth", "jobs: enqueued and processed", "postgres-connections: used", "Queues", "Resources"} <= titles
    api = json.loads(artifacts_at(ROOT)["grafana/dashboards/pup-ai/service-pup-api.json"])
    logs = [p for p in api["panels"] if p["type"] == "logs"]
    assert [p["targets"][0]["expr"] for p in logs] == ['{app="pup-api"} |= "panic"', '{app="pup-api"} | json | level="error"']
    assert all(p["datasource"] == {"type": "loki", "uid": "${loki}"} for p in logs)


def test_fixture_without_alerts_has_no_ops_or_loki_output() -> None:
    artifacts = compile_project(load_project(FIXTURES / "good"))
    assert not any(p.startswith("loki/") for p in artifacts)


def test_alert_files_ending_in_yml_are_read(tmp_path: Path) -> None:
    """slo/ accepts .yml; so does alerts/, rather than ignoring a file silently."""
    shutil.copytree(ROOT / "slo", tmp_path / "slo")
    shutil.copytree(ROOT / "alerts", tmp_path / "alerts")
    (tmp_path / "alerts" / "pup-api.yaml").rename(tmp_path / "alerts" / "pup-api.yml")
    assert load_project(tmp_path).service("pup-api").ops.queues == load_project(ROOT).service("pup-api").ops.queues
    assert load_project(tmp_path).service("pup-api").ops.dependencies


@pytest.mark.parametrize("match", ['|= "panic"', '| json | level="error"', '|~ "timeout (after|while)"', '| status >= 500', ""])
def test_log_filters_and_parsers_are_accepted(match: str) -> None:
    from obsgen.model.ops import LogSignal

    assert LogSignal.model_validate({"name": "x", "selector": '{app="a"}', "match": match, "above": 1}).match == match


def test_a_queue_summed_per_topic_alerts_per_topic_and_its_tests_pass(tmp_path: Path, promtool: str) -> None:
    """Kafka lag is per partition: `sum by (topic) (...)` is a queue; the drain trend becomes a subquery."""
    shutil.copytree(FIXTURES / "corpus" / "_base" / "slo", tmp_path / "slo")
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "api.yaml").write_text(
        "service: api\nqueues:\n  - name: orders\n    depth: sum by (topic) (kafka_consumergroup_lag{group=\"api\"})\n    max_depth: 1000\n"
    )
    artifacts = compile_project(load_project(tmp_path))
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load(artifacts["prometheus/rules/api.yml"])["groups"] for r in g["rules"] if "alert" in r}
    assert rules[ops_rules.QUEUE_BACKLOG].startswith('sum by (topic) (kafka_consumergroup_lag{group="api"}) > 1000')
    assert 'predict_linear(sum by (topic) (kafka_consumergroup_lag{group="api"})[30m:1m], 1800)' in rules[ops_rules.QUEUE_DRAIN]
    write_output(artifacts, tmp_path / "out")
    proc = subprocess.run([promtool, "test", "rules", str(tmp_path / "out" / "prometheus" / "tests" / "api.ops.test.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
