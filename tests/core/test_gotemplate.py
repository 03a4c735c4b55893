"""The in-process template check agrees with promtool, of both generations, on what loads."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from obsgen.core.gotemplate import TemplateError, check
from obsgen.pipeline.tools import version_of

GOOD = [
    "plain text, no action",
    "{{ $labels.service }} is failing",
    "{{ with $labels.service }}{{ . }}{{ else }}none{{ end }}",
    "{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}",
    "{{ range $labels }}{{ if eq . \"x\" }}{{ break }}{{ end }}{{ end }}",
    "{{- if gt $value 0.5 -}} {{ $value | humanizePercentage }} {{- end }}",
    '{{ printf "%.2f" $value }} {{ $externalLabels.cluster }} {{ .Labels.slo }} {{ `raw {{` }}',
    "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}{{/* a comment */}}",
    "{{ if and (gt $value 1.0) (lt $value 2.0) }}between{{ else if eq $value 0.0 }}zero{{ end }}",
    "{{ $value | printf \"%.0f\" }} {{ 'x' }} {{ -1 }} {{ 0x1F }} {{ 1e3 }}",
    '{{ define "x" }}inner{{ end }}{{ template "x" }}',
    "{{ reReplaceAll \"(.*)\" \"$1\" $labels.instance | toUpper }}",
    "{{ humanizeDuration $value }} {{ $externalURL }} {{ $ }}",
]
BAD = [
    "{{ $labels.service } is failing",
    "{{ if $labels.service }}failing",
    "failing{{ end }}",
    "{{ else }}",
    "{{ $value | humanise }}",
    "{{ $label.service }}",
    '{{ printf "%s %s $labels.service }}',
    "{{ (humanize $value }}",
    "{{ humanize $value) }}",
    "{{ }}",
    "{{ $x }}",
    "{{ break }}",
    "{{ /* not a comment */ }}",
    "{{/* unclosed comment }}",
    "{{ `unterminated raw }}",
    "{{ if $value }}{{ $inner := 1 }}{{ end }}{{ $inner }}",
]

# Functions Prometheus 3 added: 2.42 cannot load them, and the rules must load on both.
NEWER = ["{{ now }}", "{{ toDuration $value }}", '{{ urlQueryEscape "a b" }}']
# Loaded by promtool (Go parses them), but rendering the alert fails: rejected here on purpose.
STRICTER = ["{{ $value | }}", "{{ $y = 1 }}"]


@pytest.mark.parametrize("text", GOOD)
def test_accepts(text: str) -> None:
    assert check(text) == text


@pytest.mark.parametrize("text", BAD + NEWER + STRICTER)
def test_rejects(text: str) -> None:
    with pytest.raises(TemplateError):
        check(text)


def test_promtool_agrees(promtool: str, tmp_path: Path) -> None:
    """Each template as the annotation of its own rule file: promtool loads exactly GOOD (and
    STRICTER, and on Prometheus 3 NEWER), and rejects BAD."""
    version = int(version_of(promtool).split(".")[0])
    expected = {**dict.fromkeys(GOOD + STRICTER, True), **dict.fromkeys(BAD, False), **dict.fromkeys(NEWER, version >= 3)}
    files = []
    for i, text in enumerate(expected):
        path = tmp_path / f"t{i:02d}.yml"
        rule = {"alert": "A", "expr": "vector(1)", "annotations": {"x": text}}
        path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]}))
        files.append(path)
    loads = []
    for path in files:
        proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
        loads.append(proc.returncode == 0)
    disagree = [text for (text, want), ok in zip(expected.items(), loads, strict=True) if ok != want]
    assert disagree == []
