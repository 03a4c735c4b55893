"""Teams' own dashboards (dashboards/*.dashboard.py), run where their mistakes cannot hurt generate.

Each file runs in a forked child with a time limit (`dashboard_timeout` in obsgen.yaml): a loop that
never ends, sys.exit, KeyboardInterrupt, os._exit or any exception becomes a spec error naming the
file and, where Python knows it, the line. Only the rendered JSON comes back.
"""
from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

from grafanalib.core import Dashboard

from obsgen.core import names, promql
from obsgen.errors import SpecIssue, user_line
from obsgen.grafana.panels import render
from obsgen.model.project import CustomDashboard, Project

DEFAULT_FOLDER = "custom"
GRACE = 5.0  # seconds past the limit before a child that ignores its alarm (stuck in C code) is killed


@dataclass(frozen=True)
class Built:
    folder: str
    uid: str
    text: str  # dashboard JSON as obsgen writes it


class _OutOfTime(BaseException):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _OutOfTime()


def build(custom: CustomDashboard, project: Project, timeout: float) -> Built | SpecIssue:
    """Run one dashboard file in a child process; its dashboard, or what went wrong."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(custom, project, timeout, send), daemon=True)
    child.start()
    send.close()
    try:
        answer = receive.recv() if receive.poll(timeout + GRACE) else None
    except EOFError:  # the child exited without answering: os._exit, a signal, the OOM killer
        answer = ("error", 0, "", "exited without returning a dashboard (os._exit, a signal or out of memory)")
    finally:
        child.kill()
        child.join()
        receive.close()
    if answer is None:
        return SpecIssue(custom.path, 0, "", f"still running after {timeout:g} s and would not stop; dashboard_timeout in obsgen.yaml sets the limit")
    if answer[0] == "ok":
        return Built(*answer[1:])
    _, line, field, message = answer
    return SpecIssue(custom.path, line, field, message)


def _child(custom: CustomDashboard, project: Project, timeout: float, send: Connection) -> None:
    """In the fork: import, call, check, render; answer one tuple of plain values, then exit at once
    (never the parent's exit handlers)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        answer: tuple[Any, ...] = _run(custom, project)
    except _OutOfTime as exc:
        answer = ("error", user_line(exc, custom.file), "", f"still running after {timeout:g} s; dashboard_timeout in obsgen.yaml sets the limit")
    except SystemExit as exc:
        answer = ("error", user_line(exc, custom.file), "", f"calls sys.exit({exc.code!r}): a dashboard file returns a dashboard, it does not exit")
    except SyntaxError as exc:
        answer = ("error", exc.lineno or 0, "", f"cannot load: SyntaxError: {exc.msg}")
    except BaseException as exc:  # noqa: BLE001 - whatever a team's code raises is reported, never a traceback
        answer = ("error", user_line(exc, custom.file), "", f"{type(exc).__name__}: {exc}")
    try:
        signal.setitimer(signal.ITIMER_REAL, 0)
        send.send(answer)
    finally:
        os._exit(0)


def _run(custom: CustomDashboard, project: Project) -> tuple[Any, ...]:
    spec = importlib.util.spec_from_file_location(f"obsgen_custom_{Path(custom.file).stem.replace('.', '_')}", custom.file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = getattr(module, "FOLDER", DEFAULT_FOLDER)
    if not isinstance(folder, str) or not names.FOLDER.fullmatch(folder):
        return ("error", _line_of(custom.file, "FOLDER"), "FOLDER",
                f"{folder!r} is not a folder name: a letter or digit, then letters, digits, '-' and '_', at most 40")
    make = getattr(module, "dashboard", None)
    if not callable(make):
        return ("error", 1, "dashboard", "define `def dashboard(project):` returning a grafanalib Dashboard")
    board = make(project)
    line = _line_of(custom.file, "def dashboard")
    if not isinstance(board, Dashboard) or not board.uid:
        return ("error", line, "dashboard()", "must return a grafanalib Dashboard with a uid (use obsgen.grafana.panels.dashboard)")
    if not isinstance(board.uid, str) or not names.UID.fullmatch(board.uid):
        return ("error", line, "uid", f"{board.uid!r} is not a Grafana uid: letters, digits, '-' and '_', at most 40")
    text = render(board)
    if errors := query_errors(text):
        return ("error", line, "dashboard()", errors[0])
    return ("ok", folder, board.uid, text)


def query_errors(text: str) -> list[str]:
    """What is wrong with the Prometheus queries of a rendered dashboard: one line per bad query."""
    errors = []
    for panel in json.loads(text).get("panels", []):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if (target.get("datasource") or {}).get("type") == "loki" or not expr:
                continue
            try:
                promql.check_templated(str(expr))
            except ValueError as exc:
                errors.append(f"panel {panel.get('title', '')!r}: {exc} in {expr!r}")
    return errors


def _line_of(file: str, text: str) -> int:
    for number, line in enumerate(Path(file).read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(text):
            return number
    return 0
