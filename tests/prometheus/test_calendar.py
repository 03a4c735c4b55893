"""Calendar budgets: the budget resets when a week, month or quarter starts in the SLO's time zone,
in the rules (proven by promtool on both generations) and in the live report and gate."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import zoneinfo
from pathlib import Path

import pytest
import yaml

from obsgen.core import names
from obsgen.live import attainment
from obsgen.model.slo import Calendar
from obsgen.pipeline.compile import compile_project
from obsgen.pipeline.tools import Generation
from obsgen.pipeline.writer import write_output
from obsgen.prometheus import calendar_tests, slo_rules
from tests.conftest import FIXTURES, project_at

SPECS = FIXTURES / "calendar"


def _ts(*args: int, zone: str = "UTC") -> float:
    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(zone)).timestamp()


def test_periods_start_at_local_midnight_daylight_saving_included() -> None:
    paris = Calendar("month", "Europe/Paris")
    assert paris.start(_ts(2026, 7, 15, 12)) == _ts(2026, 7, 1, zone="Europe/Paris") == _ts(2026, 6, 30, 22)  # summer: +02:00
    assert paris.start(_ts(2026, 1, 15)) == _ts(2025, 12, 31, 23)  # winter: +01:00
    assert paris.start(_ts(2026, 6, 30, 22)) == _ts(2026, 6, 30, 22)  # a boundary starts its own period
    assert Calendar("week", "UTC").start(_ts(2026, 12, 10, 9)) == _ts(2026, 12, 7)  # Monday
    assert Calendar("quarter", "America/New_York").start(_ts(2026, 5, 20)) == _ts(2026, 4, 1, zone="America/New_York")
    assert paris.standard_offset == 3600 and Calendar("month", "America/New_York").standard_offset == -5 * 3600


def test_the_spec_resolves_to_a_nominal_period_and_a_calendar() -> None:
    invoices, payouts, statements = project_at(SPECS).service("billing").slos  # type: ignore[union-attr]
    assert (invoices.period, invoices.calendar) == (30 * 86400, Calendar("month", "Europe/Paris"))
    assert (payouts.period, payouts.calendar) == (7 * 86400, Calendar("week", "UTC"))
    assert (statements.period, statements.calendar) == (90 * 86400, Calendar("quarter", "America/New_York"))
    # No rolling period window: the hours since the period started, read from the 1h recording.
    assert 30 * 86400 not in slo_rules.slo_windows(invoices) and 3600 in slo_rules.slo_windows(invoices)


def test_the_report_spans_and_the_rules_reset_at_the_same_instant() -> None:
    """The live report's months are the calendar's, in the SLO's zone; the rules' first boundary
    after promtool's start is the same instant (1970 had no daylight saving in Paris)."""
    cal = Calendar("month", "Europe/Paris")
    spans = attainment.months(_ts(2026, 2, 15), _ts(2026, 4, 15), cal.zone)
    assert [s.label for s in spans] == ["February 2026", "March 2026", "April 2026"]
    assert spans[1].start == _ts(2026, 3, 1, zone="Europe/Paris") and spans[1].end == _ts(2026, 4, 1, zone="Europe/Paris")
    assert calendar_tests.first_boundary(cal) == cal.start(_ts(1970, 2, 1, 12)) == 31 * 86400 - 3600


def test_the_budget_reads_what_the_period_group_records() -> None:
    invoices = project_at(SPECS).service("billing").slos[0]  # type: ignore[union-attr]
    _, period = slo_rules.slo_groups(project_at(SPECS).service("billing"))[0]  # type: ignore[arg-type]
    records = {r.record: r.expr for r in period.rules}
    assert set(records) >= {names.calendar_count("total", "month"), names.calendar_count("errors", "month"), "slo:sli_error:ratio_month"}
    assert "slo:sli_error:ratio_month" in records[names.BUDGET_REMAINING]
    assert "[31d:1h]" in records[names.calendar_count("errors", "month")] and "[55m:5m]" in records[names.calendar_count("errors", "month")]
    assert invoices.calendar is not None


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("calendar")
    write_output(compile_project(project_at(SPECS)), folder)
    return folder / "prometheus" / "tests"


@pytest.mark.tools
@pytest.mark.parametrize("name", ["invoices", "payouts", "statements"])
def test_the_reset_is_proven_in_promtool(name: str, out: Path, generation: Generation) -> None:
    path = out / f"billing.{name}.period.test.yml"
    assert "budget resets at" in yaml.safe_load(path.read_text())["tests"][0]["name"]
    result = subprocess.run([generation.need("promtool"), "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.tools
def test_a_budget_that_does_not_reset_fails_the_proof(out: Path, tmp_path: Path, promtool: str) -> None:
    """Every hour of the range counted, whatever its period: the old month's errors leak into the new one."""
    doc = yaml.safe_load((out / "billing.invoices.period.test.yml").read_text())
    for check in doc["tests"][0]["promql_expr_test"]:
        for j in (0, 1, 2):
            check["expr"] = check["expr"].replace(f"% 3 == {j}))[31d:1h]", "% 1 == 0))[31d:1h]")
    (tmp_path / "test.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(tmp_path / "test.yml")], capture_output=True, text=True)
    assert result.returncode != 0, "a budget that never resets went unnoticed"


def test_the_report_and_the_dashboard_follow_the_calendar() -> None:
    from obsgen.grafana import dashboards
    from obsgen.pipeline.report import report

    text = report(project_at(SPECS))
    assert "over each calendar month (Europe/Paris): the budget resets when it starts; burn rates count a 30d month" in text
    assert "per 7d week." in text
    board = json.loads(dashboards.service_dashboard(project_at(SPECS).service("billing")))  # type: ignore[arg-type]
    stat = next(p for p in board["panels"] if p.get("title") == "invoices: SLI over calendar month (Europe/Paris)")
    assert stat["targets"][0]["expr"] == '1 - slo:sli_error:ratio_month{service="billing", slo="invoices"}'
