"""No failure of plan or push prints a token, a password or an Authorization header: every
failure case below runs the CLI as a user would and greps all it printed for the secrets."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from obsgen.errors import RemoteError
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.writer import write_output
from obsgen.remote.http import Endpoint, read_token
from tests.conftest import FIXTURES, project_at
from tests.remote.fake_grafana import EDITOR_TOKEN, FakeGrafana

TOKEN = "glsa_SECRET_token_value_0123456789"
PASSWORD = "pw-SECRET-4567"
SECRETS = (TOKEN, PASSWORD, EDITOR_TOKEN, "Authorization", "Bearer ")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("secrets") / "out"
    write_output(compile_project(project_at(FIXTURES / "good")), folder)
    return folder


def _run(out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "MIMIR_", "LOKI_"))}
    return subprocess.run(
        [sys.executable, "-m", "obsgen", "push", "--out", str(out), *extra], env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "token"
    path.write_text(text)
    return str(path)


CASES: dict[str, Callable[[Path, str], dict[str, str]]] = {
    "token file with a comment line": lambda tmp, url: {"GRAFANA_URL": url, "GRAFANA_TOKEN_FILE": _token_file(tmp, f"# rotated 2026-11\n{TOKEN}\n")},
    "token file with a rotated token": lambda tmp, url: {"GRAFANA_URL": url, "GRAFANA_TOKEN_FILE": _token_file(tmp, f"{TOKEN}\n{TOKEN}x\n")},
    "token with a line break": lambda tmp, url: {"GRAFANA_URL": url, "GRAFANA_TOKEN": f"{TOKEN}\nX-Other: 1"},
    "token with non-Latin-1 characters": lambda tmp, url: {"GRAFANA_URL": url, "GRAFANA_TOKEN": f"{TOKEN}€"},
    "wrong token": lambda tmp, url: {"GRAFANA_URL": url, "GRAFANA_TOKEN": TOKEN},
    "password in the URL, wrong token": lambda tmp, url: {
        "GRAFANA_URL": url.replace("://", f"://admin:{PASSWORD}@"), "GRAFANA_TOKEN": TOKEN},
    "password in the URL, server down": lambda tmp, url: {
        "GRAFANA_URL": f"http://admin:{PASSWORD}@127.0.0.1:{_free_port()}", "GRAFANA_TOKEN": TOKEN, "GRAFANA_TIMEOUT": "1"},
    "password in a URL without a scheme": lambda tmp, url: {"GRAFANA_URL": f"admin:{PASSWORD}@grafana.example.com", "GRAFANA_TOKEN": TOKEN},
    "https to a plain HTTP server": lambda tmp, url: {"GRAFANA_URL": url.replace("http://", f"https://admin:{PASSWORD}@"), "GRAFANA_TOKEN": TOKEN},
    "timeout not a number": lambda tmp, url: {"GRAFANA_URL": url, "GRAFANA_TOKEN": TOKEN, "GRAFANA_TIMEOUT": "ten"},
    "CA file missing": lambda tmp, url: {"GRAFANA_URL": url, "GRAFANA_TOKEN": TOKEN, "GRAFANA_CA_FILE": str(tmp / "nope.pem")},
    "server echoes the credentials": lambda tmp, url: {"GRAFANA_URL": url, "GRAFANA_TOKEN": EDITOR_TOKEN, "ECHO": "1"},
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_no_failure_prints_a_secret(case: str, out: Path, tmp_path: Path) -> None:
    with FakeGrafana() as grafana:
        env = CASES[case](tmp_path, grafana.url)
        if env.pop("ECHO", None):
            grafana.state.faults.extend([("/api", "echo", None)] * 20)
        result = _run(out, env)
    printed = result.stdout + result.stderr
    assert result.returncode == 1, printed
    assert "Traceback" not in printed
    assert [s for s in SECRETS if s in printed] == [], printed
    assert len(result.stderr.strip().splitlines()) <= 30, "one clear line per failure, not a dump"


def test_token_file_with_one_line_and_blank_lines_is_read(tmp_path: Path) -> None:
    assert read_token(_token_file(tmp_path, f"\n  {TOKEN}  \n\n")) == TOKEN
    with pytest.raises(RemoteError, match="holds 2 lines") as caught:
        read_token(_token_file(tmp_path, f"{TOKEN}\nsecond\n"))
    assert TOKEN not in str(caught.value)


def test_credentials_in_the_url_become_basic_auth_and_leave_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAFANA_URL", f"https://admin:{PASSWORD}@grafana.example.com/sub/")
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    monkeypatch.delenv("GRAFANA_TOKEN_FILE", raising=False)
    endpoint = Endpoint.from_env("GRAFANA")
    assert endpoint is not None
    assert endpoint.url == "https://grafana.example.com/sub" and endpoint.basic == ("admin", PASSWORD)
    assert PASSWORD not in repr(endpoint)


def test_a_malformed_dashboard_in_the_output_is_one_line(out: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    board = next((copy / "grafana" / "dashboards").glob("*/*.json"))
    board.write_text(board.read_text()[:-20])
    with FakeGrafana() as grafana:
        result = _run(copy, {"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": EDITOR_TOKEN}, "--insecure")
    assert result.returncode == 4 and "Traceback" not in result.stderr
    assert f"{board} is not a dashboard obsgen wrote" in result.stderr
    assert result.stderr.count("--insecure") == 1  # warned once, not per request
