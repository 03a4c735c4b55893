"""The pipeline's middle: a Project in, every artifact out. No I/O.

Services compile independently, so a large project is spread over the machine's cores; the
result is reassembled in service order and is the same bytes either way.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from obsgen import alertmanager, report, rules, ruletests
from obsgen.artifacts import HEADER, Artifacts, to_yaml
from obsgen.project import Project
from obsgen.spec import Service

RULES_DIR = "prometheus/rules"
TESTS_DIR = "prometheus/tests"
REPORT = "SLO_REPORT.md"
ALERTMANAGER_CONFIG = "alertmanager/alertmanager.yml"
ROUTE_TESTS = "alertmanager/route-tests.yml"
PARALLEL_FROM = 64  # below this many services a worker pool costs more than it saves

_SERVICES: tuple[Service, ...] = ()  # inherited by forked workers, so services are not pickled


Alerts = list[dict[str, str]]  # the labels of every generated alert, alertname included


def service_artifacts(service: Service) -> tuple[Artifacts, Alerts]:
    groups = rules.rule_groups(service)
    # promtool resolves rule_files relative to the test file.
    tests = ruletests.test_file(service, groups, f"../rules/{service.service}.yml")
    alerts = [{"alertname": r["alert"], **r["labels"]} for g in groups for r in g["rules"] if "alert" in r]
    return {
        f"{RULES_DIR}/{service.service}.yml": HEADER + to_yaml({"groups": groups}),
        f"{TESTS_DIR}/{service.service}.test.yml": HEADER + to_yaml(tests),
    }, alerts


def _by_index(index: int) -> tuple[Artifacts, Alerts]:
    return service_artifacts(_SERVICES[index])


def compile_project(project: Project) -> Artifacts:
    global _SERVICES
    services = project.services
    workers = min(os.cpu_count() or 1, 8)
    if len(services) >= PARALLEL_FROM and workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        _SERVICES = services
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                parts = list(pool.map(_by_index, range(len(services)), chunksize=max(1, len(services) // (4 * workers))))
        finally:
            _SERVICES = ()
    else:
        parts = [service_artifacts(s) for s in services]
    artifacts: Artifacts = {path: text for part, _ in parts for path, text in part.items()}
    artifacts[REPORT] = report.report(project)
    if project.routing is not None:
        alerts = [labels for _, found in parts for labels in found]
        artifacts[ALERTMANAGER_CONFIG] = HEADER + to_yaml(alertmanager.config(project))
        artifacts[ROUTE_TESTS] = HEADER + (
            "# Each case: amtool config routes test --config.file=alertmanager.yml --verify.receivers=R label=value ...\n"
        ) + to_yaml(alertmanager.route_tests(project, alerts))
    return dict(sorted(artifacts.items()))
