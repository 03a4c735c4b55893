"""Where obsgen writes, relative to the output folder. Other tools and checks rely on these paths."""
from __future__ import annotations

RULES_DIR = "prometheus/rules"  # <service>.yml
TESTS_DIR = "prometheus/tests"  # <service>.test.yml
LOKI_RULES_DIR = "loki/rules"  # <tenant>/<service>.yml
REPORT = "SLO_REPORT.md"
REPORT_CHARTS_DIR = "report"  # <service>.<slo>.svg: detection time against error ratio, shown in SLO_REPORT.md
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


def test_file(service: str) -> str:
    return f"{TESTS_DIR}/{service}.test.yml"


def native_test_file(service: str) -> str:
    """Tests of SLOs on native histograms: promtool 3 notation, so Prometheus 2's promtool skips them."""
    return f"{TESTS_DIR}/{service}{NATIVE_TESTS}"


def ops_test_file(service: str) -> str:
    return f"{TESTS_DIR}/{service}.ops.test.yml"


def rule_file_from_tests(service: str) -> str:
    """The rule file as a test file names it: promtool resolves rule_files relative to the test file."""
    return f"../rules/{service}.yml"


def detection_chart(service: str, slo: str) -> str:
    return f"{REPORT_CHARTS_DIR}/{service}.{slo}.svg"


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
