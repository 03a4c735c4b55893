"""The pipeline's middle: a Project in, every artifact out. No I/O."""
from __future__ import annotations

from obsgen import report, rules, ruletests
from obsgen.artifacts import HEADER, Artifacts, to_yaml
from obsgen.spec import Project

RULES_DIR = "prometheus/rules"
TESTS_DIR = "prometheus/tests"
REPORT = "SLO_REPORT.md"


def compile_project(project: Project) -> Artifacts:
    artifacts: Artifacts = {}
    for service in project.services:
        groups = rules.rule_groups(service)
        artifacts[f"{RULES_DIR}/{service.service}.yml"] = HEADER + to_yaml({"groups": groups})
        # promtool resolves rule_files relative to the test file.
        tests = ruletests.test_file(service, groups, f"../rules/{service.service}.yml")
        artifacts[f"{TESTS_DIR}/{service.service}.test.yml"] = HEADER + to_yaml(tests)
    artifacts[REPORT] = report.report(project)
    return dict(sorted(artifacts.items()))
