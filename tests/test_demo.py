"""The demo's time compression: every range, subquery step and offset 60 times shorter."""
from __future__ import annotations

from demo.stack import compress_expr


def test_simple_and_compound_ranges_steps_and_offsets_are_compressed() -> None:
    assert compress_expr("sum(rate(x[5m]))") == "sum(rate(x[5s]))"
    assert compress_expr("avg_over_time(r[30d:1h])") == "avg_over_time(r[12h:1m])"
    # A compound duration is one range, not a number followed by garbage.
    assert compress_expr("avg_over_time(r[7d12h:1h])") == "avg_over_time(r[3h:1m])"
    assert compress_expr("sum(rate(x[10m] offset 1w2d))") == "sum(rate(x[10s] offset 3h36m))"
