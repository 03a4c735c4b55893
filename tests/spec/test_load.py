"""Spec loading: every kind of bad input gets one clear file:line: field: message."""
from __future__ import annotations

from pathlib import Path

import pytest

from obsgen.core import promql
from obsgen.core.guard import Guard
from obsgen.errors import SpecError
from obsgen.model.slo import ProbeSLI, RatioSLI
from obsgen.spec.load import field_path, load_project
from tests.conftest import ROOT, run_obsgen, slo_of


def test_all_problems_in_a_file_are_reported_together(tmp_path: Path) -> None:
    spec = tmp_path / "slo" / "api.yaml"
    spec.parent.mkdir()
    spec.write_text(
        "service: api\nteam: web\nrunbook: https://r.example.com\nslos:\n"
        "  - name: a\n    objective: 100\n    sli: {ratio: {errors: e, total: t}}\n"
        "  - name: b\n    objective: 99\n    period: 30x\n    sli: {ratio: {errors: e, total: t}}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_project(tmp_path)
    assert [(i.line, i.field) for i in caught.value.issues] == [(6, "slos[0].objective"), (10, "slos[1].period")]


def test_duplicate_service_names_across_files(tmp_path: Path) -> None:
    (tmp_path / "slo").mkdir()
    body = "service: api\nteam: web\nrunbook: https://r.example.com\nslos:\n  - {name: a, objective: 99, sli: {ratio: {errors: e, total: t}}}\n"
    (tmp_path / "slo" / "a.yaml").write_text(body)
    (tmp_path / "slo" / "b.yaml").write_text("# the same service again\n" + body)
    with pytest.raises(SpecError) as caught:
        load_project(tmp_path)
    (issue,) = caught.value.issues
    assert issue.file.endswith("slo/b.yaml") and issue.line == 2 and issue.field == "service"
    assert "already defined at" in issue.message and "slo/a.yaml:1" in issue.message


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "slo").mkdir()
    (tmp_path / "slo" / "README.txt").write_text("not a spec")
    with pytest.raises(SpecError, match="no service specs found"):
        load_project(tmp_path)
    result = run_obsgen("generate", "--specs", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "no service specs found" in result.stderr
    assert not (tmp_path / "out").exists()


def test_empty_file_and_non_mapping_are_errors(tmp_path: Path) -> None:
    (tmp_path / "slo").mkdir()
    (tmp_path / "slo" / "empty.yaml").write_text("")
    (tmp_path / "slo" / "list.yaml").write_text("- service: api\n")
    with pytest.raises(SpecError) as caught:
        load_project(tmp_path)
    assert [i.file.rsplit("/", 1)[-1] for i in caught.value.issues] == ["empty.yaml", "list.yaml"]
    assert all("expected a mapping" in i.message for i in caught.value.issues)


def test_bundled_example_loads() -> None:
    project = load_project(ROOT)
    assert {s.name for s in project.services} == {"pup-api", "pup-workers", "ai-provider", "pup-journeys"}
    api = next(s for s in project.services if s.name == "pup-api")
    assert [(slo.name, slo.objective, slo.group_by) for slo in api.slos] == [
        ("availability", 99.9, ()), ("accounts", 99.99, ()), ("latency", 99, ("route",)), ("reachable", 99.9, ()),
    ]
    assert isinstance(api.slos[3].sli, ProbeSLI)
    assert api.slos[1].expected_rate == 1000 / 60 and api.slos[1].guard == Guard()


def test_durations_and_selectors_are_parsed_once_by_the_loader() -> None:
    slo = slo_of({"name": "a", "objective": 99, "period": "4w", "sli": {"ratio": {"errors": 'e{code="5"}', "total": "t"}}})
    assert slo.period == 28 * 86400
    assert isinstance(slo.sli, RatioSLI) and slo.sli.errors == promql.Selector.of("e", code="5")
    assert [t.severity for t in slo.tiers] == ["critical", "critical", "warning", "warning"]
    quiet = slo_of({"name": "a", "objective": 99, "sli": {"ratio": {"errors": "e", "total": "t"}}, "alerting": {"warning": False}})
    assert [t.severity for t in quiet.tiers] == ["critical", "critical"]


def test_field_path() -> None:
    assert field_path(("slos", 0, "sli", "ratio", "errors")) == "slos[0].sli.ratio.errors"
    assert field_path(()) == ""


@pytest.mark.parametrize(("objective", "period", "scaled"), [(90, "28d", ["1h"]), (80, "30d", ["1h", "6h"]), (99, "30d", [])])
def test_a_low_objective_scales_the_workbook_tiers_it_could_never_fire(objective: float, period: str, scaled: list[str]) -> None:
    """A total outage burns 1/budget: 10x at 90%. The Workbook's 13.44x 1h tier (28d) could never fire,
    so it fires at half its window failing instead; the tiers that can fire keep their burn rates."""
    from obsgen.core import slo_math
    from obsgen.core.durations import format_duration

    slo = slo_of({"name": "batch", "objective": objective, "period": period,
                  "sli": {"ratio": {"errors": 'e_total{job="x"}', "total": 't_total{job="x"}'}}})
    changed = [t for t, d in zip(slo.tier_set, slo_math.DEFAULT_TIERS, strict=True) if t != d]
    assert [format_duration(t.long_window) for t in changed] == scaled
    for tier in slo.tiers:
        assert slo_math.time_to_fire(tier, objective, slo.period, 1.0) is not None  # every tier fires in a total outage
    for tier in changed:
        assert slo_math.threshold(tier, objective, slo.period) == slo_math.SCALED_THRESHOLD
    kept = [t for t in slo.tier_set if t not in changed]
    assert all(slo_math.can_fire(t, objective, slo.period) and t in slo_math.DEFAULT_TIERS for t in kept)


def test_tiers_a_user_wrote_are_never_scaled(tmp_path: Path) -> None:
    slo = tmp_path / "slo"
    slo.mkdir()
    (slo / "api.yaml").write_text(
        "service: api\nteam: web\nrunbook: https://runbooks.example.com/api\nslos:\n  - name: availability\n    objective: 90\n"
        "    period: 28d\n    sli: {ratio: {errors: e_total, total: t_total}}\n    alerting:\n      tiers:\n"
        "        - {severity: critical, long: 1h, short: 5m, burn_rate: 13.44}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_project(tmp_path)
    assert "could never fire" in str(caught.value.issues[0]) and "slo/api.yaml:11" in str(caught.value.issues[0])
