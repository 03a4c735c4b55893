"""MkDocs hooks: the reference pages, generated at build time from the pydantic models (their JSON
Schemas) and from the command line's argument parser, so they always say what the code accepts."""
from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from pydantic import BaseModel

PAGES = {  # generated page -> (title, the file it describes, the model)
    "reference/service.md": ("Service spec", "slo/<service>.yaml", ("obsgen.spec.files", "ServiceFile")),
    "reference/alerts.md": ("Operational alerts", "alerts/<service>.yaml", ("obsgen.spec.files", "OpsFile")),
    "reference/routing.md": ("Routing", "alerts/routing.yaml", ("obsgen.model.routing", "Routing")),
    "reference/settings.md": ("Project settings", "obsgen.yaml", ("obsgen.model.project", "Settings")),
}


EXAMPLE_CHART = Path(__file__).resolve().parent.parent / "output" / "report"  # the bundled example's, always current


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path, text in reference_pages().items():
        files.append(File.generated(config, path, content=text))
    chart = min(EXAMPLE_CHART.glob("detection-99.9-30d*.svg"))
    files.append(File.generated(config, "detection-example.svg", content=chart.read_bytes()))
    return files


def reference_pages() -> dict[str, str]:
    import importlib

    pages = {}
    for path, (title, described, (module, name)) in PAGES.items():
        model = getattr(importlib.import_module(module), name)
        pages[path] = schema_page(title, described, model)
    pages["reference/commands.md"] = commands_page()
    return pages


def schema_page(title: str, described: str, model: type[BaseModel]) -> str:
    """Every field of the model and of each model it holds: a table per object, linked by type."""
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    lines = [f"# {title}: `{described}`", "",
             "Generated from obsgen's schema (its pydantic models) when the site is built: every field the loader "
             "accepts, and nothing else (an unknown field is an error with its file and line).", ""]
    lines += _object(model.__name__, schema, defs, top=True)
    for name in sorted(defs):
        if defs[name].get("properties"):
            lines += _object(name, defs[name], defs)
    return "\n".join(lines) + "\n"


def _object(name: str, schema: dict[str, Any], defs: dict[str, Any], top: bool = False) -> list[str]:
    required = set(schema.get("required", []))
    out = [f"## {name} {{#{name.lower()}}}", ""]
    if schema.get("description") and not top:
        out += [" ".join(schema["description"].split()), ""]
    out += ["| field | type | required / default | description |", "|---|---|---|---|"]
    for field, spec in schema.get("properties", {}).items():
        need = "required" if field in required else _default(spec)
        text = " ".join(str(spec.get("description") or _described(spec, defs)).split()).replace("|", "\\|")
        out.append(f"| `{field}` | {_type(spec)} | {need} | {text} |")
    return [*out, ""]


def _described(spec: dict[str, Any], defs: dict[str, Any]) -> str:
    """A field without a description of its own: the first sentence of the object it holds."""
    refs = re.findall(r"#/\$defs/(\w+)", json.dumps(spec))
    text = " ".join(str(defs.get(refs[0], {}).get("description", "")).split()) if refs else ""
    return text.split(". ")[0].rstrip(".") + "." if text else ""


def _default(spec: dict[str, Any]) -> str:
    if "default" not in spec:
        return ""
    return f"`{json.dumps(spec['default'])}`".replace("|", "\\|")


def _type(spec: dict[str, Any]) -> str:
    """A readable type: links to the objects it names."""
    if "$ref" in spec:
        target = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{target}](#{target.lower()})"
    if "anyOf" in spec:
        return " or ".join(_type(s) for s in spec["anyOf"] if s.get("type") != "null") or "null"
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "const" in spec:
        return f"`{spec['const']}`"
    kind = spec.get("type")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object":
        values = spec.get("additionalProperties")
        return f"map of {_type(values)}" if isinstance(values, dict) else "map"
    return str(kind or "any")


def commands_page() -> str:
    """Every command's help, as `obsgen COMMAND --help` prints it."""
    from obsgen import cli

    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal's width: the same page on every machine
    parser = cli._parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = ["# Commands", "", "Generated from obsgen's argument parser when the site is built: what "
             "`obsgen COMMAND --help` prints.", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in subparsers.choices.items():
        lines += [f"## {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(lines) + "\n"
