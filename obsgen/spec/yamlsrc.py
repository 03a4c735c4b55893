"""YAML with line numbers: every value is reachable by its path, so errors can name file:line."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Path = tuple[str | int, ...]
# A spec is a few hundred values; aliases expanded beyond this many are an alias bomb, not a spec.
MAX_VALUES = 100_000
MAX_DEPTH = 64
MERGE = "tag:yaml.org,2002:merge"
STR = "tag:yaml.org,2002:str"


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(message)


@dataclass
class Located:
    """A parsed YAML document and the line where each path starts (1-based)."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """Line of the path, or of its nearest ancestor present in the file."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _Scalars(yaml.constructor.SafeConstructor):
    pass


def load_located(text: str) -> Located:
    """One YAML document, with the line of every value."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax(exc) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"invalid YAML: {exc}") from None
    located = Located(data=None)
    if node is None:
        return located
    located.data = _convert(node, (), located.lines, _Scalars(), [0])
    return located


def load_located_all(text: str) -> list[Located]:
    """Every document of a multi-document stream (OpenSLO files hold several), each with its
    lines; the alias and size limits apply to the stream as a whole."""
    count = [0]
    found = []
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            located = Located(data=None)
            if node is not None:
                located.data = _convert(node, (), located.lines, _Scalars(), count)
            found.append(located)
    except yaml.MarkedYAMLError as exc:
        raise _syntax(exc) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"invalid YAML: {exc}") from None
    return found


def _syntax(exc: yaml.MarkedYAMLError) -> YamlSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    return YamlSyntaxError(mark.line + 1 if mark else 1, f"invalid YAML: {exc.problem or exc}")


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int], scalars: _Scalars, count: list[int]) -> Any:
    count[0] += 1
    if count[0] > MAX_VALUES or len(path) > MAX_DEPTH:
        what = f"more than {MAX_VALUES:,} values" if count[0] > MAX_VALUES else f"nested deeper than {MAX_DEPTH} levels"
        raise YamlSyntaxError(node.start_mark.line + 1, f"invalid YAML: {what} once aliases are expanded; a spec is far smaller")
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:  # `<<: *defaults`: explicit keys win, then earlier merges
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                if not all(isinstance(source, yaml.MappingNode) for source in sources):
                    raise YamlSyntaxError(key_node.start_mark.line + 1, "invalid YAML: `<<` merges a mapping, such as *defaults, or a list of them")
                for source in sources:
                    for key, value in _convert(source, path, lines, scalars, count).items():
                        out.setdefault(key, value)
        lines[path] = node.start_mark.line + 1
        explicit: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                continue
            key = scalars.construct_object(key_node)
            if isinstance(key, (list, dict)):
                raise YamlSyntaxError(key_node.start_mark.line + 1, "invalid YAML: keys must be plain values")
            if key in explicit:
                raise YamlSyntaxError(key_node.start_mark.line + 1, f"invalid YAML: duplicate key {key!r}")
            explicit.add(key)
            child = (*path, str(key))
            out[key] = _convert(value_node, child, lines, scalars, count)
            lines[child] = key_node.start_mark.line + 1
        return out
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, scalars, count) for i, item in enumerate(node.value)]
    if node.tag == STR:  # most of a spec: the composer has already resolved it, its value is the string
        return node.value
    try:
        return scalars.construct_object(node)
    except yaml.constructor.ConstructorError as exc:
        raise YamlSyntaxError(node.start_mark.line + 1, f"invalid YAML: {exc.problem}") from None


def field_path(loc: tuple[str | int, ...]) -> str:
    """('slos', 0, 'objective') -> 'slos[0].objective'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
