"""Every generated dashboard: modern panels, stable uids, clean layout, units, valid PromQL on variables."""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
import yaml

from obsgen.core import names, promql
from obsgen.core import slo_math as burnrate
from obsgen.grafana import dashboards
from obsgen.grafana.panels import LOKI, MODERN_PANELS, PROMETHEUS, SCHEMA_VERSION
from obsgen.pipeline.layout import PROVISIONING
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT, artifacts_at

ORIGINS = {"example": ROOT, "fixture": FIXTURES / "good"}


def _boards(origin: str) -> dict[str, dict[str, Any]]:
    """The dashboards generated from one spec folder, by path."""
    return {
        path: json.loads(text) for path, text in artifacts_at(ORIGINS[origin]).items() if path.startswith("grafana/dashboards/")
    }
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for top in board["panels"] for p in [top, *top.get("panels", [])]]


def test_the_expected_dashboards_exist() -> None:
    assert sorted(_boards("example")) == [
        "grafana/dashboards/pup-ai/pup-business.json",
        "grafana/dashboards/pup-ai/service-ai-provider.json",
        "grafana/dashboards/pup-ai/service-pup-api.json",
        "grafana/dashboards/pup-ai/service-pup-journeys.json",
        "grafana/dashboards/pup-ai/service-pup-workers.json",
        "grafana/dashboards/slo/slo-ml-platform.json",
        "grafana/dashboards/slo/slo-platform.json",
    ]
    assert "grafana/dashboards/payments/service-checkout.json" in _boards("fixture")  # folder defaults to the team


@pytest.mark.parametrize("origin", sorted(ORIGINS))
def test_schema_uid_and_panel_types(origin: str) -> None:
    for name, board in _boards(origin).items():
        assert board["schemaVersion"] >= SCHEMA_VERSION >= 39, name
        assert re.fullmatch(r"[a-z0-9-]{1,40}", board["uid"]), name
        assert name.endswith(f"/{board['uid']}.json")
        assert "id" not in board and "version" not in board, name
        types = {p["type"] for p in _panels(board)}
        assert types <= MODERN_PANELS and not types & {"graph", "singlestat"}, name


@pytest.mark.parametrize("origin", sorted(ORIGINS))
def test_panel_ids_unique_and_grid_without_overlaps(origin: str) -> None:
    for name, board in _boards(origin).items():
        placed = _panels(board)
        ids = [p["id"] for p in placed]
        assert len(ids) == len(set(ids)), name
        cells: set[tuple[int, int]] = set()
        for panel in placed:
            pos = panel["gridPos"]
            assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, (name, panel["title"])
            mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not cells & mine, f"{name}: {panel['title']} overlaps another panel"
            cells |= mine


@pytest.mark.parametrize("origin", sorted(ORIGINS))
def test_units_are_set(origin: str) -> None:
    for name, board in _boards(origin).items():
        for panel in _panels(board):
            if panel["type"] in {"timeseries", "stat", "gauge", "bargauge"}:
                assert panel["fieldConfig"]["defaults"].get("unit"), (name, panel["title"])


@pytest.mark.parametrize("origin", sorted(ORIGINS))
def test_targets_use_datasource_variables_and_parse(origin: str) -> None:
    for name, board in _boards(origin).items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        assert variables["loki"]["type"] == "datasource" and variables["loki"]["query"] == "loki"
        assert variables["env"]["type"] == "query" and variables["env"]["includeAll"]
        for panel in _panels(board):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] in (PROMETHEUS, LOKI), (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"], (name, panel["title"])
                if target["datasource"] == PROMETHEUS:
                    expr = target["expr"]
                    for variable, value in GRAFANA_VARIABLES.items():
                        expr = expr.replace(variable, value)
                    promql.check(expr)


def test_service_dashboard_panels_and_links() -> None:
    board = _boards("example")["grafana/dashboards/pup-ai/service-pup-api.json"]
    titles = [p["title"] for p in _panels(board)]
    for title in ("Request rate", "Error ratio (5m)", "availability: error ratio by route", "latency: latency percentiles",
                  "latency: latency distribution", "latency: p99 by route", "CPU", "Memory", "ai-provider: error ratio (5m)",
                  "availability: SLI over 30d", "availability: error budget left", "pup-api: firing alerts"):
        assert title in titles
    percentiles = next(p for p in _panels(board) if p["title"] == "latency: latency percentiles")
    assert [t["legendFormat"] for t in percentiles["targets"]] == ["p50", "p95", "p99"]
    assert all(t["expr"].startswith(f"histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket{{")
               for t, q in zip(percentiles["targets"], ("0.5", "0.95", "0.99")))
    assert 'env=~"$env"' in percentiles["targets"][0]["expr"]
    links = {link["title"]: link["url"] for link in board["links"]}
    assert links["Runbook"] == "https://runbooks.pup.ai/services/pup-api"
    assert links["SLO overview: platform"] == "https://grafana.pup.ai/d/slo-platform/slo-overview-platform"


def test_alert_dashboard_url_is_the_service_dashboard() -> None:
    rules = yaml.safe_load(artifacts_at(ROOT)["prometheus/rules/pup-api.yml"])
    urls = {r["annotations"]["dashboard_url"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert urls == {"https://grafana.pup.ai" + names.dashboard_path("service-pup-api", "pup-api: service overview")}
    assert urls == {dashboards.service_url("pup-api", "https://grafana.pup.ai")}
    overview = _boards("example")["grafana/dashboards/slo/slo-platform.json"]
    assert dashboards.service_url("pup-api", "https://grafana.pup.ai") in {link["url"] for link in overview["links"]}


def test_overview_draws_every_tier_on_the_burn_rate_panel() -> None:
    overview = _boards("example")["grafana/dashboards/slo/slo-platform.json"]
    rows = [p["title"] for p in overview["panels"] if p["type"] == "row"]
    assert rows == ["pup-api", "pup-journeys", "pup-workers"]
    assert not any(p.get("collapsed") for p in overview["panels"] if p["type"] == "row")
    burn = next(p for p in _panels(overview) if p["title"] == "availability: burn rate")
    steps = [s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None] + sorted(float(t.burn_rate(30 * burnrate.DAY)) for t in burnrate.DEFAULT_TIERS)
    assert burn["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"
    assert [t["legendFormat"] for t in burn["targets"]] == ["1h", "6h", "1d", "3d"]


def test_uids_are_stable_and_short() -> None:
    assert names.dashboard_uid("service", "pup-api") == "service-pup-api"
    long = names.dashboard_uid("service", "a-very-long-service-name-that-goes-on-and-on")
    assert len(long) == 40 and long == names.dashboard_uid("service", "a-very-long-service-name-that-goes-on-and-on")
    assert long != names.dashboard_uid("service", "a-very-long-service-name-that-goes-on-and-on-2")


def test_provisioning_file() -> None:
    provisioning = yaml.safe_load(artifacts_at(ROOT)[PROVISIONING])
    assert provisioning["apiVersion"] == 1
    (provider,) = provisioning["providers"]
    assert provider["type"] == "file" and provider["folder"] == ""
    assert provider["options"]["foldersFromFilesStructure"] is True


def test_large_team_overviews_start_collapsed() -> None:
    service = load_project(FIXTURES / "good").services[0]
    many = [dataclasses.replace(service, name=f"svc-{i}") for i in range(dashboards.COLLAPSE_FROM + 1)]
    board = json.loads(dashboards.overview_dashboard("payments", many))
    rows = [p for p in board["panels"] if p["type"] == "row"]
    assert len(rows) == len(board["panels"]) == len(many)
    assert all(r["collapsed"] and r["panels"] for r in rows)
    assert [r["gridPos"]["y"] for r in rows] == list(range(len(many)))


def test_traces_provisioning_links_exemplars_and_log_lines_without_secrets() -> None:
    artifacts = artifacts_at(ROOT)
    provisioning = yaml.safe_load(artifacts["grafana/provisioning/datasources.yml"])
    by_uid = {d["uid"]: d for d in provisioning["datasources"]}
    assert by_uid["prometheus"]["jsonData"]["exemplarTraceIdDestinations"] == [{"name": "trace_id", "datasourceUid": "tempo"}]
    (field,) = by_uid["loki"]["jsonData"]["derivedFields"]
    assert field["datasourceUid"] == "tempo" and field["url"] == "$${__value.raw}"  # Grafana expands ${...} in provisioning
    assert re.search(field["matcherRegex"], 'msg="chat done" trace_id=4bf92f3577b34da6').group(1) == "4bf92f3577b34da6"  # type: ignore[union-attr]
    assert re.search(field["matcherRegex"], '{"traceId": "a1b2c3"}').group(1) == "a1b2c3"  # type: ignore[union-attr]
    assert by_uid["tempo"] == {"name": "tempo", "uid": "tempo", "type": "tempo", "access": "proxy", "url": "http://tempo.monitoring.svc:3200"}
    text = artifacts["grafana/provisioning/datasources.yml"].lower()
    assert not any(word in text for word in ("password", "securejsondata", "basicauth", "token", "secret"))
    assert "grafana/provisioning/datasources.yml" not in artifacts_at(FIXTURES / "good")  # only with `traces`


def test_latency_panels_ask_for_exemplars_when_traces_are_set() -> None:
    def exemplar_flags(root: Any) -> dict[str, set[bool]]:
        board = json.loads(artifacts_at(root)["grafana/dashboards/pup-ai/service-pup-api.json" if root == ROOT else next(
            p for p in artifacts_at(root) if p.endswith("service-checkout.json"))])
        found: dict[str, set[bool]] = {}
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.setdefault(panel["title"], set()).add(bool(target.get("exemplar")))
        return found

    flags = exemplar_flags(ROOT)
    assert flags["latency: latency percentiles"] == {True}
    assert all(v == {False} for title, v in flags.items() if "percentiles" not in title)
    assert all(v == {False} for v in exemplar_flags(FIXTURES / "good").values())  # no trace datasource, no exemplars


def test_a_scaled_queue_shows_its_replicas_beside_it() -> None:
    board = json.loads(artifacts_at(ROOT)["grafana/dashboards/pup-ai/service-pup-workers.json"])
    titles = [p["title"] for p in board["panels"]]
    at = titles.index("jobs: pup-workers replicas")
    assert titles[at - 1].startswith("jobs: ") and "emails: pup-workers replicas" not in titles  # only the queue that scales
    panel = board["panels"][at]
    assert panel["targets"][0]["expr"] == 'sum(kube_deployment_status_replicas_available{namespace="pup", deployment="pup-workers", env=~"$env"})'
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "red", "value": 20}  # max replicas


def test_a_journey_dashboard_shows_each_part_beside_the_composite() -> None:
    board = _boards("example")["grafana/dashboards/pup-ai/service-pup-journeys.json"]
    (panel,) = [p for p in _panels(board) if p.get("title") == "chat: parts' error ratio (5m)"]
    exprs = [(t["expr"], t["legendFormat"]) for t in panel["targets"]]
    assert exprs == [
        ('slo:sli_error:ratio_rate5m{service="pup-journeys", slo="chat"}', "chat (composite)"),
        ('slo:sli_error:ratio_rate5m{service="pup-api", slo="availability"}', "pup-api/availability"),
        ('slo:sli_error:ratio_rate5m{service="pup-workers", slo="job-success"}', "pup-workers/job-success x2"),
    ]
    # Its request rate is the composite's recorded events; the parts' dashboards are a click away.
    rates = next(p for p in _panels(board) if p.get("title") == "Request rate")
    assert rates["targets"][0]["expr"] == 'sum(slo:sli_total:rate5m{service="pup-journeys", slo="chat"})'
    assert {link["title"] for link in board["links"]} >= {"pup-api dashboard", "pup-workers dashboard"}
