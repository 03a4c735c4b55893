"""obsgen plan / push against a local server that follows Grafana's HTTP API."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from obsgen.errors import RemoteError
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.layout import DASHBOARDS_DIR
from obsgen.pipeline.writer import write_output
from obsgen.remote import http, sync
from obsgen.remote.grafana import MARK, Dashboards, Grafana, Local, grafana_from_env, load_dashboards
from obsgen.remote.http import Endpoint
from obsgen.remote.sync import Action, Change
from obsgen.spec.load import load_project
from tests.conftest import ROOT
from tests.remote.fake_grafana import EDITOR_TOKEN, VIEWER_TOKEN, FakeGrafana

CREATE, DELETE, DRIFT, FOREIGN, UNCHANGED, UPDATE = (
    Action.CREATE, Action.DELETE, Action.DRIFT, Action.FOREIGN, Action.UNCHANGED, Action.UPDATE
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    write_output(compile_project(load_project(ROOT)), out)
    return out


@pytest.fixture
def out(generated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(generated, copy)
    return copy


@pytest.fixture
def grafana():
    with FakeGrafana() as server:
        yield server


def _client(url: str, token: str = EDITOR_TOKEN, **kw) -> Grafana:
    return Grafana(Endpoint(url, token, backoff=0.01, **kw))


PROJECT = "pup-ai"


def plan(client: Grafana, local: list[Local], prune: bool = False, project: str | None = PROJECT) -> list[Change]:
    return Dashboards(client, local, project).plan(prune)


def boards(changes: list[Change]) -> list[Change]:
    """The dashboards' changes, without the folders'."""
    return [c for c in changes if not c.key.startswith("folder ")]


def written_boards(result: sync.Result) -> list[str]:
    return [k for k in result.written if not k.startswith("folder ")]


def apply(client: Grafana, changes: list[Change], message: str, force: bool = False, project: str | None = PROJECT, **kw) -> sync.Result:
    return sync.apply(Dashboards(client, [], project), changes, message, force, **kw)


def _uid(change: Change) -> str:
    return change.key.rsplit("/", 1)[1]


def _uids(keys: list[str]) -> list[str]:
    return [k.rsplit("/", 1)[1] for k in keys]


def _cli(*args: str, url: str, token: str = EDITOR_TOKEN, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRAFANA_URL": url, "GRAFANA_TOKEN": token}
    return subprocess.run([sys.executable, "-m", "obsgen", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _push_all(client: Grafana, out: Path) -> None:
    apply(client, plan(client, load_dashboards(out / DASHBOARDS_DIR)), "first")


def _describe(out: Path, text: str) -> None:
    """Change the generated pup-api dashboard locally, as a spec change would."""
    path = out / DASHBOARDS_DIR / "pup-ai" / "service-pup-api.json"
    board = json.loads(path.read_text())
    board["description"] = text
    path.write_text(json.dumps(board))


def _saves(grafana: FakeGrafana) -> int:
    return sum(1 for m, p in grafana.state.requests if (m, p) == ("POST", "/api/dashboards/db"))


def test_push_creates_folders_and_dashboards_then_changes_nothing(out: Path, grafana: FakeGrafana) -> None:
    local = load_dashboards(out / DASHBOARDS_DIR)
    planned = _cli("plan", "--out", str(out), url=grafana.url)
    assert planned.returncode == 3, planned.stderr
    assert planned.stdout.count("+ create") == len(local) + 2  # and the folders pup-ai and slo

    first = _cli("push", "--out", str(out), url=grafana.url)
    assert first.returncode == 0, first.stderr
    assert f"{len(local) + 2} dashboards and folders written" in first.stdout and f"[{len(local) + 2}/{len(local) + 2}]" in first.stderr
    assert set(grafana.state.folders) == {d.folder for d in local} == {"pup-ai", "slo"}
    stored = grafana.state.dashboards["service-pup-api"]
    assert stored["folderUid"] == "pup-ai" and "obsgen push" in stored["message"]
    assert "obsgen" in stored["dashboard"]["tags"] and stored["dashboard"][MARK]["fingerprint"]

    saves = _saves(grafana)
    again = _cli("push", "--out", str(out), url=grafana.url)
    assert again.returncode == 0 and "0 dashboards and folders written" in again.stdout and f"{len(local) + 2} unchanged" in again.stdout
    assert _saves(grafana) == saves, "an unchanged dashboard was written again"
    assert _cli("plan", "--out", str(out), url=grafana.url).returncode == 0


def test_update_shows_a_diff_and_bumps_the_version(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    _push_all(client, out)
    _describe(out, "Now with more panels.")
    changes = {_uid(c): c for c in boards(plan(client, load_dashboards(out / DASHBOARDS_DIR)))}
    assert changes["service-pup-api"].action == UPDATE
    diff = changes["service-pup-api"].diff
    assert '@@ description @@\n-"Public HTTP API of pup.ai, behind the load balancer."\n+"Now with more panels."\n' in diff
    assert '"version"' not in changes["service-pup-api"].diff and '"id"' not in changes["service-pup-api"].diff
    assert {c.action for uid, c in changes.items() if uid != "service-pup-api"} == {UNCHANGED}
    result = apply(client, list(changes.values()), "second")
    assert _uids(result.written) == ["service-pup-api"]
    assert grafana.state.dashboards["service-pup-api"]["version"] == 2


def test_drift_is_refused_unless_forced(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    _push_all(client, out)
    grafana.edit("slo-platform", title="SLO overview: platform (Ann's copy)")
    # push writes only what obsgen changed: the edit survives, and plan reports it (exit 5)
    untouched = _cli("push", "--out", str(out), url=grafana.url)
    assert untouched.returncode == 0 and "0 dashboards and folders written" in untouched.stdout
    assert grafana.state.dashboards["slo-platform"]["dashboard"]["title"] == "SLO overview: platform (Ann's copy)"
    planned = _cli("plan", "--out", str(out), url=grafana.url)
    assert planned.returncode == 5 and "! drift     Grafana: slo/slo-platform" in planned.stdout
    # a change obsgen makes to an edited dashboard is refused
    path = out / DASHBOARDS_DIR / "slo" / "slo-platform.json"
    path.write_text(path.read_text().replace('"SLO overview: platform"', '"SLO overview: platform v2"', 1))
    refused = _cli("push", "--out", str(out), url=grafana.url)
    assert refused.returncode == 1 and "refused: slo/slo-platform" in refused.stderr
    assert grafana.state.dashboards["slo-platform"]["dashboard"]["title"] == "SLO overview: platform (Ann's copy)"

    forced = _cli("push", "--out", str(out), "--force", url=grafana.url)
    assert forced.returncode == 0, forced.stderr
    assert grafana.state.dashboards["slo-platform"]["dashboard"]["title"] == "SLO overview: platform v2"


def test_a_dashboard_obsgen_did_not_write_is_not_taken_over(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    client.create_folder("pup-ai", "pup-ai")
    client.save_dashboard({"uid": "service-pup-api", "title": "Hand made", "tags": []}, "pup-ai", "by hand")
    changes = {_uid(c): c.action for c in boards(plan(client, load_dashboards(out / DASHBOARDS_DIR)))}
    assert changes["service-pup-api"] == FOREIGN
    result = apply(client, plan(client, load_dashboards(out / DASHBOARDS_DIR)), "push")
    assert "service-pup-api" in _uids(result.refused)
    assert grafana.state.dashboards["service-pup-api"]["dashboard"]["title"] == "Hand made"


def test_prune_removes_only_this_projects_unedited_dashboards(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    _push_all(client, out)
    client.save_dashboard({"uid": "someone-else", "title": "Tagged but theirs", "tags": ["obsgen"]}, "slo", "by hand")
    (out / DASHBOARDS_DIR / "pup-ai" / "pup-business.json").unlink()
    without = {_uid(c): c.action for c in boards(plan(client, load_dashboards(out / DASHBOARDS_DIR)))}
    assert "pup-business" not in without
    changes = plan(client, load_dashboards(out / DASHBOARDS_DIR), prune=True)
    assert [(_uid(c), c.action) for c in changes if c.action == DELETE] == [("pup-business", DELETE)]
    result = apply(client, changes, "prune")
    assert _uids(result.deleted) == ["pup-business"]
    assert "someone-else" in grafana.state.dashboards and "pup-business" not in grafana.state.dashboards


def test_prune_leaves_another_projects_dashboards(out: Path, grafana: FakeGrafana) -> None:
    """Two obsgen projects share one Grafana: each prunes only its own."""
    client = _client(grafana.url)
    _push_all(client, out)
    other = [Local("billing-overview", "billing", {"uid": "billing-overview", "title": "Billing", "tags": []})]
    apply(client, plan(client, other, project="billing"), "billing's first push", project="billing")
    changes = plan(client, load_dashboards(out / DASHBOARDS_DIR), prune=True)
    assert not [c for c in changes if "billing" in c.key]
    billing = plan(client, other, prune=True, project="billing")
    assert {c.action for c in billing} == {UNCHANGED}  # pup-ai's dashboards are not billing's to delete
    # and pup-ai may not write over billing's dashboard, even by uid
    theirs = boards(plan(client, [Local("billing-overview", "pup-ai", {"uid": "billing-overview", "title": "Mine"})]))
    assert [(c.action, c.note) for c in theirs] == [(FOREIGN, "written by obsgen project 'billing', not 'pup-ai'")]


def test_prune_keeps_copies_and_edited_dashboards_and_says_why(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    _push_all(client, out)
    # someone imports pup-api's dashboard JSON (mark and all) under a new uid
    copy = json.loads(json.dumps(grafana.state.dashboards["service-pup-api"]["dashboard"]))
    copy.update(uid="my-pup-api", id=None, title="My copy")
    client.save_dashboard(copy, "pup-ai", "import")
    grafana.edit("pup-business", description="edited in the UI")
    (out / DASHBOARDS_DIR / "pup-ai" / "pup-business.json").unlink()
    changes = {_uid(c): c for c in boards(plan(client, load_dashboards(out / DASHBOARDS_DIR), prune=True))}
    assert changes["my-pup-api"].action == Action.KEEP and "a copy of 'service-pup-api'" in changes["my-pup-api"].describe()
    assert changes["pup-business"].action == DRIFT and "--force to delete" in changes["pup-business"].describe()
    result = apply(client, list(changes.values()), "prune")
    assert "pup-business" in grafana.state.dashboards and "my-pup-api" in grafana.state.dashboards
    assert _uids(result.refused) == ["pup-business"]
    forced = apply(client, list(changes.values()), "prune", force=True)
    assert _uids(forced.deleted) == ["pup-business"] and "my-pup-api" in grafana.state.dashboards


def test_prune_without_a_project_refuses(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    with pytest.raises(RemoteError, match="--prune needs `project:` in obsgen.yaml"):
        plan(client, load_dashboards(out / DASHBOARDS_DIR), prune=True, project=None)


def test_retries_through_429_500_and_dropped_connections(out: Path, grafana: FakeGrafana) -> None:
    grafana.state.faults.extend([
        ("/api/dashboards/uid/", 429, 0), ("/api/dashboards/uid/", 500, None), ("/api/dashboards/uid/", "drop", None),
        ("/api/dashboards/db", 503, None), ("/api/dashboards/db", "drop", None),
    ])
    client = _client(grafana.url)
    result = apply(client, plan(client, load_dashboards(out / DASHBOARDS_DIR)), "flaky")
    assert not result.failed and len(written_boards(result)) == len(load_dashboards(out / DASHBOARDS_DIR))
    assert not grafana.state.faults, "every injected fault was met and retried"


def test_a_run_that_fails_half_way_reports_and_a_second_run_finishes(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    local = load_dashboards(out / DASHBOARDS_DIR)
    changes = plan(client, local)
    assert {c.action for c in changes} == {CREATE}
    # The third save fails more often than the client retries.
    saved = 0

    def progress(i: int, total: int, change, outcome: str) -> None:
        nonlocal saved
        saved += 1
        if saved == 2:
            grafana.state.faults.extend([("/api/dashboards/db", 500, None)] * (client.config.retries + 1))

    result = apply(client, changes, "half", progress=progress)
    assert len(result.failed) == 1 and len(written_boards(result)) == len(local) - 1
    assert "still failing after" in result.failed[0][1]
    second = apply(client, plan(client, local), "again")
    assert second.written == [result.failed[0][0]] and not second.failed


def test_bad_token_forbidden_and_secret_kept(out: Path, grafana: FakeGrafana) -> None:
    bad = _cli("push", "--out", str(out), url=grafana.url, token="glsa_wrong_secret_value")
    assert bad.returncode == 1 and "401" in bad.stderr and "GRAFANA_TOKEN" in bad.stderr
    assert "glsa_wrong_secret_value" not in bad.stdout + bad.stderr
    viewer = _cli("push", "--out", str(out), url=grafana.url, token=VIEWER_TOKEN)
    assert viewer.returncode == 1 and "403" in viewer.stderr and "Editor" in viewer.stderr
    assert VIEWER_TOKEN not in viewer.stdout + viewer.stderr
    assert "glsa_" not in repr(Endpoint(grafana.url, VIEWER_TOKEN))


def test_token_file_and_missing_settings(tmp_path: Path, grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    token = tmp_path / "token"
    token.write_text(EDITOR_TOKEN + "\n")
    config = grafana_from_env(grafana.url + "/", str(token)).config
    assert config.token == EDITOR_TOKEN and config.url == grafana.url and config.verify is True
    assert _client(config.url).health()["database"] == "ok"
    with pytest.raises(RemoteError, match="no Grafana token"):
        grafana_from_env(grafana.url)
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    with pytest.raises(RemoteError, match="GRAFANA_URL"):
        grafana_from_env(None, str(token))


def test_tls_verification(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    with FakeGrafana(str(cert), str(key)) as server:
        with pytest.raises(RemoteError, match="TLS verification failed") as caught:
            _client(server.url).folder("x")
        assert EDITOR_TOKEN not in str(caught.value)
        assert _client(server.url, verify=str(cert)).folder("x") is None  # trusted with --ca-file: a plain 404


def test_unreachable_grafana(tmp_path: Path) -> None:
    with FakeGrafana() as server:
        url = server.url
    with pytest.raises(RemoteError, match="cannot reach Grafana|still failing"):
        Grafana(Endpoint(url, EDITOR_TOKEN, retries=1, backoff=0.01)).folder("x")


def test_a_concurrent_edit_gets_412_not_overwritten(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    _push_all(client, out)
    _describe(out, "changed")
    changes = plan(client, load_dashboards(out / DASHBOARDS_DIR))
    # Between plan and push someone saves a new version through the API, keeping obsgen's mark.
    with grafana.state.lock:
        grafana.state.dashboards["service-pup-api"]["version"] += 1
    result = apply(client, changes, "late")
    (uid, why), = result.failed
    assert uid == "pup-ai/service-pup-api" and "412" in why and "version-mismatch" in why


def test_wrong_url_path_says_so(out: Path, grafana: FakeGrafana) -> None:
    result = _cli("push", "--out", str(out), url=grafana.url + "/grafana", token=EDITOR_TOKEN)
    assert result.returncode == 1
    assert "404" in result.stderr and "check GRAFANA_URL" in result.stderr


def test_plan_exits_5_when_push_would_refuse(out: Path, grafana: FakeGrafana) -> None:
    """CI sees drift before a push fails on it: 5 outranks 3 (something to write)."""
    client = _client(grafana.url)
    _push_all(client, out)
    grafana.edit("service-pup-api", description="edited in the UI")
    planned = _cli("plan", "--out", str(out), url=grafana.url)
    assert planned.returncode == 5, planned.stdout + planned.stderr
    assert "1 would be refused" in planned.stdout


def test_plan_against_a_wrong_path_fails_instead_of_planning_creates(out: Path, grafana: FakeGrafana) -> None:
    planned = _cli("plan", "--out", str(out), url=grafana.url + "/grafana")
    assert planned.returncode == 1 and "+ create" not in planned.stdout
    assert "does not serve Grafana's API" in planned.stderr and "/grafana" in planned.stderr


def test_a_folder_title_taken_by_someone_else_is_used_not_fatal(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    client.create_folder("their-uid", "pup-ai")  # made by hand, same title, another uid
    planned = _cli("plan", "--out", str(out), url=grafana.url)
    assert "folder pup-ai" in planned.stdout and "existing folder 'pup-ai' (uid their-uid)" in planned.stdout
    assert "+ create    Grafana: folder slo" in planned.stdout
    pushed = _cli("push", "--out", str(out), url=grafana.url)
    assert pushed.returncode == 0, pushed.stderr
    assert grafana.state.dashboards["service-pup-api"]["folderUid"] == "their-uid"
    assert _cli("plan", "--out", str(out), url=grafana.url).returncode == 0


def test_a_save_whose_answer_was_lost_is_recognised_as_done(out: Path, grafana: FakeGrafana) -> None:
    """The save took effect, the 504 came back, the retry got 412: the stored dashboard is ours."""
    client = _client(grafana.url)
    _push_all(client, out)
    _describe(out, "changed")
    changes = plan(client, load_dashboards(out / DASHBOARDS_DIR))
    grafana.state.faults.append(("/api/dashboards/db", "lost", None))
    result = apply(client, changes, "second")
    assert not result.failed and _uids(written_boards(result)) == ["service-pup-api"]
    assert grafana.state.dashboards["service-pup-api"]["dashboard"]["description"] == "changed"


def test_an_outage_stops_the_push_early_and_says_so(out: Path, grafana: FakeGrafana) -> None:
    client = _client(grafana.url)
    changes = plan(client, load_dashboards(out / DASHBOARDS_DIR))
    grafana.state.faults.extend([("/api/", 503, None)] * 500)
    grafana.state.requests.clear()
    result = apply(client, changes, "during an outage")
    assert len(result.failed) == len(changes)
    tried = [why for _, why in result.failed if "not tried" not in why]
    assert len(tried) == sync.BREAKER and all("503" in why for why in tried)
    assert all("Grafana looks down" in why for _, why in result.failed[sync.BREAKER:])
    assert len(grafana.state.requests) <= sync.BREAKER * (client.config.retries + 1)


def test_retry_after_is_capped_and_an_unreadable_one_is_not_a_crash(
    out: Path, grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "MAX_RETRY_AFTER", 0.5)  # the cap, shortened: a day's Retry-After must not be waited for
    client = _client(grafana.url)
    grafana.state.faults.extend([("/api/folders/", 429, "Wed, 32 Foo 2026 99:99:99 GMT"), ("/api/folders/", 429, 86400)] * 3)
    with pytest.raises(RemoteError) as caught:
        client.folder("x")
    assert "429" in str(caught.value) and f"waits at most {http.MAX_RETRY_AFTER:g} s" in str(caught.value)


def test_a_folder_name_grafana_cannot_take_as_a_uid_gets_a_derived_one(out: Path, grafana: FakeGrafana) -> None:
    (out / DASHBOARDS_DIR / "pup-ai").rename(out / DASHBOARDS_DIR / "Pup AI dashboards")
    client = _client(grafana.url)
    result = apply(client, plan(client, load_dashboards(out / DASHBOARDS_DIR)), "first")
    assert not result.failed, result.failed
    (uid,) = [u for u, title in grafana.state.folders.items() if title == "Pup AI dashboards"]
    assert uid.startswith("Pup-AI-dashboards-") and grafana.state.dashboards["service-pup-api"]["folderUid"] == uid
    assert {c.action for c in plan(client, load_dashboards(out / DASHBOARDS_DIR))} == {UNCHANGED}
