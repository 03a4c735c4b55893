"""`obsgen import` on tests/fixtures/import-corpus: files written for these tests in the shapes the
Sloth, Pyrra and OpenSLO projects publish, one of each kind of trouble real files brought. Each SLO
converts exactly, or with a note of what was approximated; nothing changes silently; the result
generates and passes validate's checks and promtool."""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytest
import yaml

from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.tools import Generation
from obsgen.pipeline.validate import check_dashboard_queries, check_expressions, promtool_check_rules
from obsgen.pipeline.writer import write_output
from obsgen.spec.imports import Imported, import_files
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT, run_obsgen

pytestmark = pytest.mark.xdist_group("import-corpus")  # its tests share a module fixture

CORPUS = FIXTURES / "import-corpus"


@functools.cache
def imported() -> Imported:
    return import_files([(str(p.relative_to(ROOT)), p.read_text()) for p in sorted(CORPUS.glob("*.y*ml"))])


def _spec(service: str) -> dict:
    return yaml.safe_load(imported().specs[f"{service}.yaml"])


def _slo(service: str, name: str) -> dict:
    return next(s for s in _spec(service)["slos"] if s["name"] == name)


def _notes(fragment: str) -> list[str]:
    return [line for line in imported().report if fragment in line]


def test_each_slo_keeps_its_own_runbook() -> None:
    assert _spec("apiserver")["runbook"] == "https://runbooks.example.com/apiserver/availability"
    assert "runbook" not in _slo("apiserver", "availability")
    assert _slo("apiserver", "latency")["runbook"] == "https://runbooks.example.com/apiserver/latency"


def test_sloth_plugins_are_named_not_dropped_silently() -> None:
    assert len(_notes("Sloth SLO plugin")) == 2
    assert _notes("sloth-apiserver.yml:16: slos[0].plugins.chain[0]: dropped: Sloth SLO plugin 'sloth.dev/contrib/denominator_corrected_rules/v1'")
    assert _notes("sloth-apiserver.yml:10: slo_plugins.chain[0]: dropped: Sloth SLO plugin 'sloth.dev/core/sli_info_labels/v1'")


def test_a_yaml_boolean_label_is_the_string_prometheus_holds() -> None:
    assert _spec("apiserver")["labels"] == {"generated": "true"}
    assert _notes("labels.generated: YAML bool True written as the label value 'true'")


def test_sloth_queries_become_selectors_where_they_are_counters() -> None:
    assert _slo("apiserver", "availability")["sli"] == {
        "ratio": {"errors": 'apiserver_request_total{code=~"(5..|429)"}', "total": "apiserver_request_total"}}
    # errors = total - fast: the fast bucket over the total, exactly, so the windows layer and tests generate
    assert _slo("apiserver", "latency")["sli"] == {"ratio": {
        "good": 'apiserver_request_duration_seconds_bucket{le="0.4", verb!="WATCH"}',
        "total": 'apiserver_request_duration_seconds_count{verb!="WATCH"}'}}
    assert not _notes("slos[0].sli") and not _notes("slos[1].sli")


def test_a_raw_error_ratio_is_carried_with_its_limits_said() -> None:
    raw = _slo("apiserver", "etcd-ratio")
    ratio = "sum(rate(etcd_request_errors_total[$window])) / sum(rate(etcd_requests_total[$window]))"
    assert raw["sli"]["ratio"] == {"errors": f"({ratio})", "total": f"({ratio}) * 0 + 1"} and raw["guard"] is False
    (note,) = _notes("slos[2].sli.raw: approximated")
    assert "not weighted by traffic" in note and "guard is off" in note


def test_alerts_both_disabled_is_noted_and_kept() -> None:
    assert _slo("apiserver", "scrapes")["alerting"] == {"critical": False, "warning": False}
    assert _notes("slos[3].alerting: page and ticket alerts are both disabled")


def test_pyrra_indicators_map_to_what_obsgen_has() -> None:
    latency = _slo("ingress", "ingress-latency")
    assert latency["group_by"] == ["route"]
    # The total is every request; the success bucket leaves 5xx out: good over total keeps both as Pyrra reads them.
    assert latency["sli"] == {"ratio": {"good": 'ingress_request_duration_seconds_bucket{ingress="shop", le="0.25", status!~"5.."}',
                                        "total": 'ingress_request_duration_seconds_count{ingress="shop"}'}}
    assert _notes("spec.indicator.latency.total: imported as a ratio SLI")
    assert _slo("ingress", "ingress-connect")["sli"] == {
        "latency": {"histogram": 'connect_request_duration_seconds{job="ingress"}', "native": True, "threshold": 0.25}}
    assert _slo("ingress", "ingress-probe")["sli"] == {
        "probe": {"success": 'probe_success{job="blackbox", instance="https://shop.example.com"}'}}
    assert not _notes("grouping") and not _notes("not supported")


def test_openslo_without_team_or_runbook_imports_with_a_note() -> None:
    batch = _spec("batch")
    assert (batch["team"], batch["runbook"]) == ("batch", "https://runbooks.example.com/batch")
    assert _notes("openslo-batch.yaml:5: metadata: no metadata.labels.team on the Service 'batch'")
    assert _notes("no runbook annotation on the Service 'batch'")
    given = import_files([("b.yaml", (CORPUS / "openslo-batch.yaml").read_text())], team="data", runbook="https://wiki.example.com/batch")
    spec = yaml.safe_load(given.specs["batch.yaml"])
    assert (spec["team"], spec["runbook"]) == ("data", "https://wiki.example.com/batch")
    assert [n for n in given.report if "from --team" in n] and [n for n in given.report if "from --runbook" in n]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("import-corpus")
    result = run_obsgen("import", *map(str, sorted(CORPUS.glob("*.y*ml"))), "--out", str(root / "slo"))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    write_output(compile_project(load_project(root)), root / "out")
    return root / "out"


def test_the_import_generates_and_its_queries_parse(out: Path) -> None:
    assert check_expressions(out) == [] and check_dashboard_queries(out) == []  # the subquery SLI too
    report = (out / "SLO_REPORT.md").read_text()
    assert "so the 1h/5m tier could never fire at the Workbook's burn rate: scaled to fire when 50%" in report


@pytest.mark.slow
def test_promtool_loads_the_import_and_proves_the_low_objective(out: Path, generation: Generation) -> None:
    """batch/jobs (90% over 28d) pages through its scaled 1h tier; the proof runs in promtool."""
    assert promtool_check_rules(out, generation) == []
    proof = out / "prometheus" / "tests" / "batch.jobs.slo.test.yml"
    assert 'alertname="ErrorBudgetBurn", service="batch", slo="jobs", long_window="1h"' in proof.read_text()
    result = subprocess.run([generation.need("promtool"), "test", "rules", str(proof)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_generate_error_in_an_imported_slo_names_its_source(tmp_path: Path) -> None:
    result = run_obsgen("import", str(CORPUS / "sloth-apiserver.yml"), "--out", str(tmp_path / "slo"))
    assert result.returncode == 0, result.stderr
    spec = tmp_path / "slo" / "apiserver.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.5", "objective: 100.5"))
    failed = run_obsgen("generate", "--specs", str(tmp_path), "--out", str(tmp_path / "out"))
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    (line,) = [x for x in failed.stderr.splitlines() if "slos[2].objective" in x]
    assert line.endswith(f"(imported from {CORPUS / 'sloth-apiserver.yml'}:35, Sloth prometheus/v1)"), line


def test_openslo_references_resolve_across_files() -> None:
    """The Service, DataSource and SLI in one file, the SLO that names them in another."""
    documents = (CORPUS / "openslo-batch.yaml").read_text().split("\n---\n")
    shared, slo = "\n---\n".join(documents[:-1]), documents[-1]
    together = yaml.safe_load(import_files([("a.yaml", (CORPUS / "openslo-batch.yaml").read_text())]).specs["batch.yaml"])
    apart = yaml.safe_load(import_files([("objects.yaml", shared), ("slo.yaml", slo)]).specs["batch.yaml"])
    assert apart == together and apart["slos"][0]["sli"] == {"ratio": {"good": 'batch_jobs_total{outcome="success"}', "total": "batch_jobs_total"}}
