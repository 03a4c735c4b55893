"""Alertmanager routing: the config amtool accepts, routes amtool proves, errors a user can make."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from obsgen.alertmanager import config as alertmanager
from obsgen.core import names
from obsgen.core import slo_math as burnrate
from obsgen.errors import SpecError
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.layout import ALERTMANAGER_CONFIG, ROUTE_TESTS
from obsgen.pipeline.tools import Generation, version_of
from obsgen.pipeline.validate import amtool_check
from obsgen.pipeline.writer import write_output
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT, generation_named, project_at


def _config() -> dict:
    return alertmanager.config(project_at(ROOT))


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("am")
    write_output(compile_project(project_at(ROOT)), folder)
    return folder


def test_amtool_accepts_the_config_and_every_route_case(out: Path, generation: Generation) -> None:
    findings = amtool_check(out, generation)
    assert not findings, "\n".join(map(str, findings))


def test_every_generated_alert_has_a_route_case_to_its_team(out: Path) -> None:
    cases = yaml.safe_load((out / ROUTE_TESTS).read_text())["cases"]
    by_labels = {tuple(sorted(c["labels"].items())): c["receivers"] for c in cases}
    alert_count = 0
    for path in sorted((out / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                alert_count += 1
                labels = {"alertname": rule["alert"], **rule["labels"]}
                team, severity = labels["team"], labels["severity"]
                expected = [f"{team}-critical"] if severity == "critical" else [f"{team}-warning"]
                if team == "platform" and severity == "critical":
                    expected.append("platform-escalation")
                assert by_labels[tuple(sorted(labels.items()))] == expected
    assert alert_count > 10


def test_team_severity_and_unowned_cases() -> None:
    cases = {c["name"]: c["receivers"] for c in alertmanager.route_tests(project_at(ROOT), [])["cases"]}
    assert cases["platform critical"] == ["platform-critical", "platform-escalation"]
    assert cases["ml-platform warning"] == ["ml-platform-warning"]
    assert cases["platform info"] == ["platform-warning"]
    assert cases["no team"] == cases["unknown team"] == ["default"]


def test_a_wrong_route_is_caught_by_amtool(out: Path, tmp_path: Path, generation: Generation) -> None:
    broken = tmp_path / "out"
    shutil.copytree(out, broken)
    config = broken / ALERTMANAGER_CONFIG
    # Send ml-platform's pages to platform: amtool must notice.
    config.write_text(config.read_text().replace("receiver: ml-platform-critical", "receiver: platform-critical"))
    findings = amtool_check(broken, generation)
    assert findings and all("ml-platform" in str(f) for f in findings)
    version = version_of(generation.need("amtool"))
    assert any(f"expected ml-platform-critical, Alertmanager {version} routes to platform-critical" in str(f) for f in findings)


def test_routing_tree_shape() -> None:
    route = _config()["route"]
    assert route["receiver"] == "default" and route["group_by"] == ["alertname", "service", "slo"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "4h")
    platform = next(r for r in route["routes"] if r["matchers"] == ['team="platform"'])
    assert platform["repeat_interval"] == "2h"
    critical, escalation, warning = platform["routes"]
    assert critical == {"receiver": "platform-critical", "matchers": ['severity="critical"'], "continue": True}
    assert escalation["receiver"] == "platform-escalation" and escalation["group_wait"] == "30m"
    assert warning["active_time_intervals"] == ["business-hours"]
    text = yaml.safe_dump(_config())
    assert not re.search(r"\bmatch(_re)?:", text), "deprecated match/match_re"


def test_no_secret_is_written_only_files() -> None:
    text = yaml.safe_dump(_config())
    for field in ("routing_key:", "api_key:", "api_url:", "auth_password:", "credentials:", "service_key:"):
        assert field not in text
    assert text.count("_file: /etc/alertmanager/secrets/") == 6


def test_inhibitions() -> None:
    rules = _config()["inhibit_rules"]
    assert rules[0] == {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["alertname", "service", "slo", "route"],  # pup-api's latency is per route
    }
    # The faster tier of each severity mutes the slower one, for the same service and SLO.
    tier_rules = [r for r in rules if any("long_window" in m for m in r["source_matchers"])]
    assert [(r["source_matchers"], r["target_matchers"], r["equal"]) for r in tier_rules] == [
        (
            [f'alertname="{names.ALERT_BURN}"', f'severity="{severity}"', f'long_window="{fast}"'],
            [f'alertname="{names.ALERT_BURN}"', f'severity="{severity}"', f'long_window="{slow}"'],
            ["service", "slo", "route"],
        )
        for severity, fast, slow in (("critical", "1h", "6h"), ("warning", "1d", "3d"))
    ]
    assert len(burnrate.DEFAULT_TIERS) == 4
    dependency = rules[-1]
    assert dependency == {
        "source_matchers": ['service="ai-provider"', 'severity="critical"'],
        "target_matchers": ['service="pup-workers"', 'slo=~"job-success"'],
    }


def test_a_composite_with_mute_parts_mutes_its_direct_parts_pages() -> None:
    rules = alertmanager.config(load_project(FIXTURES / "composite"))["inhibit_rules"]
    journey = ['service="journeys"', 'slo="buy"', 'severity="critical"']
    assert [r for r in rules if r["source_matchers"][0].startswith('service="journeys"')] == [
        {"source_matchers": journey, "target_matchers": ['service="journeys"', 'slo="checkout"', 'severity="critical"']},
        {"source_matchers": journey, "target_matchers": ['service="shop"', 'slo="latency"', 'severity="critical"']},
    ]


def test_inhibitions_follow_custom_tiers_and_groups() -> None:
    """Custom tiers: each SLO's faster tier mutes its slower one of the same severity only (a ticket
    never mutes a page); per-group SLOs: only within the same group."""
    project = load_project(FIXTURES / "slo-kinds")
    rules = alertmanager.config(project)["inhibit_rules"]
    assert rules[0]["equal"] == ["alertname", "service", "slo", "route"]
    tier_rules = [(r["source_matchers"][1:], r["target_matchers"][1:], r["equal"]) for r in rules if any("long_window" in m for m in r["source_matchers"])]
    # cart/latency pages on 30m/5m and 4h/20m; no other SLO has two tiers of one severity.
    assert tier_rules == [
        (['severity="critical"', 'long_window="30m"'], ['severity="critical"', 'long_window="4h"'], ["service", "slo", "route"]),
    ]


def test_without_routing_yaml_no_alertmanager_output() -> None:
    artifacts = compile_project(load_project(FIXTURES / "good"))
    assert not any(path.startswith("alertmanager/") for path in artifacts)


def _with_webhook_url_file(tmp_path: Path, alertmanager_version: str | None) -> Path:
    """The example, with the default receiver's webhook URL read from a file."""
    for part in ("slo", "alerts"):
        shutil.copytree(ROOT / part, tmp_path / part)
    routing = tmp_path / "alerts" / "routing.yaml"
    text = routing.read_text()
    hook = re.search(r"^  webhook: \{url: \S+\}$", text[text.index("\ndefault:"):], re.M)
    assert hook, "the example's default receiver is a webhook"
    routing.write_text(text.replace(hook[0], "  webhook: {url_file: /etc/alertmanager/secrets/default-hook}"))
    if alertmanager_version:
        (tmp_path / "obsgen.yaml").write_text(f'alertmanager_version: "{alertmanager_version}"\n')
    return tmp_path


def test_webhook_url_file_needs_the_setting_that_says_alertmanager_is_new_enough(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_project(_with_webhook_url_file(tmp_path, None))
    (issue,) = caught.value.issues
    assert issue.file.endswith("alerts/routing.yaml") and issue.field == "default.webhook.url_file"
    assert "Alertmanager 0.26 or later" in issue.message and "obsgen.yaml" in issue.message


@pytest.mark.tools
def test_webhook_url_file_loads_on_a_new_alertmanager_and_not_on_0_25(tmp_path: Path) -> None:
    """Why the setting exists: Debian's amtool 0.25 rejects `url_file`, the current one accepts it."""
    out = tmp_path / "out"
    write_output(compile_project(load_project(_with_webhook_url_file(tmp_path / "specs", "0.26"))), out)
    config = yaml.safe_load((out / ALERTMANAGER_CONFIG).read_text())
    (default,) = [r for r in config["receivers"] if r["name"] == "default"]
    assert default["webhook_configs"][0]["url_file"] == "/etc/alertmanager/secrets/default-hook"
    assert amtool_check(out, generation_named("current")) == []
    old = amtool_check(out, generation_named("debian"))
    assert old and "url_file" in str(old[0])


def test_mutual_mute_is_refused_naming_both_files(tmp_path: Path) -> None:
    """pup-api mutes availability while ai-provider pages, and ai-provider mutes success while pup-api
    pages: in Alertmanager both pages inhibit each other and nobody is paged."""
    for part in ("slo", "alerts"):
        shutil.copytree(ROOT / part, tmp_path / part)
    api, provider = tmp_path / "slo" / "pup-api.yaml", tmp_path / "slo" / "ai-provider.yaml"
    api.write_text(api.read_text().replace("  - service: ai-provider ", "  - service: ai-provider\n    mute: [availability]\n   "))
    provider.write_text(provider.read_text().replace("slos:", "depends_on:\n  - service: pup-api\n    mute: [success]\nslos:", 1))
    with pytest.raises(SpecError) as caught:
        load_project(tmp_path)
    (issue,) = caught.value.issues
    assert issue.file.endswith("slo/ai-provider.yaml") and issue.field == "depends_on[0].mute"
    assert "slo/pup-api.yaml:" in issue.message and "silence both" in issue.message


def test_an_unknown_time_zone_is_an_error_naming_its_line(tmp_path: Path) -> None:
    for part in ("slo", "alerts"):
        shutil.copytree(ROOT / part, tmp_path / part)
    routing = tmp_path / "alerts" / "routing.yaml"
    routing.write_text(routing.read_text().replace("location: Europe/Berlin", "location: Europe/Berlni"))
    with pytest.raises(SpecError) as caught:
        load_project(tmp_path)
    (issue,) = caught.value.issues
    assert issue.file.endswith("alerts/routing.yaml") and issue.line == 12
    assert issue.field == "time_intervals.business-hours[0].location" and "Europe/Berlin" in issue.message
