"""`obsgen import` of Sloth, Sloth CRD, Pyrra and OpenSLO files: the imported SLOs alert at the
same burn rates and windows as the originals (held to Sloth's own generated rules), their
generated promtool tests pass, and every dropped or approximated field is reported."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from demo.stack import CURRENT_TOOLS
from obsgen.core.durations import format_duration
from obsgen.errors import SpecError
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.writer import write_output
from obsgen.spec.imports import import_files
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT, run_obsgen

IMPORTS = FIXTURES / "import"
SLOTH = CURRENT_TOOLS / "sloth"


def _imported(tmp_path: Path) -> Path:
    files = sorted(IMPORTS.glob("*.y*ml"))
    result = run_obsgen("import", *map(str, files), "--out", str(tmp_path / "slo"))
    assert result.returncode == 0, result.stderr
    return tmp_path


def _sloth_windows(spec: Path) -> dict[tuple[str, str], set[tuple[str, float]]]:
    """(service, slo) -> {(window, burn-rate factor)} of the alerts Sloth itself generates."""
    proc = subprocess.run([str(SLOTH), "generate", "-i", str(spec)], capture_output=True, text=True, check=True)
    found: dict[tuple[str, str], set[tuple[str, float]]] = {}
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    groups = [g for d in docs for g in (d.get("groups") or d.get("spec", {}).get("groups", []))]  # rule file or PrometheusRule
    for group in groups:
        for rule in group["rules"]:
            if "alert" in rule:
                key = (re.findall(r'sloth_service="([^"]+)"', rule["expr"])[0], re.findall(r'sloth_slo="([^"]+)"', rule["expr"])[0])
                pairs = re.findall(r"ratio_rate(\w+)\{[^}]*\} > \(([\d.]+) \*", rule["expr"])
                found.setdefault(key, set()).update((w, float(f)) for w, f in pairs)
    return found


@pytest.mark.skipif(not SLOTH.exists(), reason="Sloth is built by `make tools`")
def test_imported_sloth_slos_alert_at_sloths_burn_rates_and_windows(tmp_path: Path) -> None:
    project = load_project(_imported(tmp_path))
    for spec in ("sloth-checkout.yml", "sloth-crd-ledger.yml"):
        expected = _sloth_windows(IMPORTS / spec)
        assert expected
        for (service_name, slo_name), pairs in expected.items():
            service = project.service(service_name)
            assert service is not None
            (slo,) = [o for o in service.slos if o.name == slo_name]
            ours = {(format_duration(w), float(tier.burn_rate(slo.period))) for tier in slo.tiers for w in (tier.long_window, tier.short_window)}
            assert ours == pairs, (service_name, slo_name)


@pytest.mark.slow
def test_imported_specs_compile_and_their_tests_pass(tmp_path: Path, promtool: str) -> None:
    """Every import compiles; promtool runs the CRD's one-SLO file (each minute-resolution SLO test
    costs ~15 s per generation, and the generator is proven on every SLI kind elsewhere)."""
    out = tmp_path / "out"
    write_output(compile_project(load_project(_imported(tmp_path))), out)
    tests = {t.name.split(".")[0] for t in (out / "prometheus" / "tests").glob("*.test.yml")}
    assert tests >= {"checkout", "ledger", "search", "cart"}
    (ledger,) = (out / "prometheus" / "tests").glob("ledger.*.slo.test.yml")
    proc = subprocess.run([promtool, "test", "rules", str(ledger)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_report_names_every_dropped_or_approximated_field() -> None:
    files = [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted(IMPORTS.glob("*.y*ml"))]
    report = "\n".join(import_files(files).report)
    assert "sloth-checkout.yml:16: slos[0].alerting.name: dropped" in report
    assert "sloth-checkout.yml:23: slos[0].alerting.page_alert.labels: dropped" in report
    assert "slos[1].sli.events.error_query: kept as an expression" in report  # `or on() vector(0)`
    assert "grouping" not in report  # Pyrra's grouping is obsgen's group_by: nothing approximated
    assert "group_by:\n    - route" in import_files(files).specs["search.yaml"]
    assert "pyrra-search.yml:9: spec.window: approximated: alerts use obsgen's multiwindow tiers" in report
    checkout = import_files(files).specs["checkout.yaml"]
    assert "# from tests/fixtures/import/sloth-checkout.yml:8 (Sloth prometheus/v1)" in checkout
    assert 'errors: http_requests_total{job="checkout", code=~"5.."}' in checkout  # a selector: layered windows


@pytest.mark.parametrize(("text", "where", "fragment"), [
    ("version: prometheus/v2\nservice: x\n", "x.yml:1", "not a format obsgen imports"),
    ("version: prometheus/v1\nslos: []\n", "x.yml:1: service", "required field is missing"),
    ("version: prometheus/v1\nservice: x\nslos:\n  - {name: a, objective: 99, sli: {raw: {error_ratio_query: q}}}\n",
     "x.yml:4: slos[0].sli.raw.error_ratio_query", "needs [{{.window}}] ranges"),
    ("version: prometheus/v1\nservice: x\nslos:\n  - {name: a, objective: 99, sli: {plugin: {id: sloth-common/x}}}\n",
     "x.yml:4: slos[0].sli.plugin", "SLI plugin 'sloth-common/x' is Go code Sloth runs"),
    ("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: x\n  budgetingMethod: Timeslices\n",
     "x.yml:6: spec.budgetingMethod", "'Timeslices' is not supported"),
    ("apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: a}\nspec: {target: lots, indicator: {}}\n",
     "x.yml:4: spec.target", 'a percentage such as "99.5"'),
    ("apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: a}\nspec:\n  target: '99'\n  indicator:\n"
     "    ratio: {errors: {metric: 'e{code=\"5\"}'}, total: {metric: e}, grouping: [service, method]}\n",
     "x.yml:7: spec.indicator.ratio.grouping", "grouping by 'service'"),
    ("version: prometheus/v1\nservice: x\nslos:\n  - name: a\n    objective: 99\n    sli:\n      events:\n"
     "        error_query: sum(histogram_share(0.5, rate(d_bucket[{{.window}}])))\n        total_query: sum(rate(t[{{.window}}]))\n",
     "x.yml:8: slos[0].sli.events.error_query", "not PromQL, so no Prometheus can run it"),
    ("groups:\n  - name: sloth-slo-sli-recordings\n    rules: []\n", "x.yml:1: groups", "a Prometheus rule file"),
    ("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: x\n  budgetingMethod: Occurrences\n  objectives:\n"
     "    - {target: 0.99, compositeWeight: 2}\n", "x.yml:7: spec.objectives", "gives each objective its own indicator"),
    ("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: x\n  budgetingMethod: Occurrences\n  objectives:\n"
     "    - {target: 0.99, compositeWeight: -1, indicatorRef: s}\n    - {target: 0.9, indicatorRef: s}\n---\napiVersion: openslo/v1\n"
     "kind: SLI\nmetadata: {name: s}\nspec: {ratioMetric: {counter: true, bad: {metricSource: {type: Prometheus, spec: {query: e}}}, total: {metricSource: {type: Prometheus, spec: {query: t}}}}}\n",
     "x.yml:8: spec.objectives[0].compositeWeight", "a weight above 0"),
])
def test_bad_input_is_a_spec_error_with_file_and_line(text: str, where: str, fragment: str) -> None:
    with pytest.raises(SpecError) as caught:
        import_files([("x.yml", text)])
    assert any(str(i).startswith(where) and fragment in str(i) for i in caught.value.issues), caught.value.issues


def test_import_refuses_to_overwrite_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    first = run_obsgen("import", str(IMPORTS / "sloth-crd-ledger.yml"), "--out", str(tmp_path))
    assert first.returncode == 0, first.stderr
    again = run_obsgen("import", str(IMPORTS / "sloth-crd-ledger.yml"), "--out", str(tmp_path))
    assert again.returncode == 4 and "exist already" in again.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("version: prometheus/v1\nservice: x\n")
    result = run_obsgen("import", str(bad), "--out", str(tmp_path / "new"))
    assert result.returncode == 2 and "bad.yml:1: slos: required field is missing" in result.stderr and "Traceback" not in result.stderr


def test_an_openslo_composite_imports_as_its_parts_and_a_composite_over_them(tmp_path: Path) -> None:
    result = run_obsgen("import", str(FIXTURES / "openslo" / "slo" / "journey.yaml"), "--out", str(tmp_path / "slo"))
    assert result.returncode == 0, result.stderr
    assert "composite SLO 'purchase': one SLO per objective" in result.stdout and "its objective 99.225%" in result.stdout
    slos = yaml.safe_load((tmp_path / "slo" / "journey.yaml").read_text())["slos"]
    assert [s["name"] for s in slos] == ["purchase-cart", "purchase-payment", "purchase"]
    assert slos[2]["sli"] == {"composite": {"parts": [{"slo": "purchase-cart", "weight": 1.0}, {"slo": "purchase-payment", "weight": 3.0}]}}
    project = load_project(tmp_path)
    assert [p.ref for p in project.service("journey").slos[2].sli.parts] == ["journey/purchase-cart", "journey/purchase-payment"]  # type: ignore[union-attr]
