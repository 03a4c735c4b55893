"""Grafana's LogQL grammar (@grafana/lezer-logql), run by node, wherever obsgen is installed.

The checker (obsgen/loki/logql: a small node script and the lock file that pins the grammar) ships
inside the package; the grammar is installed from npm on first use into a cache keyed by the lock
file, so a pip-installed obsgen checks LogQL as a source checkout does.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from obsgen.errors import ToolMissing

PACKAGED = Path(__file__).resolve().parents[1] / "loki" / "logql"
FILES = ("check.mjs", "package.json", "package-lock.json")
INSTALL_TIMEOUT = 300  # seconds for `npm ci`: a hung registry must not hang generate


def cache_root() -> Path:
    """$OBSGEN_CACHE, else $XDG_CACHE_HOME/obsgen, else ~/.cache/obsgen."""
    explicit = os.environ.get("OBSGEN_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "obsgen"


def installed_at() -> Path:
    """Where this version of the checker lives once installed: one folder per lock file."""
    digest = hashlib.sha256(b"".join((PACKAGED / f).read_bytes() for f in FILES)).hexdigest()[:16]
    return cache_root() / "logql" / digest


def checker() -> Path:
    """The checker script with its grammar beside it, installed with npm when missing; ToolMissing
    (with what to do) when node or npm is not there or the install fails."""
    home = installed_at()
    if (home / "node_modules" / "@grafana" / "lezer-logql").is_dir():
        return home / "check.mjs"
    npm = shutil.which("npm")
    if npm is None:
        raise ToolMissing("obsgen checks LogQL with Grafana's grammar, which needs Node.js and npm (20 or later) on PATH")
    staging = home.with_name(f"{home.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        for name in FILES:
            shutil.copyfile(PACKAGED / name, staging / name)
    except OSError as exc:  # a read-only home, a full disk: say so, never a traceback
        raise ToolMissing(f"cannot install Grafana's LogQL grammar into {home.parent} ({exc.strerror}); set OBSGEN_CACHE to a writable folder") from None
    try:
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=staging,
                              capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        shutil.rmtree(staging, ignore_errors=True)
        raise ToolMissing(f"installing Grafana's LogQL grammar with npm took over {INSTALL_TIMEOUT} s; is the npm registry reachable?") from None
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ToolMissing(f"installing Grafana's LogQL grammar with npm failed ({last}); is the npm registry reachable?")
    try:
        staging.rename(home)  # atomic: a concurrent first use finds a whole install or none
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process installed it first
    return home / "check.mjs"


if __name__ == "__main__":  # `make tools`: install it ahead of the first check
    print(checker())
