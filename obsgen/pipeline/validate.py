"""Checks generated artifacts with the real tools, and in-process where no tool is needed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgen.core import promql
from obsgen.errors import Origin, SpecIssue, ToolMissing
from obsgen.pipeline import logql
from obsgen.pipeline.custom import query_errors
from obsgen.pipeline.layout import (
    ALERTMANAGER_CONFIG,
    DASHBOARDS_DIR,
    LOKI_RULES_DIR,
    LONG_RULES_DIR,
    NATIVE_TESTS,
    PROMETHEUS_RULES_DIR,
    ROUTE_TESTS,
    RULES_DIR,
    TEST_RULES_DIR,
    TESTS_DIR,
    THANOS_RULES_DIR,
)
from obsgen.pipeline.tools import TOOL_HINT, Generation, generations, on_path, version_of


@dataclass(frozen=True)
class Finding:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


def rule_expressions(text: str) -> list[tuple[str, str]]:
    """(rule name, expr) for every rule in a Prometheus rule file; ValueError when it is not one."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML: {str(exc).splitlines()[0]}") from None
    groups = doc.get("groups") if isinstance(doc, dict) else None
    if not isinstance(groups, list) or not all(isinstance(g, dict) and isinstance(g.get("rules", []), list) for g in groups):
        raise ValueError("not a rule file: expected `groups:` of `rules:`")
    return [
        (str(rule.get("record") or rule.get("alert") or "?"), str(rule.get("expr", "")))
        for group in groups
        for rule in group.get("rules", [])
        if isinstance(rule, dict)
    ]


def prometheus_rule_files(out: Path) -> list[Path]:
    """Every plain Prometheus rule file: the services' and, with `long_rules: separate`, the long ones."""
    return sorted((out / RULES_DIR).glob("*.yml")) + sorted((out / LONG_RULES_DIR).glob("*.yml"))


def check_expressions(out: Path) -> list[Finding]:
    """Every expression in every rule file parses (promql-parser, no tool needed)."""
    findings = []
    for path in prometheus_rule_files(out):
        try:
            expressions = rule_expressions(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            findings.append(Finding(str(path), str(exc)))
            continue
        for name, expr in expressions:
            try:
                promql.check(expr)
            except ValueError as exc:
                findings.append(Finding(str(path), f"{name}: {exc}"))
    return findings


def check_test_rules(out: Path) -> list[Finding]:
    """Each group a generated test loads is a copy of a deployed group: the tests prove the rules
    Prometheus runs, not an edited copy (and a hand-edited rule file fails here, not in production)."""
    findings = []
    deployed: dict[str, list[Any]] = {}
    for path in sorted((out / TEST_RULES_DIR).glob("*.yml")):
        service = path.name.split(".")[0]  # <service>.<slo>.slo.yml, <service>.<slo>.period.yml or <service>.ops.yml; names hold no dots
        if service not in deployed:
            deployed[service] = _groups(out / RULES_DIR / f"{service}.yml") + _groups(out / LONG_RULES_DIR / f"{service}.yml")
        try:
            groups = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups") or []
        except (yaml.YAMLError, AttributeError):
            groups = [None]
        for group in groups:
            if group not in deployed[service]:
                name = group.get("name", "?") if isinstance(group, dict) else "?"
                findings.append(Finding(str(path), f"group {name} differs from the one in {RULES_DIR}/{service}.yml: "
                                        "the tests would prove rules Prometheus does not run; run `obsgen generate`"))
    return findings


def _groups(path: Path) -> list[Any]:
    """A rule file's groups; none when it is missing or not a rule file (other checks say why)."""
    try:
        return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups") or [])
    except (OSError, yaml.YAMLError, AttributeError, TypeError):
        return []


def check_long_split(out: Path) -> list[Finding]:
    """With `long_rules: separate`, the rules on the local Prometheus read nothing the long groups
    record: those run on another ruler, and a page must not wait on it (or on its data reaching here)."""
    long_records = {
        str(rule.get("record"))
        for path in sorted((out / LONG_RULES_DIR).glob("*.yml"))
        for group in _groups(path) if isinstance(group, dict)
        for rule in group.get("rules") or [] if isinstance(rule, dict) and rule.get("record")
    }
    if not long_records:
        return []
    findings = []
    for path in sorted((out / RULES_DIR).glob("*.yml")):
        try:
            expressions = rule_expressions(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue  # check_expressions reports it
        for name, expr in expressions:
            try:
                read = sorted(promql.metric_names(expr) & long_records)
            except ValueError:
                continue  # check_expressions reports it
            if read:
                findings.append(Finding(str(path), f"{name} reads {', '.join(read)}, which only {LONG_RULES_DIR}/ records: "
                                        "the local Prometheus would wait on the long-window ruler"))
    return findings


def check_dashboard_queries(out: Path) -> list[Finding]:
    """Every Prometheus query of every dashboard parses, Grafana's variables standing for values."""
    return [
        Finding(str(path), error)
        for path in sorted((out / DASHBOARDS_DIR).glob("*/*.json"))
        for error in query_errors(path.read_text(encoding="utf-8"))
    ]


def promtool_failures(output: str) -> list[str]:
    """The lines of `promtool check rules` output that describe a failure, not the files that passed."""
    failed, lines = False, []
    for line in output.splitlines():
        if line.startswith("Checking "):
            failed = False
        elif line.strip() == "FAILED:":
            failed = True
        elif failed and line.strip():
            lines.append(line.strip())
    return lines or [line for line in output.splitlines() if line.strip() and "SUCCESS" not in line and not line.startswith("Checking ")]


def require_tool(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise ToolMissing(f"{tool} not found on PATH; `make tools` installs what obsgen checks with")
    return found


def _default(generation: Generation | None) -> Generation:
    return generation or on_path()


def promtool_check_rules(out: Path, generation: Generation | None = None) -> list[Finding]:
    files = prometheus_rule_files(out)
    if not files:
        return [Finding(str(out / RULES_DIR), "no rule files; run `obsgen generate` first")]
    gen = _default(generation)
    proc = subprocess.run([gen.need("promtool"), "check", "rules", *map(str, files)], capture_output=True, text=True)
    if proc.returncode == 0:
        return []
    where = f"promtool check rules ({gen.label})"
    return [Finding(where, line) for line in promtool_failures(proc.stdout + proc.stderr)]


def packaged_rule_files(out: Path, folder: Path) -> list[tuple[Path, Path]]:
    """(written file, plain rule file in `folder`) for every PrometheusRule manifest and Thanos rule
    file, unpacked to what promtool reads; a file that is not what obsgen writes raises ValueError."""
    pairs = []
    for path in sorted((out / PROMETHEUS_RULES_DIR).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if doc.get("apiVersion") != "monitoring.coreos.com/v1" or doc.get("kind") != "PrometheusRule":
            raise ValueError(f"{path}: not a monitoring.coreos.com/v1 PrometheusRule")
        groups = (doc.get("spec") or {}).get("groups", [])
        pairs.append((path, {"groups": groups}))
    for path in sorted((out / THANOS_RULES_DIR).glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        groups = doc.get("groups", [])
        if any(g.get("partial_response_strategy") not in ("abort", "warn") for g in groups):
            raise ValueError(f"{path}: every Thanos group needs partial_response_strategy abort or warn")
        pairs.append((path, {"groups": [{k: v for k, v in g.items() if k != "partial_response_strategy"} for g in groups]}))
    found = []
    for i, (path, doc) in enumerate(pairs):
        plain = folder / f"{i:04d}-{path.stem}.yml"
        plain.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        found.append((path, plain))
    return found


def promtool_check_packaged(out: Path, generation: Generation | None = None) -> list[Finding]:
    """The PrometheusRule manifests' and Thanos rule files' groups, through `promtool check rules`."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            pairs = packaged_rule_files(out, Path(tmp))
        except (ValueError, yaml.YAMLError) as exc:
            return [Finding(str(out), str(exc).splitlines()[0])]
        if not pairs:
            return []
        gen = _default(generation)
        findings = []
        for written, plain in pairs:
            proc = subprocess.run([gen.need("promtool"), "check", "rules", str(plain)], capture_output=True, text=True)
            if proc.returncode != 0:
                findings += [Finding(str(written), f"promtool check rules ({gen.label}): {line}") for line in promtool_failures(proc.stdout + proc.stderr)]
        return findings


def reads_native_histograms(generation: Generation) -> bool:
    """promtool 3 reads native histograms in test series; Prometheus 2's (2.42) cannot."""
    version = version_of(generation.promtool or "")
    return not version or int(version.split(".")[0]) >= 3


def native_tests_skipped(out: Path, generations: list[Generation]) -> list[str]:
    """What validate says it left out: native-histogram tests on a promtool older than 3."""
    files = sorted((out / TESTS_DIR).glob(f"*{NATIVE_TESTS}"))
    return [
        f"{len(files)} native-histogram test file(s) ran only on Prometheus 3: native histograms need Prometheus 3, "
        f"and promtool {version_of(gen.promtool or '')} cannot read their series"
        for gen in generations if files and gen.promtool and not reads_native_histograms(gen)
    ]


def promtool_test_rules(out: Path, generation: Generation | None = None) -> list[Finding]:
    """Runs the generated unit tests, one promtool per file, as many at once as there are cores and
    the largest first (so the last to finish is a small one); native-histogram tests only where
    promtool reads them (see native_tests_skipped)."""
    gen = _default(generation)
    files = sorted((out / TESTS_DIR).glob("*.test.yml"), key=lambda p: (-p.stat().st_size, p.name))
    if not reads_native_histograms(gen):
        files = [f for f in files if not f.name.endswith(NATIVE_TESTS)]
    if not files:
        return []
    promtool = gen.need("promtool")

    def run(path: Path) -> list[Finding]:
        proc = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True)
        if proc.returncode == 0:
            return []
        text = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if line.strip())
        return [Finding(str(path), f"promtool test rules failed ({gen.label}):\n" + text)]

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [f for found in pool.map(run, files) for f in found]


def amtool_check(out: Path, generation: Generation | None = None) -> list[Finding]:
    """`amtool check-config`, then every routing case through `amtool config routes test`."""
    config = out / ALERTMANAGER_CONFIG
    if not config.exists():
        return []
    gen = _default(generation)
    amtool = gen.need("amtool")
    proc = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    if proc.returncode != 0:
        return [Finding(str(config), f"amtool check-config failed ({gen.label}):\n" + (proc.stdout + proc.stderr).strip())]
    cases = (yaml.safe_load((out / ROUTE_TESTS).read_text(encoding="utf-8")) or {}).get("cases", [])

    def run(case: dict[str, Any]) -> list[Finding]:
        expected = ",".join(case["receivers"])
        args = [f"{k}={v}" for k, v in case["labels"].items()]
        proc = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={config}", f"--verify.receivers={expected}", *args],
            capture_output=True, text=True,
        )
        if proc.returncode == 0:
            return []
        got = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else proc.stderr.strip()
        return [Finding(str(out / ROUTE_TESTS), f"{case['name']}: expected {expected}, Alertmanager {version_of(amtool)} routes to {got}")]

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [f for found in pool.map(run, cases) for f in found]


LOKI_RULE_KEYS = {"record", "alert", "expr", "for", "labels", "annotations"}


def logql_targets(files: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(where, service/signal or '', expr) for the LogQL in Loki rule files and in dashboards' Loki
    panels, given as (path, text) in the output's layout."""
    found = []
    for path, text in files:
        if path.startswith(LOKI_RULES_DIR) and path.endswith(".yml"):
            for group in (yaml.safe_load(text) or {}).get("groups", []):
                for rule in group.get("rules", []):
                    labels = rule.get("labels", {})
                    key = f"{labels.get('service', '')}/{labels.get('signal', '')}"
                    found.append((f"{path}: {rule.get('record') or rule.get('alert')}", key, rule["expr"]))
        elif path.startswith(DASHBOARDS_DIR) and path.endswith(".json"):
            for panel in json.loads(text).get("panels", []):
                for target in panel.get("targets", []):
                    if (target.get("datasource") or {}).get("type") == "loki":
                        found.append((f"{path}: {panel.get('title')}", "", target["expr"]))
    return found


def written(out: Path, *folders: str) -> list[tuple[str, str]]:
    """(path in the output's layout, text) of the files under `folders` of a written output."""
    return [
        (str(p.relative_to(out)), p.read_text(encoding="utf-8"))
        for folder in folders for p in sorted((out / folder).rglob("*")) if p.is_file()
    ]


def check_loki_shape(out: Path) -> list[Finding]:
    """Loki's ruler reads Prometheus-shaped files: groups with a name and rules of record or alert and expr."""
    findings = []
    for path in sorted((out / LOKI_RULES_DIR).glob("*/*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if set(doc) != {"groups"} or not isinstance(doc["groups"], list):
            findings.append(Finding(str(path), "a Loki rule file holds exactly `groups:`"))
            continue
        for group in doc["groups"]:
            if not group.get("name") or not group.get("rules"):
                findings.append(Finding(str(path), f"group {group.get('name')!r} needs a name and rules"))
            for rule in group.get("rules", []):
                if ("record" in rule) == ("alert" in rule) or "expr" not in rule or set(rule) - LOKI_RULE_KEYS:
                    findings.append(Finding(str(path), f"rule {rule.get('record') or rule.get('alert')!r} is not a Loki rule"))
    return findings


def logql_check(files: Iterable[tuple[str, str]], sources: Mapping[str, Origin] | None = None) -> list[Finding | SpecIssue]:
    """Every LogQL expression in `files`, parsed by Grafana's own grammar (@grafana/lezer-logql,
    run by node); an error in a log signal is a SpecIssue at its `match`, others name the file."""
    targets = logql_targets(files)
    if not targets:
        return []
    node = require_tool("node")
    script = logql.checker()
    payload = json.dumps([{"id": i, "expr": expr} for i, (_, _, expr) in enumerate(targets)])
    proc = subprocess.run([node, str(script)], input=payload, capture_output=True, text=True)
    if proc.returncode != 0:
        return [Finding(str(script), proc.stderr.strip())]
    findings: list[Finding | SpecIssue] = []
    for result in json.loads(proc.stdout):
        if not result["ok"]:
            where, key, expr = targets[result["id"]]
            origin = (sources or {}).get(key)
            message = f"invalid LogQL ({result['error']}) in {expr!r}"
            findings.append(origin.issue(message) if origin else Finding(where, message))
    return findings


def spec_logql_issues(artifacts: Mapping[str, str], sources: Mapping[str, Origin]) -> list[SpecIssue]:
    """At generate time, before anything is written: the log signals' LogQL against Grafana's
    grammar, as errors at their `match`. ToolMissing when node or the grammar is not installed."""
    first: dict[tuple[str, int], SpecIssue] = {}  # a signal's record and alert share its match: one error
    for found in logql_check(artifacts.items(), sources):
        if isinstance(found, SpecIssue):
            first.setdefault((found.file, found.line), found)
    return list(first.values())


def validate_output(
    out: Path, sources: Mapping[str, Origin] | None = None, tools: list[Generation] | None = None
) -> list[Finding | SpecIssue]:
    """All checks over a written output folder, the tools' with every generation given (default:
    the tools on PATH); an empty list means everything passed."""
    if not any((out / RULES_DIR).glob("*.yml")):  # first what the user can fix without installing anything
        return [Finding(str(out / RULES_DIR), "no rule files; run `obsgen generate` first")]
    found = tools if tools is not None else generations()
    if not found:
        raise ToolMissing(TOOL_HINT.format(tool="promtool"))
    findings: list[Finding | SpecIssue] = [
        *check_expressions(out), *check_test_rules(out), *check_long_split(out), *check_dashboard_queries(out)
    ]
    for gen in found:
        findings += promtool_check_rules(out, gen) + promtool_check_packaged(out, gen) + promtool_test_rules(out, gen) + amtool_check(out, gen)
    findings += check_loki_shape(out) + logql_check(written(out, LOKI_RULES_DIR, DASHBOARDS_DIR), sources)
    return list(dict.fromkeys(findings))  # both generations often say the same
