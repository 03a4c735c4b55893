"""obsgen plan/push --rules against a real Cortex ruler (`make tools` builds it), one process on
loopback, multi-tenant through X-Scope-OrgID; checked through Cortex's own APIs."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from demo.stack import CURRENT_TOOLS, free_port, wait_ready
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.layout import RULES_DIR
from obsgen.pipeline.writer import write_output
from obsgen.remote.http import Endpoint
from obsgen.remote.ruler import CORTEX_PREFIX, Ruler, local_groups
from obsgen.spec.load import load_project
from tests.conftest import ROOT
from tests.remote.test_ruler import _cli

pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("cortex")]
CORTEX = CURRENT_TOOLS / "cortex"
TENANT = "pup"


class Cortex:
    def __init__(self, folder: Path, *extra: str) -> None:
        if not CORTEX.exists():
            pytest.fail("cortex missing: run `make tools` (built from tools/go/cortex)")
        self.port, grpc = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        dirs = {name: folder / name for name in ("rules", "rules-tmp", "tsdb", "blocks", "sync", "alertmanager", "compactor")}
        for path in dirs.values():
            path.mkdir(parents=True)
        args = [
            str(CORTEX), "-target=all", "-auth.enabled=true", f"-server.http-listen-port={self.port}",
            "-server.http-listen-address=127.0.0.1", f"-server.grpc-listen-port={grpc}", "-server.grpc-listen-address=127.0.0.1",
            "-ruler.enable-api=true", f"-ruler.rule-path={dirs['rules-tmp']}", "-ruler-storage.backend=filesystem",
            f"-ruler-storage.filesystem.dir={dirs['rules']}", "-ruler.poll-interval=1s", "-ruler.evaluation-interval=5s",
            "-blocks-storage.backend=filesystem", f"-blocks-storage.filesystem.dir={dirs['blocks']}",
            f"-blocks-storage.tsdb.dir={dirs['tsdb']}", f"-blocks-storage.bucket-store.sync-dir={dirs['sync']}",
            f"-compactor.data-dir={dirs['compactor']}",
            "-alertmanager-storage.backend=local", f"-alertmanager-storage.local.path={dirs['alertmanager']}",
            "-alertmanager.cluster.listen-address=",  # no gossip port (0.0.0.0:9094 by default, one per machine)
            f"-alertmanager.web.external-url=http://127.0.0.1:{self.port}/alertmanager",
            "-distributor.replication-factor=1", "-distributor.ring.store=inmemory", "-ring.store=inmemory",
            "-ruler.ring.store=inmemory", "-compactor.ring.store=inmemory", "-store-gateway.sharding-ring.store=inmemory",
            "-alertmanager.sharding-ring.store=inmemory", "-ingester.min-ready-duration=0s",
            # Every ring advertises loopback, where the gRPC server listens (else the machine's address).
            *(f"-{ring}=127.0.0.1" for ring in (
                "ingester.lifecycler.addr", "distributor.ring.instance-addr", "ruler.ring.instance-addr",
                "compactor.ring.instance-addr", "store-gateway.sharding-ring.instance-addr",
                "alertmanager.sharding-ring.instance-addr", "frontend.instance-addr", "querier.instance-addr")),
            *extra,
        ]
        self.log = (folder / "cortex.log").open("w")
        # In its own folder: Cortex writes an active-query-tracker/ into its working directory.
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, cwd=folder)
        try:
            wait_ready(f"{self.url}/ready", "Cortex", timeout=90, proc=self.proc)
        except RuntimeError:
            self.stop()
            raise

    def loaded(self, tenant: str = TENANT) -> dict[str, list[dict]]:
        """namespace (Cortex's `file`) -> groups with their health, from its Prometheus-compatible API."""
        body = requests.get(f"{self.url}/prometheus/api/v1/rules", headers={"X-Scope-OrgID": tenant}, timeout=10).json()
        found: dict[str, list[dict]] = {}
        for group in body["data"]["groups"]:
            found.setdefault(group["file"], []).append(group)
        return found

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a graceful stop waits on its rings for half a minute
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def cortex(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cortex]:
    found = Cortex(tmp_path_factory.mktemp("cortex"))
    yield found
    found.stop()


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("out") / "out"
    write_output(compile_project(load_project(ROOT)), folder)
    return folder


def _env(cortex: Cortex) -> dict[str, str]:
    return {"CORTEX_URL": cortex.url, "CORTEX_TENANT": TENANT}


def test_push_creates_every_group_then_changes_nothing(cortex: Cortex, out: Path) -> None:
    wanted = local_groups(out / RULES_DIR)
    groups = sum(len(g) for g in wanted.values())
    planned = _cli("plan", "--rules", "--out", str(out), env=_env(cortex))
    assert planned.returncode == 3 and planned.stdout.count("+ create") == groups, planned.stdout + planned.stderr
    pushed = _cli("push", "--rules", "--out", str(out), env=_env(cortex))
    assert pushed.returncode == 0, pushed.stderr
    ruler = Ruler(Endpoint(cortex.url, ""), TENANT, CORTEX_PREFIX, "Cortex ruler")
    stored = ruler.namespaces()
    assert {n: sorted(g["name"] for g in gs) for n, gs in stored.items()} == {
        f"pup-ai.{s}": sorted(g["name"] for g in gs) for s, gs in wanted.items()}
    again = _cli("push", "--rules", "--out", str(out), env=_env(cortex))
    assert again.returncode == 0 and "0 rule groups written" in again.stdout, again.stdout + again.stderr
    assert _cli("plan", "--rules", "--out", str(out), env=_env(cortex)).returncode == 0
    # The ruler loads and evaluates them, as Cortex itself reports: every rule of the every-minute
    # groups healthy, and none of the 2-minute period groups in error (they may not have run yet).
    def unhealthy(seen: list[dict]) -> list[tuple[str, str, str]]:
        return [(g["name"], r.get("name", ""), r.get("lastError", "")) for g in seen for r in g["rules"]
                if r.get("health") == "err" or (r.get("health") != "ok" and not g["name"].endswith(":period"))]

    deadline = time.monotonic() + 75
    while time.monotonic() < deadline:
        groups_seen = [g for gs in cortex.loaded().values() for g in gs]
        if len(groups_seen) == groups and not unhealthy(groups_seen):
            break
        time.sleep(1)
    assert len(groups_seen) == groups and not unhealthy(groups_seen), unhealthy(groups_seen)


def test_an_edit_changes_exactly_its_groups_and_prune_spares_others(cortex: Cortex, out: Path, tmp_path: Path) -> None:
    assert _cli("push", "--rules", "--out", str(out), env=_env(cortex)).returncode == 0
    ruler = Ruler(Endpoint(cortex.url, ""), TENANT, CORTEX_PREFIX, "Cortex ruler")
    foreign = {"name": "slo:invoices:availability", "rules": [{"record": "a:b:c", "expr": "up"}]}
    ruler.set_group("billing.invoices", foreign)  # another project's
    ruler.set_group("invoices", foreign)  # a bare namespace, as older versions wrote
    ruler.set_group("pup-ai.pup-api", {"name": "team-own-rules", "rules": [{"record": "x:y:z", "expr": "up"}]})  # hand-made
    ruler.set_group("pup-ai.retired", {"name": "slo:retired:availability", "rules": [{"record": "a:b:c", "expr": "up"}]})
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "slo", specs / "slo")
    shutil.copytree(ROOT / "alerts", specs / "alerts")
    shutil.copy(ROOT / "obsgen.yaml", specs / "obsgen.yaml")
    spec = specs / "slo" / "pup-api.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9 ", "objective: 99.5 ", 1))  # availability, the first SLO
    edited = tmp_path / "out"
    write_output(compile_project(load_project(specs)), edited)
    planned = _cli("plan", "--rules", "--prune", "--out", str(edited), env=_env(cortex))
    assert planned.returncode == 3, planned.stdout + planned.stderr
    changes = [line.split() for line in planned.stdout.splitlines() if re.match(r"^[~+-] (update|create|delete) ", line)]
    assert [(c[1], c[-1]) for c in changes] == [("update", "pup-ai.pup-api/slo:pup-api:availability"),
                                                ("update", "pup-ai.pup-api/slo:pup-api:availability:period"),
                                                ("delete", "pup-ai.retired/slo:retired:availability")], planned.stdout
    pushed = _cli("push", "--rules", "--prune", "--out", str(edited), env=_env(cortex))
    assert pushed.returncode == 0, pushed.stderr
    stored = ruler.namespaces()
    assert "pup-ai.retired" not in stored and stored["billing.invoices"] and stored["invoices"]
    assert "team-own-rules" in [g["name"] for g in stored["pup-ai.pup-api"]]
    availability = next(g for g in stored["pup-ai.pup-api"] if g["name"] == "slo:pup-api:availability")
    assert "> 0.072" in yaml.safe_dump(availability)  # 14.4 x the 0.5% budget


def test_a_group_the_ruler_rejects_is_named_and_the_rest_still_land(cortex: Cortex, out: Path, tmp_path: Path) -> None:
    broken = tmp_path / "out"
    shutil.copytree(out, broken)
    for path in (broken / RULES_DIR).glob("*.yml"):
        if path.stem != "ai-provider":
            path.unlink()
    rules = broken / RULES_DIR / "ai-provider.yml"
    doc = yaml.safe_load(rules.read_text())
    doc["groups"][0]["rules"][0]["expr"] = "sum(rate(x[5m])"  # unbalanced: Cortex refuses the group
    rules.write_text(yaml.safe_dump(doc, sort_keys=False))
    env = {"CORTEX_URL": cortex.url, "CORTEX_TENANT": "other-tenant"}
    pushed = _cli("push", "--rules", "--out", str(broken), env=env)
    assert pushed.returncode == 1 and "Traceback" not in pushed.stderr
    assert doc["groups"][0]["name"] in pushed.stdout + pushed.stderr and "400" in pushed.stdout + pushed.stderr
    stored = Ruler(Endpoint(cortex.url, ""), "other-tenant", CORTEX_PREFIX, "Cortex ruler").namespaces()
    assert sorted(g["name"] for g in stored["pup-ai.ai-provider"]) == sorted(g["name"] for g in doc["groups"][1:])


def test_an_outage_pages_through_the_cortex_ruler(tmp_path: Path) -> None:
    """Prometheus scrapes the demo service and remote-writes to Cortex (tenant pup), which runs the
    pushed rules (at the demo's speed) and notifies an Alertmanager: the SLO page arrives."""
    from demo.stack import Stack, compress_rules
    from tests.conftest import generation_named

    project = load_project(ROOT)
    out = tmp_path / "out"
    write_output(compile_project(project), out)
    for path in (out / RULES_DIR).glob("*.yml"):  # 60 times faster, as the demo runs
        path.write_text(yaml.safe_dump(compress_rules(yaml.safe_load(path.read_text())), sort_keys=False))
    stack = Stack(project, out, tmp_path / "stack", generation_named("current"))
    (tmp_path / "stack").mkdir()
    cortex = Cortex(tmp_path / "cortex", f"-ruler.alertmanager-url={stack.am_url}", "-ruler.notification-timeout=5s")
    try:
        stack.remote_write = {"url": f"{cortex.url}/api/v1/push", "headers": {"X-Scope-OrgID": TENANT}}
        stack.start()
        pushed = _cli("push", "--rules", "--out", str(out), env=_env(cortex))
        assert pushed.returncode == 0, pushed.stderr
        assert stack.rule_groups() == []  # Prometheus runs nothing: the page below is Cortex's
        time.sleep(5)
        stack.fault(service="pup-api", error_ratio=1)
        deadline, paged = time.monotonic() + 120, []
        while time.monotonic() < deadline and not paged:
            paged = [a for r, status, a in stack.sink.alerts("platform-critical")
                     if status == "firing" and a["labels"].get("alertname") == "ErrorBudgetBurn"
                     and a["labels"].get("service") == "pup-api" and a["labels"].get("slo") == "availability"
                     and a["labels"].get("long_window") == "1h"]
            time.sleep(1)
        assert paged, [g["name"] for gs in cortex.loaded().values() for g in gs][:5]
        assert paged[0]["labels"]["team"] == "platform" and paged[0]["labels"]["severity"] == "critical"
    finally:
        stack.stop()
        cortex.stop()
