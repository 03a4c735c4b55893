"""The outputs for clusters: PrometheusRule manifests (held to the CRD's schema), the Alertmanager
Secret that references its secrets, Thanos Ruler files; and validate checks each with promtool."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from obsgen.pipeline.tools import Generation
from obsgen.pipeline.validate import promtool_check_packaged
from obsgen.pipeline.writer import write_output
from tests.conftest import FIXTURES, ROOT, artifacts_at

SCHEMA = json.loads((FIXTURES / "schemas" / "prometheusrule.json").read_text())


def _docs(prefix: str) -> dict[str, dict]:
    return {p: yaml.safe_load(t) for p, t in artifacts_at(ROOT).items() if p.startswith(prefix)}


def test_prometheus_rules_follow_the_crd_and_hold_the_plain_groups() -> None:
    rules = _docs("kubernetes/prometheusrules/")
    assert set(rules) == {f"kubernetes/prometheusrules/{s}.yaml" for s in ("ai-provider", "pup-api", "pup-journeys", "pup-workers")}
    for path, doc in rules.items():
        jsonschema.validate(doc, SCHEMA)
        service = Path(path).stem
        plain = yaml.safe_load(artifacts_at(ROOT)[f"prometheus/rules/{service}.yml"])
        assert doc["spec"]["groups"] == plain["groups"]
        assert doc["metadata"] == {
            "name": f"pup-ai-{service}", "namespace": "monitoring",
            "labels": {"release": "kube-prometheus-stack", "app.kubernetes.io/managed-by": "obsgen", "obsgen.dev/service": service},
        }


def test_the_schema_catches_a_field_the_api_server_would_drop() -> None:
    doc = _docs("kubernetes/prometheusrules/")["kubernetes/prometheusrules/pup-api.yaml"]
    doc["spec"]["groups"][0]["rules"][0]["expresion"] = "up"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_alertmanager_secret_references_its_secrets_and_embeds_none() -> None:
    secret = yaml.safe_load(artifacts_at(ROOT)["kubernetes/alertmanager-secret.yaml"])
    config_text = secret["stringData"]["alertmanager.yaml"]
    assert yaml.safe_load(config_text) == yaml.safe_load(artifacts_at(ROOT)["alertmanager/alertmanager.yml"])
    files = secret["metadata"]["annotations"]["obsgen.dev/secret-files"].split(",")
    assert "/etc/alertmanager/secrets/platform-pagerduty" in files and all(f.startswith("/etc/alertmanager/secrets/") for f in files)
    for key in ("routing_key:", "api_key:", "api_url:", "auth_password:", "service_key:"):
        assert f" {key} " not in config_text, key  # every secret is a *_file


def test_thanos_groups_abort_on_partial_answers() -> None:
    for path, doc in _docs("thanos/rules/").items():
        plain = yaml.safe_load(artifacts_at(ROOT)[path.replace("thanos/rules/", "prometheus/rules/")])
        assert [{k: v for k, v in g.items() if k != "partial_response_strategy"} for g in doc["groups"]] == plain["groups"]
        assert {g["partial_response_strategy"] for g in doc["groups"]} == {"abort"}


def test_validate_checks_the_packaged_rules_with_promtool(tmp_path: Path, generation: Generation) -> None:
    write_output(artifacts_at(ROOT), tmp_path / "out")
    assert promtool_check_packaged(tmp_path / "out", generation) == []
    manifest = tmp_path / "out" / "kubernetes" / "prometheusrules" / "pup-api.yaml"
    manifest.write_text(manifest.read_text().replace("expr: ", "expr: sum(", 1))
    findings = promtool_check_packaged(tmp_path / "out", generation)
    assert [f.file for f in findings] == [str(manifest)] and "promtool check rules" in findings[0].message


def test_queue_scaling_follows_the_schemas_and_reads_what_the_alerts_read() -> None:
    """pup-workers' jobs queue: a KEDA ScaledObject and an HPA, valid against their schemas, both from
    the depth the queue alerts read, summed; prometheus-adapter serves that same query."""
    artifacts = artifacts_at(ROOT)
    keda = yaml.safe_load(artifacts["kubernetes/scaling/pup-workers-jobs.keda.yaml"])
    hpa = yaml.safe_load(artifacts["kubernetes/scaling/pup-workers-jobs.hpa.yaml"])
    jsonschema.validate(keda, json.loads((FIXTURES / "schemas" / "scaledobject.json").read_text()))
    jsonschema.validate(hpa, json.loads((FIXTURES / "schemas" / "hpa.json").read_text()))
    (trigger,) = keda["spec"]["triggers"]
    assert trigger["metadata"]["query"] == 'sum(pup_queue_depth{queue="jobs"})' and trigger["metadata"]["threshold"] == "200"
    assert (keda["spec"]["minReplicaCount"], keda["spec"]["maxReplicaCount"]) == (2, 20)
    assert keda["metadata"]["namespace"] == "pup" and keda["spec"]["scaleTargetRef"] == {"name": "pup-workers"}
    metric = hpa["spec"]["metrics"][0]["external"]
    (rule,) = yaml.safe_load(artifacts["kubernetes/scaling/prometheus-adapter-rules.yaml"])["externalRules"]
    assert rule["name"]["as"] == metric["metric"]["name"] and rule["metricsQuery"] == trigger["metadata"]["query"]
    assert metric["target"] == {"type": "AverageValue", "averageValue": "200"}
    # The alert that says scaling cannot catch up reads the same depth, and max as the scaler's.
    rules = yaml.safe_load(artifacts["prometheus/rules/pup-workers.yml"])["groups"]
    (alert,) = [r for g in rules for r in g["rules"] if r.get("alert") == "QueueCannotCatchUp"]
    assert trigger["metadata"]["query"] in alert["expr"] and ">= 20" in alert["expr"]
    # The schema test can fail: a misspelt field is refused.
    broken = {**keda, "spec": {**keda["spec"], "maxReplica": 20}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads((FIXTURES / "schemas" / "scaledobject.json").read_text()))
    assert not any(path.startswith("kubernetes/scaling/") for path in artifacts_at(FIXTURES / "good"))
