"""The command line: the only module that parses arguments or prints."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from obsgen import __version__, report
from obsgen.artifacts import write_output
from obsgen.compile import compile_project
from obsgen.errors import SpecError
from obsgen.load import load_project
from obsgen.routing_spec import Routing
from obsgen.spec import Service, json_schema
from obsgen.validate import validate_output

EXIT_OK, EXIT_INVALID, EXIT_SPEC = 0, 1, 2
SCHEMAS = {"slo": (Service, "obsgen service spec (slo/*.yaml)"), "routing": (Routing, "obsgen routing spec (alerts/routing.yaml)")}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obsgen",
        description="Compile service and SLO specs (slo/*.yaml) into Prometheus recording and "
        "multiwindow, multi-burn-rate alerting rules, promtool unit tests that prove the alerts, and an "
        "alert report; check them all with promtool.",
        epilog="Exit status: 0 success, 1 a generated file failed validation, 2 an error in the specs.",
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except SpecError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        print(f"{len(exc.issues)} error(s) in the specs; nothing was written.", file=sys.stderr)
        return EXIT_SPEC


def _generate(args: argparse.Namespace) -> int:
    project = load_project(args.specs)
    artifacts = compile_project(project)
    try:
        write_output(artifacts, args.out)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SPEC
    slos = sum(len(s.slos) for s in project.services)
    print(f"obsgen: {len(project.services)} services, {slos} SLOs -> {len(artifacts)} files in {args.out}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    try:
        findings = validate_output(args.out)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for finding in findings:
        print(f"invalid: {finding}", file=sys.stderr)
    if findings:
        return EXIT_INVALID
    print(f"obsgen: {args.out} is valid (PromQL parses; promtool check rules and test rules, amtool check-config and routes test pass)")
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    sys.stdout.write(report.report(load_project(args.specs)))
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    model, title = SCHEMAS[args.kind]
    text = json.dumps(json_schema(model, title), indent=2, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


_COMMANDS = {"generate": _generate, "validate": _validate, "explain": _explain, "schema": _schema}
