"""The pipeline's middle: a Project in, every artifact out, in memory (`compile_project`) or
written into an output folder as it is compiled (`write_project`); teams' dashboard code runs in
child processes (pipeline/custom.py).

Services compile independently, so a large project is spread over the machine's cores; the
result is the same bytes either way.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from obsgen.alertmanager import config as alertmanager
from obsgen.core import names
from obsgen.core.rules import alerts_of, rule_file
from obsgen.core.yaml_text import listed, to_yaml
from obsgen.errors import SpecError, SpecIssue
from obsgen.grafana import dashboards
from obsgen.kubernetes import manifests
from obsgen.loki import rules as loki
from obsgen.model.project import Project, Settings
from obsgen.model.slo import Service
from obsgen.pipeline import custom, layout, report
from obsgen.pipeline.writer import HEADER, Artifacts, Staging
from obsgen.prometheus import ops_rules, ops_tests, slo_rules, slo_tests

PARALLEL_FROM = 64  # below this many services a worker pool costs more than it saves

_PROJECT: Project | None = None  # inherited by forked workers, so the project is not pickled
_STAGING: Staging | None = None  # likewise: where the workers write, when compiling into a folder

Alerts = list[dict[str, str]]  # the labels of every generated alert, alertname included


def service_artifacts(service: Service, settings: Settings) -> tuple[Artifacts, Alerts]:
    grafana_url = settings.grafana_url or ""
    url = dashboards.service_url(service.name, grafana_url)
    traces = slo_rules.TraceLinks(grafana_url, settings.traces.datasource) if settings.traces else None
    per_slo = slo_rules.slo_groups(service, url, traces)
    slo_groups = [g for pair in per_slo for g in pair]
    op_groups = ops_rules.ops_groups(service, url)
    groups = slo_groups + op_groups
    log_groups = loki.ruler_groups(service, url)
    alerts = [{names.ALERTNAME: a.alert, **a.labels} for a in alerts_of(groups + log_groups)]
    # Each group's YAML once: the deployed file is their concatenation, and a test's copy of the
    # groups it proves (see layout.test_rules) is the same bytes.
    plain = [g.to_dict() for g in groups]
    texts = [to_yaml([g]) for g in plain]
    # With `long_rules: separate` the period groups (the second of each SLO's pair) go to their own
    # file for another ruler; nothing in the paging groups reads them.
    separate = settings.long_rules == "separate"
    is_long = [separate and i < len(slo_groups) and i % 2 == 1 for i in range(len(groups))]
    local = [t for t, far in zip(texts, is_long, strict=True) if not far]
    local_plain = [d for d, far in zip(plain, is_long, strict=True) if not far]
    long_plain = [d for d, far in zip(plain, is_long, strict=True) if far]
    files = {
        layout.rule_file(service.name): _rule_file(local),
        layout.dashboard_file(service.dashboard.folder, dashboards.service_uid(service.name)): dashboards.service_dashboard(
            service, grafana_url, exemplars=settings.traces is not None
        ),
    }
    # Each SLO's tests load its group, the operational tests the operational groups: the rule file
    # itself when it holds nothing else, else a byte-identical copy of the groups they prove.
    def loaded(part: list[str], copy: str) -> str:
        return layout.rule_file(service.name) if part == local else copy

    tests: list[tuple[str, str | None, list[tuple[str, list[str]]]]] = []  # (path, its YAML, (rule file, its YAML) it loads)
    start = 0
    for slo, pair in zip(service.slos, per_slo, strict=True):
        paging, period = texts[start : start + 1], texts[start + 1 : start + 2]  # the SLO's two groups
        start += len(pair)
        loads = [(loaded(paging, layout.test_rules(service.name, slo.name)), paging)]
        both = [*loads, (loaded(period, layout.test_rules(service.name, slo.name, "period")), period)]
        docs = slo_tests.slo_test_files(service, slo, pair[0], [layout.from_tests(at) for at, _ in loads],
                                        [layout.from_tests(at) for at, _ in both], pair[1])
        tests += [(layout.test_file(service.name, slo.name), docs.classic, loads),
                  (layout.test_file(service.name, slo.name, native=True), docs.native, both),
                  (layout.period_test_file(service.name, slo.name), docs.period, both if slo.calendar is None else [])]
    ops_part = texts[len(slo_groups) :]
    at = loaded(ops_part, layout.test_rules(service.name))
    ops = ops_tests.test_file(service, layout.from_tests(at))
    tests.append((layout.ops_test_file(service.name), to_yaml(ops) if ops is not None else None, [(at, ops_part)]))
    for path, text, loaded_files in tests:
        if text is not None:
            files[path] = HEADER + text
            for at, part in loaded_files:
                files.setdefault(at, _rule_file(part))
    for q in service.ops.queues:
        if q.scale:
            files[layout.scaling_file(service.name, q.name, "keda")] = HEADER + to_yaml(manifests.scaled_object(service.name, q, settings.kubernetes))
            files[layout.scaling_file(service.name, q.name, "hpa")] = HEADER + to_yaml(manifests.hpa(service.name, q, settings.kubernetes))
    if log_groups:
        files[layout.loki_rule_file(settings.loki_tenant, service.name)] = HEADER + to_yaml(rule_file(log_groups))
    if long_plain:
        files[layout.long_rule_file(service.name)] = _rule_file([t for t, far in zip(texts, is_long, strict=True) if far])
    if "prometheus-operator" in settings.outputs:
        manifest = manifests.prometheus_rule(service.name, local_plain, settings.kubernetes, settings.project)
        files[layout.prometheus_rule_file(service.name)] = HEADER + to_yaml(manifest)
    if "thanos" in settings.outputs:
        # Thanos Ruler is the other ruler when the long groups are separate, else it runs everything.
        thanos = long_plain if separate else plain
        files[layout.thanos_rule_file(service.name)] = HEADER + to_yaml({"groups": manifests.thanos_groups(thanos)})
    return files, alerts


def _rule_file(groups: list[str]) -> str:
    """A rule file from its groups' YAML, each a one-item list."""
    return HEADER + listed("groups", groups)


def team_artifacts(team: str, services: list[Service], grafana_url: str = "") -> tuple[Artifacts, Alerts]:
    path = layout.dashboard_file(dashboards.SLO_FOLDER, names.slo_overview_uid(team))
    return {path: dashboards.overview_dashboard(team, services, grafana_url)}, []


def report_artifacts(project: Project) -> tuple[Artifacts, Alerts]:
    """SLO_REPORT.md and the charts it links."""
    return {layout.REPORT: report.report(project), **report.detection_charts(project)}, []


def _task(key: str | int | None) -> tuple[Artifacts, Alerts]:
    """A service by index, a team's overview by name, or (None) the report; runs in a forked worker,
    which writes the files itself when compiling into a folder (only their paths come back)."""
    assert _PROJECT is not None
    if key is None:
        part = report_artifacts(_PROJECT)
    elif isinstance(key, int):
        part = service_artifacts(_PROJECT.services[key], _PROJECT.settings)
    else:
        part = team_artifacts(key, _PROJECT.teams()[key], _PROJECT.settings.grafana_url or "")
    return _kept(part, _STAGING)


def _kept(part: tuple[Artifacts, Alerts], staging: Staging | None) -> tuple[Artifacts, Alerts]:
    """A compiled part as it is; with `staging`, written there and its paths only (text "")."""
    if staging is None:
        return part
    files, alerts = part
    staging.write(files)
    return dict.fromkeys(files, ""), alerts


def workers_for(services: int) -> int:
    """Worker processes for a project this size: 1 (in-process) for small ones."""
    cores = min(os.cpu_count() or 1, 8)
    if services < PARALLEL_FROM or cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return cores


def compile_project(project: Project, workers: int | None = None) -> Artifacts:
    """Every artifact of the project, in memory; `workers` overrides how many processes share the services."""
    return dict(sorted(_compile(project, workers, None).items()))


def write_project(project: Project, out: Path, workers: int | None = None, check: Callable[[Path], None] | None = None) -> int:
    """Compiles the project into `out` (see writer.Staging): each worker writes the files it
    compiles as it goes, so writing overlaps compiling and no file's text crosses a process.
    `check` reads the staged folder before it replaces `out` and may raise. Returns the number of files."""
    with Staging(out) as staging:
        written = _compile(project, workers, staging)
        if check is not None:
            check(staging.path)
    return len(written)


def _compile(project: Project, workers: int | None, staging: Staging | None) -> Artifacts:
    """With `staging`, files are written there and come back as their paths only (text "")."""
    global _PROJECT, _STAGING
    services = project.services
    grafana_url = project.settings.grafana_url or ""
    workers = workers_for(len(services)) if workers is None else workers
    teams = project.teams()
    parts: list[tuple[Artifacts, Alerts]]
    if workers > 1:
        _PROJECT, _STAGING = project, staging
        try:
            context = multiprocessing.get_context("fork")
            tasks: list[str | int | None] = [None, *teams, *range(len(services))]  # the report and big overviews first
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                parts = list(pool.map(_task, tasks, chunksize=max(1, len(services) // (8 * workers))))
        finally:
            _PROJECT, _STAGING = None, None
    else:
        parts = [_kept(report_artifacts(project), staging)]
        parts += [_kept(team_artifacts(t, members, grafana_url), staging) for t, members in teams.items()]
        parts += [_kept(service_artifacts(s, project.settings), staging) for s in services]
    artifacts: Artifacts = {path: text for part, _ in parts for path, text in part.items()}
    extra = _custom_dashboards(project, set(artifacts))
    extra[layout.PROVISIONING] = HEADER + to_yaml(dashboards.provisioning())
    scaled = [(s.name, q) for s in project.services for q in s.ops.queues if q.scale]
    if scaled:
        extra[layout.ADAPTER_RULES] = HEADER + to_yaml(manifests.adapter_rules(scaled))
    if project.settings.traces:
        extra[layout.DATASOURCES] = HEADER + to_yaml(dashboards.datasources(project.settings.traces))
    extra[layout.MANIFEST] = json.dumps({"project": project.settings.project}, indent=2) + "\n"
    if project.routing is not None:
        alerts = [labels for _, found in parts for labels in found]
        config = alertmanager.config(project)
        extra[layout.ALERTMANAGER_CONFIG] = HEADER + to_yaml(config)
        if "prometheus-operator" in project.settings.outputs:
            secret = manifests.alertmanager_secret(config, to_yaml(config), project.settings.kubernetes, project.settings.project)
            extra[layout.ALERTMANAGER_SECRET] = HEADER + to_yaml(secret)
        extra[layout.ROUTE_TESTS] = HEADER + (
            "# Each case: amtool config routes test --config.file=alertmanager.yml --verify.receivers=R label=value ...\n"
        ) + to_yaml(alertmanager.route_tests(project, alerts))
    return {**artifacts, **_kept((extra, []), staging)[0]}


def _custom_dashboards(project: Project, taken: set[str]) -> Artifacts:
    """The teams' dashboards, each run by pipeline/custom.py; every mistake is a spec error."""
    found: Artifacts = {}
    owner: dict[str, str] = {}
    issues: list[SpecIssue] = []
    for dashboard in project.custom_dashboards:
        built = custom.build(dashboard, project, project.settings.dashboard_timeout)
        if isinstance(built, SpecIssue):
            issues.append(built)
            continue
        path = layout.dashboard_file(built.folder, built.uid)
        if path in taken or path in owner:
            other = owner.get(path, f"obsgen's generated {path}")
            issues.append(SpecIssue(dashboard.path, 0, "uid", f"{built.uid!r} is already the uid of {other}"))
            continue
        owner[path] = dashboard.path
        found[path] = built.text
    if issues:
        raise SpecError(issues)
    return found
