"""The demo's real Prometheus 3 (service, Prometheus, Alertmanager on loopback), shared by the live tests."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from demo.stack import Stack
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.writer import write_output
from tests.conftest import ROOT, generation_named, project_at


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    project = project_at(ROOT)
    out = tmp_path_factory.mktemp("out")
    write_output(compile_project(project), out)
    stack = Stack(project, out, tmp_path_factory.mktemp("stack"), generation_named("current"))
    stack.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stack.query('probe_success{job="blackbox"}'):
            time.sleep(0.5)
        yield stack
    finally:
        stack.stop()
