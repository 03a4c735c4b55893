"""obsgen plan/push --rules against local rulers that follow Mimir's and Loki's rules API."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from obsgen.errors import RemoteError
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.layout import RULES_DIR
from obsgen.pipeline.writer import write_output
from obsgen.remote import sync
from obsgen.remote.http import Endpoint
from obsgen.remote.ruler import LOKI_PREFIX, MIMIR_PREFIX, RuleGroups, Ruler, local_groups
from obsgen.spec.load import load_project
from tests.conftest import ROOT
from tests.remote.fake_ruler import FakeRuler


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    write_output(compile_project(load_project(ROOT)), folder)
    return folder


def plan_rules(ruler: Ruler, wanted: dict, prune: bool = False, project: str | None = "pup-ai") -> list[sync.Change]:
    return RuleGroups(ruler, wanted, project).plan(prune)


def apply_rules(ruler: Ruler, changes: list[sync.Change]) -> sync.Result:
    return sync.apply(RuleGroups(ruler, {}), changes, "test")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MIMIR_", "LOKI_", "GRAFANA_"))}
    return subprocess.run([sys.executable, "-m", "obsgen", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)


def test_push_rules_to_mimir_and_loki_then_nothing_changes(out: Path) -> None:
    with FakeRuler(MIMIR_PREFIX) as mimir, FakeRuler(LOKI_PREFIX) as loki:
        env = {"MIMIR_URL": mimir.url, "MIMIR_TENANT": "pup", "LOKI_URL": loki.url}
        groups = sum(len(g) for g in local_groups(out / RULES_DIR).values())
        planned = _cli("plan", "--rules", "--out", str(out), env=env)
        assert planned.returncode == 3 and planned.stdout.count("+ create") == groups + 1

        pushed = _cli("push", "--rules", "--out", str(out), env=env)
        assert pushed.returncode == 0, pushed.stderr
        # namespaces are <project>.<service>: the project from obsgen.yaml, through output/obsgen.json
        assert set(mimir.state.rules["pup"]) == {"pup-ai.ai-provider", "pup-ai.pup-api", "pup-ai.pup-journeys", "pup-ai.pup-workers"}
        assert "slo:pup-api:availability" in mimir.state.rules["pup"]["pup-ai.pup-api"]
        generated = yaml.safe_load((out / "loki" / "rules" / "pup" / "pup-api.yml").read_text())["groups"][0]
        assert loki.state.rules["pup"]["pup-ai.pup-api"]["logs:pup-api"] == generated  # tenant from the folder

        writes = mimir.state.writes + loki.state.writes
        again = _cli("push", "--rules", "--out", str(out), env=env)
        assert again.returncode == 0 and "0 rule groups written" in again.stdout
        assert mimir.state.writes + loki.state.writes == writes
        assert _cli("plan", "--rules", "--out", str(out), env=env).returncode == 0


def test_changed_group_is_updated_and_prune_deletes_only_this_projects_obsgen_groups(out: Path) -> None:
    with FakeRuler(MIMIR_PREFIX) as mimir:
        ruler = Ruler(Endpoint(mimir.url, "", backoff=0.01), "pup", MIMIR_PREFIX, "Mimir ruler")
        wanted = local_groups(out / RULES_DIR)
        apply_rules(ruler, plan_rules(ruler, wanted))
        ruler.set_group("pup-ai.pup-api", {"name": "team-own-rules", "rules": [{"record": "x:y:z", "expr": "up"}]})
        ruler.set_group("pup-ai.old-service", {"name": "slo:old-service:availability:sli", "rules": [{"record": "a:b:c", "expr": "up"}]})
        # another obsgen project's namespace, and one without a project: never pruned from here
        ruler.set_group("billing.invoices", {"name": "slo:invoices:availability:sli", "rules": [{"record": "a:b:c", "expr": "up"}]})
        ruler.set_group("invoices", {"name": "slo:invoices:availability:sli", "rules": [{"record": "a:b:c", "expr": "up"}]})
        changed = dict(wanted)
        first = dict(changed["pup-api"][0])
        first["interval"] = "30s"
        changed["pup-api"] = [first, *changed["pup-api"][1:]]
        changes = plan_rules(ruler, changed, prune=True)
        actions = {c.key: c.action for c in changes if c.action != sync.Action.UNCHANGED}
        (update,) = [c for c in changes if c.action == sync.Action.UPDATE]
        assert "+interval: 30s" in update.diff and update.diff.startswith(f"--- ruler/pup-ai.pup-api/{first['name']}")
        assert actions == {f"pup-ai.pup-api/{first['name']}": sync.Action.UPDATE,
                           "pup-ai.old-service/slo:old-service:availability:sli": sync.Action.DELETE}
        result = apply_rules(ruler, changes)
        assert not result.failed and len(result.written) == 1 and len(result.deleted) == 1
        assert "team-own-rules" in mimir.state.rules["pup"]["pup-ai.pup-api"]
        assert mimir.state.rules["pup"]["pup-ai.pup-api"][first["name"]]["interval"] == "30s"
        assert {"billing.invoices", "invoices"} <= set(mimir.state.rules["pup"])
        with pytest.raises(RemoteError, match="--prune needs `project:`"):
            plan_rules(ruler, wanted, prune=True, project=None)


def test_ruler_faults_retry_and_tenant_is_required(out: Path) -> None:
    with FakeRuler(MIMIR_PREFIX) as mimir:
        mimir.state.faults.extend([503, 429, 500])
        ruler = Ruler(Endpoint(mimir.url, "", backoff=0.01), "pup", MIMIR_PREFIX, "Mimir ruler")
        result = apply_rules(ruler, plan_rules(ruler, local_groups(out / RULES_DIR)))
        assert not result.failed and result.written and not mimir.state.faults
        no_tenant = _cli("push", "--rules", "--out", str(out), env={"MIMIR_URL": mimir.url})
        assert no_tenant.returncode == 1 and "401" in no_tenant.stderr and "tenant" in no_tenant.stderr


def test_no_ruler_configured(out: Path) -> None:
    result = _cli("push", "--rules", "--out", str(out), env={})
    assert result.returncode == 1 and "MIMIR_URL" in result.stderr


def test_a_wrong_ruler_prefix_fails_instead_of_planning_creates(out: Path) -> None:
    with FakeRuler(MIMIR_PREFIX) as mimir:
        planned = _cli("plan", "--rules", "--out", str(out), env={"MIMIR_URL": mimir.url + "/mimir", "MIMIR_TENANT": "pup"})
    assert planned.returncode == 1 and "+ create" not in planned.stdout
    assert "does not serve the Mimir ruler API at /prometheus/config/v1/rules" in planned.stderr
