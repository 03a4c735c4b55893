"""The replay's PromQL semantics, each against what Prometheus does, and every rule shape the
generator writes replayable (a shape the replay cannot evaluate would raise, never differ silently)."""
from __future__ import annotations

import numpy as np
import promql_parser as pp
import pytest

from obsgen.core.rules import AlertRule, RecordingRule, RuleGroup
from obsgen.live.replay import Frame, Replay, Timeline, Unsupported, held, key, render, runs, server_parts
from obsgen.prometheus import slo_rules
from obsgen.spec.load import load_project
from tests.conftest import FIXTURES, ROOT

TIMELINE = Timeline(0, 6)


def _series(*values: float | None) -> tuple[np.ndarray, np.ndarray]:
    present = np.array([v is not None for v in values])
    return np.array([np.nan if v is None else v for v in values], float), present


def _replay(rules: list[RecordingRule | AlertRule], fetched: dict[str, Frame]) -> Replay:
    return Replay(TIMELINE, fetched).run([RuleGroup("g", tuple(rules), 60)])


def _values(frame: Frame) -> dict[tuple[tuple[str, str], ...], list[float | None]]:
    """The frame's series as lists, None where absent; a series never present is no series."""
    return {k: [float(x) if p else None for x, p in zip(v, present)] for k, (v, present) in frame.items() if present.any()}


def _condition(replay: Replay) -> tuple[dict[str, str], list[bool]]:
    ((labels, (_, active)),) = [(k, v) for k, v in replay.alerts[0][1].items() if v[1].any()]
    return dict(labels), active.tolist()


RAW = render(pp.parse("sum(rate(x[5m]))"))  # a server part, as the replay names it


def test_or_on_nothing_fills_only_the_minutes_the_left_side_lacks() -> None:
    replay = _replay([
        RecordingRule("a", RAW, {"s": "1"}),
        RecordingRule("b", 'a{s="1"} offset 2m or on () vector(0)', {"s": "1"}),
    ], {RAW: {(): _series(1, 2, 3, None, 5, 6)}})
    # The offset series exists from minute 2 but not at 5 (a had no sample at 3): vector(0) there.
    assert _values(replay.recorded["b"]) == {key({"__name__": "b", "s": "1"}): [0, 0, 1, 2, 3, 0]}


def test_one_to_one_on_nothing_keeps_no_labels_and_matches_whichever_side_is_present() -> None:
    replay = _replay([
        RecordingRule("a", RAW, {"s": "1", "t": "2"}),
        RecordingRule("sum", '(a{s="1"} + on () (a{s="1"} offset 1m or on () vector(0))) / 2', {"s": "1"}),
    ], {RAW: {(): _series(2, 4, 6, 8, None, 10)}})
    # Minute 0: 2 + 0 (no history: vector(0)); minute 4: a absent, so the sum is absent.
    assert _values(replay.recorded["sum"]) == {key({"__name__": "sum", "s": "1"}): [1, 3, 5, 7, None, 5]}


def test_comparison_filters_keep_the_left_value_and_chain() -> None:
    replay = _replay([
        RecordingRule("e", RAW, {}),
        AlertRule("A", "(e * 10) > (e + 1) ^ 2 >= 3", {"severity": "page"}, {}),
    ], {RAW: {(): _series(0.1, 0.5, 1, 2, 5, 9)}})
    # 10e > (e+1)^2 holds for e in (0.127, 7.87); then 10e >= 3 needs e >= 0.3.
    assert _condition(replay) == ({"severity": "page"}, [False, True, True, True, True, False])


def test_and_on_labels_and_absent() -> None:
    fetched = {RAW: {(("route", "/a"),): _series(1, 1, None, 1, 1, 1), (("route", "/b"),): _series(5, None, 5, 5, 5, 5)}}
    replay = _replay([
        RecordingRule("r", RAW, {"s": "x"}),
        RecordingRule("big", 'r{s="x"} > 2', {}),
        RecordingRule("both", 'r{s="x"} and on (route) big', {}),
        AlertRule("NoData", 'absent(r{s="x", route="/a"})', {}, {}),
    ], fetched)
    assert _values(replay.recorded["both"]) == {key({"__name__": "both", "route": "/b", "s": "x"}): [5, None, 5, 5, 5, 5]}
    assert _condition(replay) == ({"route": "/a", "s": "x"}, [False, False, True, False, False, False])


def test_for_holds_an_alert_back_and_runs_find_each_firing() -> None:
    active = np.array([1, 1, 1, 0, 1, 1, 1, 1, 0, 1], bool)
    assert held(active, 2).tolist() == [0, 0, 1, 0, 0, 0, 1, 1, 0, 0]
    assert held(active, 0).tolist() == active.tolist()
    assert runs(active) == [(0, 3), (4, 8), (9, 10)]


def test_what_the_replay_cannot_evaluate_is_refused() -> None:
    with pytest.raises(Unsupported, match="group_left"):
        _replay([RecordingRule("a", RAW, {}), RecordingRule("b", "a * on () group_left (x) a", {})], {RAW: {(): _series(1, 1, 1, 1, 1, 1)}})


@pytest.mark.parametrize("specs", [ROOT, FIXTURES / "slo-kinds", FIXTURES / "backtest", FIXTURES / "nines"])
def test_every_generated_paging_rule_replays(specs) -> None:
    """Each SLO shape (ratio, latency classic and native, probe, per-group, custom tiers): its raw
    reads are server parts and the rest evaluates, every alert with a condition per label set."""
    project = load_project(specs)
    rng = np.random.default_rng(1)
    timeline = Timeline(0, 120)
    for service in project.services:
        for paging, _ in slo_rules.slo_groups(service):
            parts = server_parts([paging])
            assert parts and not any("slo:" in p for p in parts), parts
            fetched = {p: {(("route", "/a"),) if "route" in p else (): (rng.random(timeline.steps), np.ones(timeline.steps, bool))}
                       for p in parts}
            replay = Replay(timeline, fetched).run([paging])
            alerts = [r for r in paging.rules if isinstance(r, AlertRule)]
            assert len(replay.alerts) == len(alerts) and all(condition for _, condition in replay.alerts), paging.name


def test_backtest_applies_the_generated_inhibitions() -> None:
    """A faster page mutes a slower one and the same SLO's ticket; a dependency's page mutes its
    dependants' SLO (the example: ai-provider's critical alerts mute pup-workers' job-success)."""
    from obsgen.alertmanager.config import inhibitions
    from obsgen.live.backtest import _inhibited

    def alert(service: str, slo: str, window: str, severity: str) -> tuple[tuple[str, str], ...]:
        return key({"alertname": "ErrorBudgetBurn", "service": service, "slo": slo, "long_window": window, "severity": severity})

    on, off = np.array([1, 1, 1, 0], bool), np.array([0, 1, 1, 1], bool)
    fast, slow, ticket = alert("pup-api", "availability", "1h", "critical"), alert("pup-api", "availability", "6h", "critical"), \
        alert("pup-api", "availability", "1d", "warning")
    provider, workers = alert("ai-provider", "success", "1h", "critical"), alert("pup-workers", "job-success", "1h", "critical")
    other = alert("pup-api", "latency", "6h", "critical")
    muted = _inhibited({fast: on, slow: off, ticket: off, provider: on, workers: off, other: off}, inhibitions(load_project(ROOT)))
    assert muted[slow].tolist() == [False, True, True, False]  # while the 1h page fires
    assert muted[ticket].tolist() == [False, True, True, True]  # the 6h page mutes it too, muted itself or not (as Alertmanager)
    assert muted[workers].tolist() == [False, True, True, False]
    assert not muted[fast].any() and not muted[provider].any() and not muted[other].any()  # another SLO is its own page


def test_a_selected_slo_brings_the_services_that_can_mute_it() -> None:
    from obsgen.live.backtest import targets

    chosen = targets(load_project(ROOT), slos=["pup-workers/job-success"])
    assert [(t.service.name, t.slo.name, t.context) for t in chosen if not t.context] == [("pup-workers", "job-success", False)]
    assert {t.service.name for t in chosen if t.context} == {"ai-provider"}  # its critical pages mute job-success


def test_server_parts_are_written_as_prometheus_reads_them() -> None:
    """Label values keep their escapes (the example's `le=~"10|10\\\\.0"`), and every part parses back
    to the same expression, so the server answers exactly what the rule reads."""
    project = load_project(ROOT)
    parts = [p for s in project.services for paging, _ in slo_rules.slo_groups(s) for p in server_parts([paging])]
    assert any('le=~"10|10\\\\.0"' in p for p in parts), parts
    for part in parts:
        assert render(pp.parse(part)) == part
    tricky = 'sum by (route) (rate(x{a=~"b\\\\.c", d="q\\"z"}[5m] offset 1h)) > bool on (route) group_left (t) -max_over_time(y[1h:5m])'
    written = render(pp.parse(tricky))
    assert render(pp.parse(written)) == written and 'a=~"b\\\\.c"' in written and 'd="q\\"z"' in written
