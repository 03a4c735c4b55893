"""The bad-input corpus: tests/fixtures/corpus/*.case, each a change to the base project
(tests/fixtures/corpus/_base) and what obsgen must answer.

A case file:

    # expect: 2 slo/api.yaml:10 slos[0].objective | must be a number
    # run: generate                      (optional; the obsgen command, default generate)
    # setup: out-is-a-file               (optional; see SETUPS)
    # needs: logql                       (optional; a real checker the case needs: `logql` for
                                          Grafana's LogQL grammar; `validate` cases need promtool)
    --- edit slo/api.yaml                (replace the '-' lines, found once in the file, by the '+' lines)
    -    objective: 99.9
    +    objective: .nan
    --- file alerts/extra.yaml           (write a whole file)
    ...
    --- latin1 slo/x.yaml                (a whole file, encoded as Latin-1: not UTF-8)
    --- delete obsgen.yaml
    --- symlink slo/gone.yaml -> nowhere.yaml

(As root a chmod cannot make a folder read-only: cases point --out at /sys for that.)
Each `expect` line is one error obsgen must print: exit status, `file:line` (or `file`, or `-`),
field (or `-`) and a fragment of the message. A failing generate must print exactly those errors,
no traceback, and leave the output folder as it was.

Run as `python -m tests.corpus CASE...`: every case runs in this one process under a memory limit
and a time limit, and the results are printed as JSON (the tests read them).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
BASE = CORPUS / "_base"
MEMORY_LIMIT = 2 << 30  # bytes of address space for the whole run; the alias bomb once took 3.6 GB
TIME_LIMIT = 60  # seconds per case; the slowest legitimate case takes well under one

EXPECT = re.compile(r"# expect: (?P<status>\d) (?P<where>\S+) (?P<field>\S+) \| (?P<fragment>.+)")


@dataclass(frozen=True)
class Expect:
    status: int
    where: str  # 'file:line', 'file' or '-'
    field: str  # '-' for none
    fragment: str

    def matches(self, line: str) -> bool:
        """`line` is the error this expects; `validate` says `invalid:` where the others say `error:`."""
        line = line.replace("invalid: ", "error: ", 1) if line.startswith("invalid: ") else line
        prefix = "error: "
        if self.where != "-":
            prefix += f"{self.where}: "
            if not line.startswith(prefix) or (self.where.count(":") == 0 and re.match(r"\d+: ", line[len(prefix):])):
                return False
        if self.field != "-":
            prefix += f"{self.field}: "
        return line.startswith(prefix) and self.fragment in line[len(prefix):]


@dataclass
class Case:
    name: str
    expects: list[Expect]
    run: list[str]
    setup: str = ""
    needs: list[str] = field(default_factory=list)  # real checkers: such a case is in the `tools` tier
    changes: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (verb, argument, body lines)

    @classmethod
    def parse(cls, path: Path) -> Case:
        lines = path.read_text(encoding="utf-8").splitlines()
        case = cls(path.stem, [], ["generate"])
        header = True
        for line in lines:
            if header and line.startswith("# "):
                if m := EXPECT.fullmatch(line):
                    case.expects.append(Expect(int(m["status"]), m["where"], m["field"], m["fragment"]))
                elif line.startswith("# run: "):
                    case.run = line.removeprefix("# run: ").split()
                elif line.startswith("# setup: "):
                    case.setup = line.removeprefix("# setup: ")
                elif line.startswith("# needs: "):
                    case.needs += line.removeprefix("# needs: ").split()
                continue
            if line.startswith("--- "):
                header = False
                verb, _, argument = line[4:].partition(" ")
                case.changes.append((verb, argument, []))
            elif not header:
                case.changes[-1][2].append(line)
            else:
                raise ValueError(f"{path.name}: {line!r} before the first '--- ' section")
        if case.run[0] == "validate" and "promtool" not in case.needs:
            case.needs.append("promtool")
        if not case.expects:
            raise ValueError(f"{path.name}: needs at least one '# expect: STATUS WHERE FIELD | fragment' line")
        return case

    def apply(self, specs: Path) -> None:
        for verb, argument, body in self.changes:
            if verb == "file":
                target = specs / argument
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("".join(f"{b}\n" for b in body), encoding="utf-8")
            elif verb == "latin1":  # bytes that are not UTF-8
                (specs / argument).write_bytes("".join(f"{b}\n" for b in body).encode("latin-1"))
            elif verb == "edit":
                target = specs / argument
                old = "".join(f"{b[1:]}\n" for b in body if b.startswith("-"))
                new = "".join(f"{b[1:]}\n" for b in body if b.startswith("+"))
                text = target.read_text(encoding="utf-8")
                if text.count(old) != 1:
                    raise ValueError(f"{self.name}: the '-' lines occur {text.count(old)} times in {argument}")
                target.write_text(text.replace(old, new), encoding="utf-8")
            elif verb == "delete":
                (specs / argument).unlink()
            elif verb == "symlink":
                link, _, target_name = argument.partition(" -> ")
                (specs / link).parent.mkdir(parents=True, exist_ok=True)
                (specs / link).symlink_to(target_name)
            else:
                raise ValueError(f"{self.name}: unknown section '--- {verb}'")


def _out_is_a_file(out: Path) -> None:
    shutil.rmtree(out)
    out.write_text("not a folder\n")


def _out_not_ours(out: Path) -> None:
    shutil.rmtree(out)
    out.mkdir()
    (out / "mine.txt").write_text("precious\n")


def _without_unit_tests(out: Path) -> None:
    """validate cases check what validate finds, not the minutes promtool spends on the base's tests."""
    for test in (out / "prometheus" / "tests").glob("*.yml"):
        test.unlink()


def _rule_file_not_yaml(out: Path) -> None:
    _without_unit_tests(out)
    next((out / "prometheus" / "rules").glob("*.yml")).write_text("groups: [\n  - {name: x\n")


def _dashboard_query_broken(out: Path) -> None:
    _without_unit_tests(out)
    board = out / "grafana" / "dashboards" / "web" / "web-team.json"
    board.write_text(board.read_text().replace("sum(rate(http_requests_total[5m]))", "sum(rate(http_requests_total[5m])"))


SETUPS = {"dashboard-query-broken": _dashboard_query_broken, "out-is-a-file": _out_is_a_file, "out-not-ours": _out_not_ours, "rule-file-not-yaml": _rule_file_not_yaml}


@dataclass
class Outcome:
    status: int | None  # None: the case raised out of main (a traceback) or ran out of time
    stdout: str
    stderr: str
    output_unchanged: bool
    seconds: float
    crashed: str = ""


def _tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {"": folder.read_bytes()} if folder.exists() else {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class _TimeLimit(BaseException):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _TimeLimit()


def run_case(case: Case, work: Path, base_out: Path) -> Outcome:
    from obsgen.cli import main

    specs, out = work / "specs", work / "out" / "output"
    shutil.copytree(BASE, specs, symlinks=True)
    shutil.copytree(base_out, out)
    case.apply(specs)
    SETUPS[case.setup](out) if case.setup else None
    before = _tree(out)
    # Run inside the specs folder, as users do, so messages name files as `slo/api.yaml`.
    argv = list(case.run)
    if argv[0] in ("generate", "validate"):  # other commands say what they need in `# run:`
        argv += [*(["--specs", "."] if "--specs" not in argv else []), *(["--out", "../out/output"] if "--out" not in argv else [])]
    stdout, stderr = io.StringIO(), io.StringIO()
    status: int | None = None
    crashed = ""
    started = time.monotonic()
    cwd = os.getcwd()
    os.chdir(specs)
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = main(argv)
    except _TimeLimit:
        crashed = f"still running after {TIME_LIMIT} s"
    except BaseException as exc:  # noqa: BLE001 - anything escaping main is what the corpus hunts
        crashed = f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        os.chdir(cwd)
    return Outcome(status, stdout.getvalue(), stderr.getvalue(), _tree(out) == before, time.monotonic() - started, crashed)


def main(paths: list[str]) -> int:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    from obsgen.cli import main as obsgen

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base_out = Path(tmp) / "base-output"
        with contextlib.redirect_stdout(io.StringIO()):
            assert obsgen(["generate", "--specs", str(BASE), "--out", str(base_out)]) == 0
        for i, path in enumerate(paths):
            work = Path(tmp) / str(i)
            work.mkdir()
            results[Path(path).stem] = asdict(run_case(Case.parse(Path(path)), work, base_out))
    results["_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # type: ignore[assignment]
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
