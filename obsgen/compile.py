"""The pipeline's middle: a Project in, every artifact out. No I/O.

Services compile independently, so a large project is spread over the machine's cores; the
result is reassembled in service order and is the same bytes either way.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from grafanalib.core import Dashboard

from obsgen import alertmanager, dashboards, loki, names, ops_rules, opstests, report, rules, ruletests
from obsgen.artifacts import HEADER, Artifacts, to_yaml
from obsgen.errors import SpecError, SpecIssue, user_line
from obsgen.panels import render
from obsgen.ops_spec import OpsSpec
from obsgen.project import CustomDashboard, Project, Settings
from obsgen.spec import Service

RULES_DIR = "prometheus/rules"
TESTS_DIR = "prometheus/tests"
LOKI_RULES_DIR = "loki/rules"  # <tenant>/<service>.yml
REPORT = "SLO_REPORT.md"
ALERTMANAGER_CONFIG = "alertmanager/alertmanager.yml"
ROUTE_TESTS = "alertmanager/route-tests.yml"
DASHBOARDS_DIR = "grafana/dashboards"
PROVISIONING = "grafana/provisioning/dashboards.yml"
PARALLEL_FROM = 64  # below this many services a worker pool costs more than it saves

_PROJECT: Project | None = None  # inherited by forked workers, so the project is not pickled


def dashboard_file(folder: str, uid: str) -> str:
    return f"{DASHBOARDS_DIR}/{folder}/{uid}.json"


Alerts = list[dict[str, str]]  # the labels of every generated alert, alertname included


def service_artifacts(service: Service, settings: Settings, ops: OpsSpec | None = None) -> tuple[Artifacts, Alerts]:
    grafana_url = settings.grafana_url or ""
    url = dashboards.service_url(service.service, grafana_url)
    groups = rules.rule_groups(service, url) + (ops_rules.ops_groups(service, ops, url) if ops else [])
    # promtool resolves rule_files relative to the test file.
    tests = ruletests.test_file(service, groups, f"../rules/{service.service}.yml")
    if ops:
        tests["tests"] += opstests.ops_tests(service, ops)
    log_groups = loki.ruler_groups(service, ops, url) if ops else []
    alerts = [{"alertname": r["alert"], **r["labels"]} for g in groups + log_groups for r in g["rules"] if "alert" in r]
    files = {
        f"{RULES_DIR}/{service.service}.yml": HEADER + to_yaml({"groups": groups}),
        f"{TESTS_DIR}/{service.service}.test.yml": HEADER + to_yaml(tests),
        dashboard_file(dashboards.folder_of(service), dashboards.service_uid(service.service)): dashboards.service_dashboard(
            service, grafana_url, ops
        ),
    }
    if log_groups:
        files[f"{LOKI_RULES_DIR}/{settings.loki_tenant}/{service.service}.yml"] = HEADER + to_yaml({"groups": log_groups})
    return files, alerts


def team_artifacts(team: str, services: list[Service], grafana_url: str = "") -> tuple[Artifacts, Alerts]:
    path = dashboard_file(dashboards.SLO_FOLDER, names.slo_overview_uid(team))
    return {path: dashboards.overview_dashboard(team, services, grafana_url)}, []


def _teams(project: Project) -> dict[str, list[Service]]:
    teams: dict[str, list[Service]] = {}
    for service in project.services:
        teams.setdefault(service.team, []).append(service)
    return dict(sorted(teams.items()))


def _task(key: str | int) -> tuple[Artifacts, Alerts]:
    """A service by index, or a team's overview by name; runs in a forked worker."""
    assert _PROJECT is not None
    if isinstance(key, int):
        service = _PROJECT.services[key]
        return service_artifacts(service, _PROJECT.settings, _PROJECT.ops_of(service.service))
    return team_artifacts(key, _teams(_PROJECT)[key], _PROJECT.settings.grafana_url or "")


def compile_project(project: Project) -> Artifacts:
    global _PROJECT
    services = project.services
    grafana_url = project.settings.grafana_url or ""
    workers = min(os.cpu_count() or 1, 8)
    teams = _teams(project)
    if len(services) >= PARALLEL_FROM and workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        _PROJECT = project
        try:
            context = multiprocessing.get_context("fork")
            tasks: list[str | int] = [*teams, *range(len(services))]  # the big overviews first
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                parts = list(pool.map(_task, tasks, chunksize=max(1, len(services) // (8 * workers))))
        finally:
            _PROJECT = None
    else:
        parts = [team_artifacts(t, members, grafana_url) for t, members in teams.items()]
        parts += [service_artifacts(s, project.settings, project.ops_of(s.service)) for s in services]
    artifacts: Artifacts = {path: text for part, _ in parts for path, text in part.items()}
    artifacts[REPORT] = report.report(project)
    for custom in project.custom_dashboards:
        board = _build_custom(custom, project)
        path = dashboard_file(custom.folder, board.uid)
        if path in artifacts:
            raise SpecError([SpecIssue(custom.path, 0, "uid", f"{board.uid!r} is the uid of another dashboard")])
        artifacts[path] = render(board)
    artifacts[PROVISIONING] = HEADER + to_yaml(dashboards.provisioning())
    if project.routing is not None:
        alerts = [labels for _, found in parts for labels in found]
        artifacts[ALERTMANAGER_CONFIG] = HEADER + to_yaml(alertmanager.config(project))
        artifacts[ROUTE_TESTS] = HEADER + (
            "# Each case: amtool config routes test --config.file=alertmanager.yml --verify.receivers=R label=value ...\n"
        ) + to_yaml(alertmanager.route_tests(project, alerts))
    return dict(sorted(artifacts.items()))


def _build_custom(custom: CustomDashboard, project: Project) -> Any:
    """Runs a team's dashboard function; its mistakes are spec errors with the file and line."""
    try:
        board = custom.build(project)
    except Exception as exc:  # noqa: BLE001 - any error in user code is reported, never a traceback
        raise SpecError([SpecIssue(custom.path, user_line(exc, custom.path), "dashboard()", f"{type(exc).__name__}: {exc}")]) from None
    if not isinstance(board, Dashboard) or not board.uid:
        raise SpecError([SpecIssue(custom.path, 0, "dashboard()", "must return a grafanalib Dashboard with a uid (use obsgen.panels.dashboard)")])
    if len(board.uid) > 40:
        raise SpecError([SpecIssue(custom.path, 0, "uid", f"{board.uid!r} is longer than Grafana's 40 characters")])
    return board
