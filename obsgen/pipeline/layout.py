"""Where obsgen writes, relative to the output folder. Other tools and checks rely on these paths."""
from __future__ import annotations

import posixpath

RULES_DIR = "prometheus/rules"  # <service>.yml
LONG_RULES_DIR = "prometheus/long-rules"  # <service>.yml: the period groups, with `long_rules: separate`
TESTS_DIR = "prometheus/tests"  # <service>.<slo>.slo.test.yml, .period.test.yml, .native.test.yml, <service>.ops.test.yml
TEST_RULES_DIR = "prometheus/tests/rules"  # <service>.<slo>.slo.yml, .period.yml, <service>.ops.yml: copies of deployed groups
LOKI_RULES_DIR = "loki/rules"  # <tenant>/<service>.yml
REPORT = "SLO_REPORT.md"
REPORT_CHARTS_DIR = "report"  # detection-<objective>-<period>[-<tiers>].svg: detection time against error ratio
ALERTMANAGER_CONFIG = "alertmanager/alertmanager.yml"
ROUTE_TESTS = "alertmanager/route-tests.yml"
DASHBOARDS_DIR = "grafana/dashboards"  # <folder>/<uid>.json
PROVISIONING = "grafana/provisioning/dashboards.yml"
DATASOURCES = "grafana/provisioning/datasources.yml"  # with `traces` in obsgen.yaml: exemplar and trace-ID links
PROMETHEUS_RULES_DIR = "kubernetes/prometheusrules"  # <service>.yaml (output prometheus-operator)
ALERTMANAGER_SECRET = "kubernetes/alertmanager-secret.yaml"
SCALING_DIR = "kubernetes/scaling"  # <service>-<queue>.keda.yaml, .hpa.yaml; prometheus-adapter-rules.yaml
THANOS_RULES_DIR = "thanos/rules"  # <service>.yml (output thanos)
NATIVE_TESTS = ".native.test.yml"
MANIFEST = "obsgen.json"  # {"project": ...}: who owns what push writes


def rule_file(service: str) -> str:
    return f"{RULES_DIR}/{service}.yml"


def long_rule_file(service: str) -> str:
    return f"{LONG_RULES_DIR}/{service}.yml"


# Names hold no dots, so `<service>.<slo>.<kind>` cannot be mistaken for `<service>.ops`.
def test_file(service: str, slo: str, native: bool = False) -> str:
    """One SLO's tests; those on native histograms use promtool 3 notation, so Prometheus 2's skips them."""
    return f"{TESTS_DIR}/{service}.{slo}" + (NATIVE_TESTS if native else ".slo.test.yml")


def period_test_file(service: str, slo: str) -> str:
    """The proof of one SLO's period group, apart: its long windows cost most of an SLO's evaluation."""
    return f"{TESTS_DIR}/{service}.{slo}.period.test.yml"


def ops_test_file(service: str) -> str:
    return f"{TESTS_DIR}/{service}.ops.test.yml"


def test_rules(service: str, slo: str | None = None, kind: str = "slo") -> str:
    """A copy of the groups a test file proves, for a service whose rule file holds more: one SLO's
    paging group (`slo`) or period group (`period`), or (no SLO) the operational groups. promtool
    evaluates every rule a test loads at every step, so each test loads only its own; validate checks
    copy and original agree."""
    return f"{TEST_RULES_DIR}/{service}.{slo}.{kind}.yml" if slo else f"{TEST_RULES_DIR}/{service}.ops.yml"


def from_tests(path: str) -> str:
    """A path as a test file names it: promtool resolves rule_files relative to the test file."""
    return posixpath.relpath(path, TESTS_DIR)


def detection_chart(stem: str) -> str:
    return f"{REPORT_CHARTS_DIR}/detection-{stem}.svg"


def loki_rule_file(tenant: str, service: str) -> str:
    return f"{LOKI_RULES_DIR}/{tenant}/{service}.yml"


def dashboard_file(folder: str, uid: str) -> str:
    return f"{DASHBOARDS_DIR}/{folder}/{uid}.json"


def prometheus_rule_file(service: str) -> str:
    return f"{PROMETHEUS_RULES_DIR}/{service}.yaml"


def scaling_file(service: str, queue: str, kind: str) -> str:
    return f"{SCALING_DIR}/{service}-{queue}.{kind}.yaml"


ADAPTER_RULES = f"{SCALING_DIR}/prometheus-adapter-rules.yaml"


def thanos_rule_file(service: str) -> str:
    return f"{THANOS_RULES_DIR}/{service}.yml"
