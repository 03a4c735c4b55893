"""Checks generated artifacts with the real tools, and in-process where no tool is needed."""
from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from obsgen import promql
from obsgen.compile import ALERTMANAGER_CONFIG, ROUTE_TESTS, RULES_DIR, TESTS_DIR

TOOL_HINT = (
    "{tool} not found on PATH. On Debian or Ubuntu: `sudo apt-get install prometheus` "
    "(promtool) and `prometheus-alertmanager` (amtool); `make tools` does this for you."
)


@dataclass(frozen=True)
class Finding:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


def rule_expressions(text: str) -> list[tuple[str, str]]:
    """(rule name, expr) for every rule in a Prometheus rule file."""
    doc = yaml.safe_load(text) or {}
    return [
        (rule.get("record") or rule.get("alert") or "?", rule["expr"])
        for group in doc.get("groups", [])
        for rule in group.get("rules", [])
    ]


def check_expressions(out: Path) -> list[Finding]:
    """Every expression in every rule file parses (promql-parser, no tool needed)."""
    findings = []
    for path in sorted((out / RULES_DIR).glob("*.yml")):
        for name, expr in rule_expressions(path.read_text(encoding="utf-8")):
            try:
                promql.check(expr)
            except ValueError as exc:
                findings.append(Finding(str(path), f"{name}: {exc}"))
    return findings


def require_tool(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise FileNotFoundError(TOOL_HINT.format(tool=tool))
    return found


def promtool_check_rules(out: Path) -> list[Finding]:
    files = sorted((out / RULES_DIR).glob("*.yml"))
    if not files:
        return [Finding(str(out / RULES_DIR), "no rule files; run `obsgen generate` first")]
    promtool = require_tool("promtool")
    proc = subprocess.run([promtool, "check", "rules", *map(str, files)], capture_output=True, text=True)
    if proc.returncode == 0:
        return []
    return [Finding("promtool check rules", line) for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]


def promtool_test_rules(out: Path) -> list[Finding]:
    """Runs the generated unit tests, one promtool per file, as many at once as there are cores."""
    files = sorted((out / TESTS_DIR).glob("*.test.yml"))
    if not files:
        return []
    promtool = require_tool("promtool")

    def run(path: Path) -> list[Finding]:
        proc = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True)
        if proc.returncode == 0:
            return []
        text = (proc.stdout + proc.stderr).strip()
        return [Finding(str(path), "promtool test rules failed:\n" + text)]

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [f for found in pool.map(run, files) for f in found]


def amtool_check(out: Path) -> list[Finding]:
    """`amtool check-config`, then every routing case through `amtool config routes test`."""
    config = out / ALERTMANAGER_CONFIG
    if not config.exists():
        return []
    amtool = require_tool("amtool")
    proc = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    if proc.returncode != 0:
        return [Finding(str(config), "amtool check-config failed:\n" + (proc.stdout + proc.stderr).strip())]
    cases = (yaml.safe_load((out / ROUTE_TESTS).read_text(encoding="utf-8")) or {}).get("cases", [])

    def run(case: dict) -> list[Finding]:
        expected = ",".join(case["receivers"])
        args = [f"{k}={v}" for k, v in case["labels"].items()]
        proc = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={config}", f"--verify.receivers={expected}", *args],
            capture_output=True, text=True,
        )
        if proc.returncode == 0:
            return []
        got = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else proc.stderr.strip()
        return [Finding(str(out / ROUTE_TESTS), f"{case['name']}: expected {expected}, Alertmanager routes to {got}")]

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [f for found in pool.map(run, cases) for f in found]


def validate_output(out: Path) -> list[Finding]:
    """All checks over a written output folder; an empty list means everything passed."""
    return check_expressions(out) + promtool_check_rules(out) + promtool_test_rules(out) + amtool_check(out)
