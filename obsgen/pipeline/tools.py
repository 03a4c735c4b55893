"""The real checkers, in as many generations as are installed.

A generation is one folder's promtool, prometheus, amtool and alertmanager (Debian's names
included), with the versions they report. `validate` runs its checks with each generation it is
given, so output is proven on Prometheus 2 and 3 in one run.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from obsgen.errors import ToolMissing

TOOL_HINT = (
    "{tool} not found. On Debian or Ubuntu: `sudo apt-get install prometheus` (promtool) and "
    "`prometheus-alertmanager` (amtool); `make tools` installs those and builds the current releases into .tools/bin."
)
_NAMES = {
    "promtool": ("promtool",),
    "prometheus": ("prometheus",),
    "amtool": ("amtool",),
    "alertmanager": ("alertmanager", "prometheus-alertmanager"),  # Debian renames the server
}


@functools.cache
def version_of(binary: str) -> str:
    """What `binary --version` reports, e.g. 2.42.0 or 3.16.0; '' when it says nothing readable."""
    try:
        proc = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    found = re.search(r"version (\d+\.\d+\.\d+)", proc.stdout + proc.stderr)
    return found[1] if found else ""


@dataclass(frozen=True)
class Generation:
    """One release line of the Prometheus tools, as found in one folder (or on PATH)."""

    where: str  # the folder, or "PATH"
    promtool: str | None = None
    prometheus: str | None = None
    amtool: str | None = None
    alertmanager: str | None = None

    @property
    def label(self) -> str:
        """`Prometheus 3.16.0, Alertmanager 0.35.0`: which versions a finding came from."""
        parts = []
        if self.promtool or self.prometheus:
            parts.append(f"Prometheus {version_of(self.promtool or self.prometheus or '') or '?'}")
        if self.amtool or self.alertmanager:
            parts.append(f"Alertmanager {version_of(self.amtool or self.alertmanager or '') or '?'}")
        return ", ".join(parts) or f"no tools in {self.where}"

    def need(self, tool: str) -> str:
        path: str | None = getattr(self, tool)
        if not path:
            raise ToolMissing(TOOL_HINT.format(tool=f"{tool} ({self.where})"))
        return path


def in_folder(folder: Path) -> Generation:
    """The tools in one folder, e.g. .tools/bin."""
    found: dict[str, str | None] = {}
    for tool, names in _NAMES.items():
        found[tool] = next((str(folder / n) for n in names if os.access(folder / n, os.X_OK)), None)
    return Generation(str(folder), **found)


def on_path() -> Generation:
    found: dict[str, str | None] = {tool: next(filter(None, map(shutil.which, names)), None) for tool, names in _NAMES.items()}
    return Generation("PATH", **found)


def generations(folders: list[Path] | None = None) -> list[Generation]:
    """Each folder's tools, then PATH's; a binary found twice counts once."""
    out: list[Generation] = []
    seen: set[str] = set()
    for generation in [*(in_folder(f) for f in folders or []), on_path()]:
        key = os.path.realpath(generation.promtool or generation.amtool or "")
        if generation.promtool is None and generation.amtool is None:
            continue
        if key not in seen:
            seen.add(key)
            out.append(generation)
    return out
