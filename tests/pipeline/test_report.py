from __future__ import annotations

import re

from obsgen.core import slo_math as burnrate
from obsgen.pipeline.report import report
from tests.conftest import FIXTURES, ROOT, project_at, run_obsgen


def _text() -> str:
    return report(project_at(ROOT))


def _section(name: str) -> str:
    start = _text().index(f"### {name}")
    end = _text().find("\n### ", start + 1)
    return _text()[start:end if end > 0 else None]


def test_workbook_figures_for_999_over_30_days() -> None:
    section = _section("pup-api / availability")
    assert "43m 12s of total outage (43.2 minutes) per 30d" in section
    # 0.001 / 1.0 x 1h x 14.4 = 51.84 s; at twice the threshold the window fills halfway: 30m.
    # Proven: the first minute after 52 s (Prometheus 3 may fire a minute earlier than 2), and
    # cleared within the short window plus a minute of the errors stopping.
    assert "| critical | 1h / 5m | 14.4x | 1.44% | 52s | 1m | 30m | 2% | 4-5m |" in section
    assert "| critical | 6h / 30m | 6x | 0.6% | 2m 10s | 2-3m | 3h | 5% | 29-30m |" in section
    assert "| warning | 1d / 2h | 3x | 0.3% | 4m 19s | 1-2m | 12h | 10% | 119-120m |" in section
    assert "| warning | 3d / 6h | 1x | 0.1% | 4m 19s | 1m | 1d 12h | 10% | 359-360m |" in section
    assert "at least 50 events" in section


def test_28_day_figures_and_disabled_tiers() -> None:
    assert "| critical | 1h / 5m | 13.44x | 6.72% |" in _section("ai-provider / success")
    latency = _section("pup-api / latency")
    assert "| warning (off) | 1d / 2h |" in latency and "| critical | 1h / 5m |" in latency


def test_figures_come_from_burnrate() -> None:
    tier = burnrate.DEFAULT_TIERS[1]
    spent = float(burnrate.budget_spent_when_fired(tier, 28 * burnrate.DAY)) * 100
    assert f"| {spent:.4g}% | 22m |" in _section("ai-provider / latency")  # a 28% threshold clears early


def test_explain_prints_the_committed_report() -> None:
    result = run_obsgen("explain")
    assert result.returncode == 0
    assert result.stdout == _text() == (ROOT / "output" / "SLO_REPORT.md").read_text()


def test_report_says_which_pages_an_inhibition_can_suppress() -> None:
    assert "- Muted: while `ai-provider` has a critical alert firing, this SLO's alerts (pages included) do not notify." in _section(
        "pup-workers / job-success"
    )
    assert "Muted" not in _section("pup-api / availability")  # depends on ai-provider without muting
    assert "mutes `pup-workers/job-success`" in _section("ai-provider / success")


def test_report_follows_custom_tiers_groups_and_sli_kinds() -> None:
    text = report(project_at(FIXTURES / "slo-kinds"))
    cart_latency = text[text.index("### cart / latency"):text.index("### search / availability")]
    assert "- Tiers: this SLO's own, in place of the SRE Workbook's four." in cart_latency
    rows = [line for line in cart_latency.splitlines() if line.startswith("| critical |")]
    assert [row.split(" | ")[1] for row in rows] == ["30m / 5m", "4h / 20m"]  # its tiers, not the Workbook's
    search = text[text.index("### search / availability"):]
    assert "- Per `route`: every group has this budget of its own" in search
    assert "and at least 20 events (`min_events`) (per group)." in search
    assert "| critical 1h / 5m | 18 | 4m 30s | 4m 19s |" in search  # a probe: 4 samples a minute, so 18 failed checks
    assert "from the native histogram `search_duration_seconds{job=\"search\"}`" in search
    assert "samples in which `probe_success{" in text


def test_each_slo_has_a_detection_chart_with_a_text_alternative() -> None:
    from obsgen.pipeline.compile import compile_project

    artifacts = compile_project(project_at(ROOT))
    text = artifacts["SLO_REPORT.md"]
    charts = sorted(path for path in artifacts if path.startswith("report/") and path.endswith(".svg"))
    # One chart per distinct objective, period and tiers: pup-api/availability and pup-workers/job-success share one.
    slos = [(s.name, slo) for s in project_at(ROOT).services for slo in s.slos]
    assert len(charts) == len({(slo.objective, slo.period, slo.tiers) for _, slo in slos}) == len(slos) - 1
    for service, slo in slos:
        section = text[text.index(f"### {service} / {slo.name}"):]
        assert re.search(rf"\]\(report/detection-{re.escape(f'{slo.objective:g}')}-[^)]*\.svg\)", section.split("### ")[1])
    for path in charts:
        assert f"]({path})" in text  # shown in SLO_REPORT.md
        svg = artifacts[path]
        assert svg.startswith('<svg role="img" aria-labelledby=') and "<title id=" in svg and "<desc id=" in svg
        assert "Date" not in svg and "<path" in svg
    availability = artifacts["report/detection-99.9-30d.svg"]  # pup-api/availability's: the Workbook's tiers
    assert "critical 1h/5m from 1.4400% errors, in 52s at 100%" in availability  # the Workbook's 0.864 minutes
    # Each tier its own colour and dash, named beside its line; the two tickets that spend 10% each are said to meet.
    styles = re.findall(r'<path d="M[^"]*" stroke="(#[0-9a-f]+)" stroke-width="1.8"( stroke-dasharray="[^"]+")?', availability)
    assert len(styles) == 8 and len(set(styles)) == 4  # four lines, four legend entries, four styles
    for tag in ("1h/5m", "6h/30m", "1d/2h", "3d/6h"):
        assert f'font-size="10">{tag}</text>' in availability
    assert "Lines that meet: 1d/2h and 3d/6h (10% of the budget)" in availability
