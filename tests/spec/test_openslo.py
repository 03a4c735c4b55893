"""OpenSLO documents in slo/ compile exactly as the same SLOs written in obsgen's own spec."""
from __future__ import annotations

from tests.conftest import FIXTURES, artifacts_at, project_at

OPENSLO, NATIVE = FIXTURES / "openslo", FIXTURES / "openslo-native"


def test_openslo_v1_and_v1alpha_read_as_the_native_spec() -> None:
    ours, theirs = project_at(OPENSLO), project_at(NATIVE)
    for service in theirs.services:
        got = ours.service(service.name)
        assert got is not None and (got.team, got.runbook) == (service.team, service.runbook)
        for slo, expected in zip(got.slos, service.slos, strict=True):
            assert (slo.name, slo.objective, slo.period, slo.sli, slo.tiers, slo.no_data) == (
                expected.name, expected.objective, expected.period, expected.sli, expected.tiers, expected.no_data)


def test_openslo_rules_and_tests_equal_the_native_ones() -> None:
    """Byte for byte: the promtool tests proven on native specs prove these too (running promtool
    on them again would cost a minute per generation and prove nothing new)."""
    for path, text in artifacts_at(NATIVE).items():
        if path.startswith("prometheus/"):
            assert artifacts_at(OPENSLO)[path] == text, path


def test_the_alert_policy_note_says_what_was_replaced() -> None:
    (slo, _) = project_at(OPENSLO).service("checkout").slos  # type: ignore[union-attr]
    assert "OpenSLO alert policies page-on-fast-burn: each burn-rate condition is a tier" in slo.description
    assert "alertAfter (5m) is left to the short window" in slo.description
    (tier,) = slo.tiers
    assert (tier.severity, tier.long_window, tier.short_window, float(tier.burn_rate(slo.period))) == ("critical", 3600, 300, 14.4)
