"""The pipeline's middle: a Project in, every artifact out. No I/O."""
from __future__ import annotations

from obsgen import rules
from obsgen.artifacts import HEADER, Artifacts, to_yaml
from obsgen.spec import Project

RULES_DIR = "prometheus/rules"


def compile_project(project: Project) -> Artifacts:
    artifacts: Artifacts = {}
    for service in project.services:
        artifacts[f"{RULES_DIR}/{service.service}.yml"] = HEADER + to_yaml(rules.rule_file(service))
    return dict(sorted(artifacts.items()))
