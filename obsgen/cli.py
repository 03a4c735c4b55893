"""The command line: the only module that parses arguments or prints.

Each command imports what it needs when it runs: push and plan start without the compiler,
grafanalib or pydantic (tests/test_cli.py checks)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from obsgen import __version__
from obsgen.errors import (
    EXIT_CHANGES,
    EXIT_FAILED,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_REFUSED,
    CannotDecide,
    ObsgenError,
    OutputError,
    RemoteError,
    SpecError,
    ToolMissing,
    ValidationFailed,
)
from obsgen.pipeline import layout
from obsgen.remote import sync

if TYPE_CHECKING:
    from obsgen.remote.prometheus import Prometheus

SCHEMAS = {"slo": "obsgen service spec (slo/*.yaml)", "routing": "obsgen routing spec (alerts/routing.yaml)"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obsgen",
        description="Compile service and SLO specs (slo/*.yaml) into Prometheus recording and "
        "multiwindow, multi-burn-rate alerting rules, promtool unit tests that prove the alerts, and an "
        "alert report; check them all with promtool.",
        epilog="Exit status: 0 success, 1 a failed validation or push, 2 an error in the specs, "
        "3 (plan) a push would change something, 4 the output folder cannot be used (--out), "
        "5 (plan) a push would refuse something (edited, or another owner's).",
    )
    parser.add_argument("--version", action="version", version=f"obsgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate",
        help="compile the specs into OUT (default output/)",
        description="Read SPECS/slo/*.yaml, check them, and replace OUT with the generated files. "
        "On any spec error nothing is written and the exit status is 2.",
    )
    gen.add_argument("--specs", type=Path, default=Path("."), metavar="DIR", help="folder holding slo/ (default: .)")
    gen.add_argument("--out", type=Path, default=Path("output"), metavar="DIR", help="where to write (default: output)")

    val = sub.add_parser(
        "validate",
        help="check the generated files with promtool",
        description="Parse every expression in OUT's rule files, run `promtool check rules` on them and "
        "`promtool test rules` on the generated unit tests. Exit status 1 when any check fails.",
    )
    val.add_argument("--out", type=Path, default=Path("output"), metavar="DIR", help="generated folder (default: output)")
    val.add_argument("--specs", type=Path, default=Path("."), metavar="DIR",
                     help="the specs OUT came from, so LogQL errors name their file and line (default: .)")
    val.add_argument("--tools", type=Path, action="append", default=[], metavar="DIR",
                     help="also check with the promtool and amtool in DIR (repeatable), e.g. a second Prometheus "
                     "generation; the ones on PATH are always used")

    for name, helptext, description in (
        ("plan", "show what a push would change in Grafana",
         "Compare OUT's dashboards and folders with Grafana: per object create, update (with a diff, ignoring id "
         "and version), unchanged, or refused (edited in Grafana since obsgen wrote it, another project's, or not "
         "obsgen's), and why. Exit status 0 when nothing would change, 3 when a push would change something, "
         "5 when a push would refuse something, 1 on an error."),
        ("push", "create folders and save changed dashboards in Grafana",
         "Save every new or changed dashboard of OUT by uid, in its folder, with a message naming the commit. "
         "Unchanged dashboards are not fetched or written again. A dashboard edited in Grafana since obsgen wrote it, "
         "or not obsgen's, is refused unless --force; another project's (project: in obsgen.yaml) never. --prune "
         "deletes this project's dashboards that are no longer generated, never others. "
         "Exit status 1 when anything failed; run it again to finish."),
    ):
        cmd = sub.add_parser(name, help=helptext, description=description)
        cmd.add_argument("--out", type=Path, default=Path("output"), metavar="DIR", help="generated folder (default: output)")
        cmd.add_argument("--grafana-url", metavar="URL", help="Grafana's base URL (default: $GRAFANA_URL)")
        cmd.add_argument("--org-id", type=int, metavar="N", help="organisation id (default: $GRAFANA_ORG_ID, else the token's)")
        _connection_args(cmd, "GRAFANA", "a service-account token")
        cmd.add_argument("--prune", action="store_true", help="also remove obsgen's dashboards (rule groups) that are no longer generated")
        cmd.add_argument(
            "--rules", action="store_true",
            help="rule groups instead of dashboards: Prometheus rules (only the long-window groups with `long_rules: "
            "separate`) to a Mimir ruler ($MIMIR_URL, $MIMIR_TENANT, $MIMIR_TOKEN) or a Cortex ruler ($CORTEX_URL, ...), Loki rules to a Loki ruler ($LOKI_URL, tenant from the folder, $LOKI_TOKEN)",
        )
        if name == "push":
            cmd.add_argument("--force", action="store_true", help="overwrite dashboards edited in Grafana, or not written by obsgen")
            cmd.add_argument("--message", metavar="TEXT", help="version message (default: names the git commit)")

    imp = sub.add_parser(
        "import",
        help="convert Sloth, Pyrra or OpenSLO specs into slo/*.yaml",
        description="Read Sloth (prometheus/v1 and the PrometheusServiceLevel CRD), Pyrra ServiceLevelObjective and "
        "OpenSLO v1/v1alpha files and write one obsgen spec per service into OUT, each SLO commented with where it "
        "came from. Prints a report of every field dropped or approximated. Exit status 2 for input it cannot read; "
        "4 when a spec file it would write exists already.",
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument("--out", type=Path, default=Path("slo"), metavar="DIR", help="where to write (default: slo)")
    imp.add_argument("--team", metavar="TEAM", help="the owning team where a file names none (default: the service's name)")
    imp.add_argument("--runbook", metavar="URL", help="the runbook where a file names none (default: a placeholder URL)")

    check = sub.add_parser(
        "check",
        help="check the specs' selectors against a running Prometheus",
        description="For every selector the specs use (SLIs, operational alerts, dashboard panels): how many series it "
        "selects now and over the last day; for classic latency SLIs, whether the declared buckets exist; whether an "
        "error selector picks series its total does not; how many series (and groups) each SLO reads. Exit status 1 "
        "when an SLI selects nothing or its buckets differ (its alerts could never fire); the rest are warnings.",
    )
    check.add_argument("--specs", type=Path, default=Path("."), metavar="DIR", help="folder holding slo/ (default: .)")
    check.add_argument("--format", choices=("table", "json"), default="table", help="a table (default), or JSON for CI")
    _prometheus_args(check)

    rep = sub.add_parser(
        "report",
        help="write an SLO attainment site from a running Prometheus",
        description="Write a static HTML site (index by team, a page per service) to SITE: per SLO the attainment over "
        "its period ending at --to and over calendar months and weeks from --from, the error budget left, a burn-down "
        "of the budget, the burn rate against the tiers' thresholds, the alerts that fired (from ALERTS) and, for "
        "per-group SLOs, the worst groups. Computed from the raw series at query time. Exit status 1 when no SLO has "
        "any events in the range.",
    )
    rep.add_argument("--specs", type=Path, default=Path("."), metavar="DIR", help="folder holding slo/ (default: .)")
    rep.add_argument("--site", type=Path, default=Path("slo-report"), metavar="DIR", help="where to write (default: slo-report)")
    rep.add_argument("--from", dest="start", type=_instant, metavar="TIME", help="start of the range: 2026-10-01, 2026-10-01T12:00 (UTC) or unix seconds (default: --to minus 30 days)")
    rep.add_argument("--to", dest="end", type=_instant, metavar="TIME", help="end of the range (default: now)")
    _prometheus_args(rep)

    back = sub.add_parser(
        "backtest",
        help="replay the generated SLO alerts over a running Prometheus's history",
        description="Replay every SLO's generated paging rules minute by minute over real history (its raw series, "
        "range-queried): every page and ticket that would have fired, after `for` and Alertmanager's inhibitions, with "
        "its peak burn rate and the budget spent; totals per tier, pages shorter than 10 minutes. --objective, --tiers "
        "and --min-events replay a changed spec; --compare shows both. Exit status 1 when an SLO pages more than "
        "--max-pages times per period, 2 when it cannot decide (bad input, no data, a range beyond retention, no server).",
    )
    back.add_argument("--specs", type=Path, default=Path("."), metavar="DIR", help="folder holding slo/ (default: .)")
    back.add_argument("--from", dest="start", type=_instant, metavar="TIME", help="start of the range (default: --to minus --since)")
    back.add_argument("--to", dest="end", type=_instant, metavar="TIME", help="end of the range (default: now)")
    back.add_argument("--since", type=_seconds, default=None, metavar="DURATION", help="the range's length up to --to, e.g. 30d (default: 7d)")
    back.add_argument("--service", action="append", default=[], metavar="NAME", help="only this service (repeatable)")
    back.add_argument("--slo", action="append", default=[], metavar="SERVICE/NAME", help="only this SLO (repeatable)")
    back.add_argument("--format", choices=("text", "json", "html"), default="text",
                      help="a table per SLO (default), JSON for scripts, or an HTML page with a timeline per SLO in --site")
    back.add_argument("--site", type=Path, default=Path("slo-report"), metavar="DIR", help="where --format html writes backtest.html (default: slo-report)")
    back.add_argument("--objective", type=float, metavar="PERCENT", help="replay with this objective, e.g. 99.95")
    back.add_argument("--tiers", type=Path, metavar="FILE", help="replay with these burn-rate tiers (YAML: `tiers:` as in a spec)")
    back.add_argument("--min-events", type=int, metavar="N", help="replay with this min_events")
    back.add_argument("--compare", action="store_true", help="show the spec and the override side by side")
    back.add_argument("--max-pages", type=float, metavar="N", help="exit 1 when an SLO would page more than N times per period")
    _prometheus_args(back)

    gate = sub.add_parser(
        "gate",
        help="may we deploy? each SLO's error budget left and alerts against its policy",
        description="Ask a running Prometheus for each SLO's error budget left over its period (from the raw series, "
        "the worst group deciding) and its alerts firing, and hold them to the SLO's `policy:` (else: an exhausted "
        "budget or a firing page blocks). Exit status 0: go; 1: blocked (which SLO, the budget left, the alert, the "
        "policy); 2: cannot decide (unreachable, no events, bad input): never a silent go.",
    )
    gate.add_argument("--specs", type=Path, default=Path("."), metavar="DIR", help="folder holding slo/ (default: .)")
    gate.add_argument("--service", action="append", default=[], metavar="NAME", help="only this service (repeatable)")
    gate.add_argument("--slo", action="append", default=[], metavar="SERVICE/NAME", help="only this SLO (repeatable)")
    gate.add_argument("--min-budget", type=_percent, metavar="PERCENT", help="block below this share of the budget left, e.g. 25%% (overrides the specs)")
    gate.add_argument("--no-page-firing", action="store_true", help="block while one of the SLO's pages fires (added to the specs' policy)")
    gate.add_argument("--at", type=_instant, metavar="TIME", help="decide as of this time (default: now)")
    gate.add_argument("--format", choices=("text", "json"), default="text", help="a line per SLO (default), or JSON")
    _prometheus_args(gate)

    explain = sub.add_parser(
        "explain",
        help="print what each alert means: budgets, burn rates, time to fire",
        description="Print the SLO alert report (the same text as OUT/SLO_REPORT.md): per SLO the error budget, "
        "and per alert tier its burn rate, windows, severity, time to fire at 100%% errors and at twice the "
        "threshold, the share of budget spent when it fires, and how long it takes to clear.",
    )
    explain.add_argument("--specs", type=Path, default=Path("."), metavar="DIR", help="folder holding slo/ (default: .)")

    schema = sub.add_parser(
        "schema",
        help="print the JSON Schema of slo/*.yaml, for editors",
        description="Write the JSON Schema of a service spec, e.g. for yaml-language-server's "
        "`# yaml-language-server: $schema=...` comment.",
    )
    schema.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    schema.add_argument(
        "--for", dest="kind", choices=sorted(SCHEMAS), default="slo", help="which spec: slo/*.yaml (default) or alerts/routing.yaml"
    )
    return parser


def _instant(text: str) -> float:
    """A time on the command line: an ISO date or date and time (UTC unless it says), or unix seconds."""
    from datetime import UTC, datetime

    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: give 2026-10-01, 2026-10-01T12:00 or unix seconds") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _seconds(text: str) -> int:
    """A duration on the command line (30d, 12h), read by the model's own type."""
    from pydantic import TypeAdapter, ValidationError

    from obsgen.model.types import Seconds

    try:
        return int(TypeAdapter(Seconds).validate_python(text))
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None


def _percent(text: str) -> float:
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage: give 25 or 25%") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not between 0% and 100%")
    return value


def _connection_args(cmd: argparse.ArgumentParser, prefix: str, token: str) -> None:
    """How to reach a remote: the same flags and <PREFIX>_* variables for every one (remote/http.py)."""
    cmd.add_argument("--token-file", metavar="FILE", help=f"file holding {token} (default: ${prefix}_TOKEN_FILE or ${prefix}_TOKEN)")
    cmd.add_argument("--ca-file", metavar="FILE", help=f"CA bundle to verify its certificate (default: ${prefix}_CA_FILE)")
    cmd.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (not for production)")
    cmd.add_argument("--timeout", type=float, metavar="S", help=f"seconds per request (default: ${prefix}_TIMEOUT or 10)")


def _warn_if_insecure(args: argparse.Namespace) -> None:
    if args.insecure:
        print("warning: --insecure: TLS certificates are not verified; anyone on the path can read the token", file=sys.stderr)


def _prometheus_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--prometheus", metavar="URL", help="Prometheus's base URL; user:password@ for basic auth (default: $PROMETHEUS_URL)")
    _connection_args(cmd, "PROMETHEUS", "a bearer token")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ObsgenError as exc:  # every error a user can cause or meet; its message is safe to print
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code


def _generate(args: argparse.Namespace) -> int:
    from obsgen.grafana.dashboards import service_uid
    from obsgen.pipeline.compile import write_project
    from obsgen.pipeline.layout import LOKI_RULES_DIR, dashboard_file
    from obsgen.pipeline.validate import spec_logql_issues, written
    from obsgen.spec.load import load_project

    project = load_project(args.specs)
    # The LogQL obsgen writes: Loki rules, and the dashboards of services with log signals.
    logged = [dashboard_file(s.dashboard.folder, service_uid(s.name)) for s in project.services if s.ops.logs]

    def check_logql(staged: Path) -> None:
        """Before the output is replaced: a log signal that Grafana's grammar refuses is a spec error."""
        files = dict(written(staged, LOKI_RULES_DIR)) | {d: (staged / d).read_text(encoding="utf-8") for d in logged}
        try:
            issues = spec_logql_issues(files, project.sources)
        except ToolMissing as exc:
            print(f"obsgen: LogQL grammar not checked ({exc}); `obsgen validate` checks it", file=sys.stderr)
        else:
            if issues:
                raise SpecError(issues)

    count = write_project(project, args.out, check=check_logql)
    slos = sum(len(s.slos) for s in project.services)
    print(f"obsgen: {len(project.services)} services, {slos} SLOs -> {count} files in {args.out}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from obsgen.pipeline.tools import generations
    from obsgen.pipeline.validate import native_tests_skipped, validate_output
    from obsgen.spec.load import load_project

    try:
        sources = load_project(args.specs).sources
    except SpecError:
        sources = {}  # validating output whose specs are elsewhere: errors then name the generated file
    tools = generations(args.tools)
    findings = validate_output(args.out, sources, tools)
    if findings:
        raise ValidationFailed([str(f) for f in findings])
    print(f"obsgen: {args.out} is valid (the PromQL of rules and dashboards and the LogQL parse; promtool check rules and test rules, "
          f"amtool check-config and routes test pass with {'; '.join(g.label for g in tools)})")
    for note in native_tests_skipped(args.out, tools):
        print(f"note: {note}")
    return EXIT_OK


def _remotes(args: argparse.Namespace) -> list[sync.Adapter]:
    """The remotes this command syncs: Grafana's dashboards, or with --rules every configured ruler."""
    from obsgen.pipeline.writer import read_project
    from obsgen.remote.grafana import Dashboards, grafana_from_env, load_dashboards
    from obsgen.remote.ruler import PROMETHEUS_RULERS, RuleGroups, local_groups, ruler_from_env

    _warn_if_insecure(args)
    if not args.rules:
        client = grafana_from_env(args.grafana_url, args.token_file, args.org_id, args.ca_file, args.insecure, args.timeout)
        return [Dashboards(client, load_dashboards(args.out / layout.DASHBOARDS_DIR), read_project(args.out))]
    found: list[sync.Adapter] = []
    project = read_project(args.out)
    # With `long_rules: separate` the paging groups stay on the local Prometheus: the ruler gets the long ones.
    long_dir = args.out / layout.LONG_RULES_DIR
    for kind in PROMETHEUS_RULERS:
        ruler = ruler_from_env(kind)
        if ruler is not None:
            found.append(RuleGroups(ruler, local_groups(long_dir if long_dir.is_dir() else args.out / layout.RULES_DIR), project))
    loki_root = args.out / layout.LOKI_RULES_DIR
    for tenant_dir in sorted(p for p in loki_root.iterdir() if p.is_dir()) if loki_root.is_dir() else []:
        loki = ruler_from_env("loki", tenant=tenant_dir.name)
        if loki is not None:
            found.append(RuleGroups(loki, local_groups(tenant_dir), project))
    if not found:
        raise RemoteError("no ruler configured: set MIMIR_URL or CORTEX_URL (and its _TENANT), or LOKI_URL")
    return found


def _what(args: argparse.Namespace) -> str:
    return "rule groups" if args.rules else "dashboards and folders"


def _plan(args: argparse.Namespace) -> int:
    changes = [c for remote in _remotes(args) for c in remote.plan(args.prune)]
    for change in changes:
        print(change.describe())
        if change.diff:
            print(change.diff, end="" if change.diff.endswith("\n") else "\n")
    todo = sync.pending(changes)
    refused = [c for c in changes if c.action in sync.REFUSED]
    print(f"obsgen: {len(todo)} of {len(changes)} {_what(args)} would change, {len(refused)} would be refused")
    if refused:
        return EXIT_REFUSED  # push would exit 1 on them: CI sees it now
    return EXIT_CHANGES if todo else EXIT_OK


def _commit_message() -> str:
    """Names the commit pushed, unless the working tree differs from it: then it says so rather
    than crediting HEAD with changes it does not hold."""
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    rev = git("rev-parse", "--short", "HEAD")
    if not rev:
        return "obsgen push"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return "obsgen push of uncommitted changes" if dirty else f"obsgen push of commit {rev}"


def progress_printer(stream: TextIO) -> sync.Progress:
    """One updating line on a terminal; otherwise (CI logs) about twenty lines per push, plus
    every failure, so a long push shows it is alive without a line per dashboard."""
    tty = stream.isatty()

    def progress(i: int, total: int, change: sync.Change, outcome: str) -> None:
        line = f"[{i}/{total}] {change.action.value} {change.remote}: {change.key}: {outcome}"
        if tty:
            stream.write(f"\r\033[K{line[:150]}" + ("\n" if i == total or outcome == "failed" else ""))
        elif outcome == "failed" or i == total or i % max(1, total // 20) == 0:
            stream.write(line + "\n")
        stream.flush()

    return progress


def _push(args: argparse.Namespace) -> int:
    progress = progress_printer(sys.stderr)

    message = args.message or _commit_message()
    total = sync.Result()
    unchanged = 0
    for remote in _remotes(args):
        changes = remote.plan(args.prune, diffs=False, skip_unchanged=not args.force)
        unchanged += sum(c.action == sync.Action.UNCHANGED for c in changes)
        total.add(sync.apply(remote, changes, message, args.force, progress))
    for key in total.refused:
        print(f"refused: {key}: edited since obsgen wrote it, or not obsgen's; --force to overwrite", file=sys.stderr)
    skipped = [(key, why) for key, why in total.failed if why.startswith("not tried:")]
    for key, why in total.failed:
        if (key, why) not in skipped:
            print(f"failed: {key}: {why}", file=sys.stderr)
    if skipped:
        print(f"failed: {len(skipped)} more {skipped[0][1]}", file=sys.stderr)
    print(f"obsgen: {len(total.written)} {_what(args)} written, {len(total.deleted)} deleted, {unchanged} unchanged, "
          f"{len(total.refused)} refused, {len(total.failed)} failed")
    return EXIT_FAILED if total.failed or total.refused else EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from obsgen.errors import OutputError, SpecIssue
    from obsgen.spec.imports import import_files

    texts, unreadable = [], []
    for path in args.files:
        try:
            texts.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            unreadable.append(SpecIssue(str(path), 0, "", f"cannot read: {exc}"))
    if unreadable:
        raise SpecError(unreadable)
    imported = import_files(texts, args.team, args.runbook)
    clashes = [name for name in imported.specs if (args.out / name).exists()]
    if clashes:
        raise OutputError(f"{', '.join(str(args.out / n) for n in clashes)} exist already; import into another --out folder")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in imported.specs.items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.out / name}")
    for line in imported.report:
        print(f"note: {line}")
    print(f"obsgen: {len(imported.specs)} service spec(s) written, {len(imported.report)} note(s)")
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from obsgen.pipeline import report
    from obsgen.spec.load import load_project

    sys.stdout.write(report.report(load_project(args.specs)))
    return EXIT_OK


def _prometheus(args: argparse.Namespace) -> Prometheus:
    from obsgen.remote.prometheus import prometheus_from_env

    _warn_if_insecure(args)
    return prometheus_from_env(args.prometheus, args.token_file, args.ca_file, args.insecure, args.timeout)


def _check(args: argparse.Namespace) -> int:
    import time

    from obsgen.live import check
    from obsgen.spec.load import load_project

    project = load_project(args.specs)
    client = _prometheus(args)
    version = client.version()
    findings = check.check(client, project, time.time())
    errors = [f for f in findings if f.level == "error"]
    warnings = [f for f in findings if f.level == "warning"]
    if args.format == "json":
        json.dump({
            "prometheus": client.config.url, "version": version, "errors": len(errors), "warnings": len(warnings),
            "findings": [dataclasses.asdict(f) for f in findings],
        }, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        rows = [(f.level.upper() if f.level != "ok" else "ok", f.service, f.what, _cell(f.now), _cell(f.day), f.selector, f.message)
                for f in findings]
        print(_table(("", "service", "what", "now", check.LOOKBACK, "selector", "finding"), rows))
        print(f"obsgen: {len(findings)} checks against Prometheus {version} at {client.config.url}: "
              f"{len(errors)} error(s), {len(warnings)} warning(s)")
    return EXIT_FAILED if errors else EXIT_OK


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], widest: int = 60) -> str:
    """Plain columns, each cut at `widest` characters (the last one whole)."""
    cut = [tuple(c if i == len(header) - 1 or len(c) <= widest else c[: widest - 1] + "…" for i, c in enumerate(r)) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cut) for i in range(len(header) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in cut).rstrip()


def _report(args: argparse.Namespace) -> int:
    import time

    from obsgen.live import attainment, gate, site
    from obsgen.spec.load import load_project

    project = load_project(args.specs)
    end = args.end if args.end is not None else time.time()
    start = args.start if args.start is not None else end - 30 * 86400
    if start >= end:
        raise RemoteError("--from must be before --to")
    if end > time.time() + 60:
        raise RemoteError("--to is in the future: there is nothing to measure there yet")
    if args.site.exists() and not args.site.is_dir():
        raise OutputError(f"{args.site} is a file, not a folder for the site")
    client = _prometheus(args)
    client.version()
    reports = attainment.collect(client, project, start, end)
    # What the deploy gate says at the report's end, under each SLO's own policy (or the defaults).
    verdicts = {(s.name, slo.name): gate.decide(client, s, slo, end, *gate.policy_for(slo, None, None))
                for s in project.services for slo in s.slos}
    files = site.site(reports, start, end, client.config.url, verdicts)
    args.site.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.site / name).write_text(text, encoding="utf-8")
    quiet = [f"{r.service.name}/{r.slo.name}" for r in reports if r.period.no_traffic]
    for name in quiet:
        print(f"note: {name}: no events in its period up to the report's end; its page says so")
    print(f"obsgen: {len(reports)} SLOs of {len(project.services)} services -> {len(files)} pages in {args.site} "
          f"(open {args.site / 'index.html'})")
    if reports and len(quiet) == len(reports):
        print("error: no SLO has any events in the range: is this the Prometheus that scrapes these services?", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from pydantic import BaseModel

    from obsgen.model.routing import Routing
    from obsgen.spec.files import ServiceFile, json_schema

    model: type[BaseModel] = ServiceFile if args.kind == "slo" else Routing
    text = json.dumps(json_schema(model, SCHEMAS[args.kind]), indent=2, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _backtest(args: argparse.Namespace) -> int:
    import time

    from obsgen.live import backtest as bt
    from obsgen.live import backtest_text
    from obsgen.spec.load import load_project, load_tiers

    project = load_project(args.specs)
    end = args.end if args.end is not None else time.time()
    if args.start is not None and args.since is not None:
        raise CannotDecide("give --from or --since, not both")
    start = args.start if args.start is not None else end - (args.since or 7 * 86400)
    if start >= end:
        raise CannotDecide("--from must be before --to")
    if end > time.time() + 60:
        raise CannotDecide("--to is in the future: there is no history there yet")
    if args.objective is not None and not 0 < args.objective < 100:
        raise CannotDecide(f"--objective {args.objective:g}: give a percentage between 0 and 100, e.g. 99.9")
    if args.min_events is not None and args.min_events < 0:
        raise CannotDecide("--min-events must be 0 or more")
    periods = {slo.period for service in project.services for slo in service.slos}
    tiers = None
    if args.tiers is not None:
        if len(periods) > 1:
            raise CannotDecide("--tiers with SLOs of different periods: choose them with --slo or --service")
        tiers = load_tiers(args.tiers, periods.pop())
    override = bt.Override(args.objective, tiers, args.min_events)
    if args.compare and not override:
        raise CannotDecide("--compare needs an override: --objective, --tiers or --min-events")
    variants: list[bt.Override | None] = [None, override] if args.compare else [override or None]
    labels = ["spec", "override"] if args.compare else ["override" if override else "spec"]
    client = _prometheus(args)
    try:
        client.version()
    except RemoteError as exc:
        raise CannotDecide(str(exc)) from None

    def progress(message: str) -> None:
        print(f"obsgen: {message}", file=sys.stderr)

    results = bt.backtest(project, client, start, end, args.service, args.slo, variants, progress)
    found = bt.incidents(results) if args.compare else []
    if args.format == "json":
        sys.stdout.write(backtest_text.as_json(results, labels, found))
    elif args.format == "html":
        from obsgen.live import backtest_site

        if args.site.exists() and not args.site.is_dir():
            raise OutputError(f"{args.site} is a file, not a folder for the page")
        args.site.mkdir(parents=True, exist_ok=True)
        (args.site / "backtest.html").write_text(backtest_site.page(results[-1], client.config.url), encoding="utf-8")
        print(f"obsgen: {len(results[-1].slos)} SLO timelines in {args.site / 'backtest.html'}")
    elif args.compare:
        sys.stdout.write(backtest_text.comparison(results, found, labels))
    else:
        sys.stdout.write(backtest_text.text(results[0]))
    if args.max_pages is not None:
        over = [(s.name, s.pages_per_period(results[-1].seconds)) for s in results[-1].slos
                if s.pages_per_period(results[-1].seconds) > args.max_pages]
        for name, pages in over:
            print(f"error: {name} would page {pages:.1f} times per period, more than --max-pages {args.max_pages:g}", file=sys.stderr)
        if over:
            return EXIT_FAILED
    return EXIT_OK


def _gate(args: argparse.Namespace) -> int:
    import time

    from obsgen.live import gate
    from obsgen.spec.load import load_project

    project = load_project(args.specs)
    at = args.at if args.at is not None else time.time()
    client = _prometheus(args)
    try:
        client.version()
        verdicts = gate.gate(client, project, at, args.service, args.slo, args.min_budget, ["critical"] if args.no_page_firing else None)
    except RemoteError as exc:
        raise CannotDecide(f"cannot decide: {exc}") from None
    blocked = [v for v in verdicts if v.decision == gate.BLOCKED]
    unknown = [v for v in verdicts if v.decision == gate.UNKNOWN]
    if args.format == "json":
        json.dump({"prometheus": client.config.url, "at": at, "decision": "blocked" if blocked else "cannot decide" if unknown else "go",
                   "slos": [{"service": v.service, "slo": v.slo, "decision": v.decision, "budget_left": v.budget_left, "group": v.group,
                             "firing": v.firing, "policy": v.policy.model_dump(), "policy_from": v.policy_from, "reasons": v.reasons}
                            for v in verdicts]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for v in verdicts:
            left = "no events" if v.budget_left is None else f"{v.budget_left:.1%} of the budget left"
            print(f"{v.decision.upper():<14} {v.name}: {left}" + "".join(f"\n    {r}" for r in v.reasons))
        verdict = (f"blocked by {len(blocked)} SLO(s)" if blocked else f"cannot decide for {len(unknown)} SLO(s)" if unknown
                   else f"go: {len(verdicts)} SLO(s) within their policies")
        print(f"obsgen: {verdict}")
    return EXIT_FAILED if blocked else EXIT_INPUT if unknown else EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "generate": _generate, "validate": _validate, "plan": _plan, "push": _push, "import": _import, "explain": _explain,
    "schema": _schema, "check": _check, "report": _report, "backtest": _backtest, "gate": _gate,
}
