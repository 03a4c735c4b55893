"""Prometheus durations (`5m`, `1h`, `30d`): parsing and canonical formatting."""
from __future__ import annotations

import functools
import re

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> int:
    """Seconds in a Prometheus duration; ValueError when it is not one."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 5m, 1h, 7d or 30d")
    return sum(int(n) * s for n, s in zip(match.groups(), _UNITS.values()) if n)


@functools.lru_cache(maxsize=256)  # a handful of windows, formatted for every rule
def format_duration(seconds: int) -> str:
    """Shortest form with one unit where possible: 300 -> 5m, 2592000 -> 30d.

    Days rather than weeks, since `28d` and `7d` read better in rule names than `4w` and `1w`.
    """
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {seconds}s")
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def human_duration(seconds: float) -> str:
    """Readable span for reports and alert text: `43m 12s`, `2d 2h`."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2])
