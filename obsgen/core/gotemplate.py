"""Syntax of Go's text/template as Prometheus reads alert annotations: checked here so a broken
template is a spec error at generate time, not a rule file that Prometheus refuses to load.

Not an interpreter: it finds what makes Prometheus reject a template when it loads the rules
(unclosed actions and strings, unbalanced blocks and parentheses, unknown functions, undefined
variables), with messages close to Go's own. tests/core/test_gotemplate.py holds it to promtool."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Go's builtins, and the functions Prometheus 2.42 adds (3.x adds now, toDuration and urlQueryEscape;
# the rules must load on both generations).
FUNCTIONS = frozenset(
    "and call html index slice js len not or print printf println urlquery eq ge gt le lt ne "
    "query first label value strvalue args reReplaceAll safeHtml match title toUpper toLower graphLink tableLink "
    "sortByLabel stripPort stripDomain humanize humanize1024 humanizeDuration humanizePercentage humanizeTimestamp "
    "toTime pathPrefix externalURL parseDuration".split()
)
# What Prometheus defines before every alert template.
VARIABLES = frozenset({"$", "$labels", "$externalLabels", "$externalURL", "$value"})
NEWER_FUNCTIONS = {"now": "3.0", "toDuration": "3.0", "urlQueryEscape": "3.0"}
BLOCKS = frozenset({"if", "with", "range", "define", "block"})

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<raw>`[^`]*`)
    |(?P<char>'(?:[^'\\\n]|\\.)+')
    |(?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+))
    |(?P<declare>:=)
    |(?P<variable>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    |(?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<punct>[|(),=])""",
    re.VERBOSE,
)


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _actions(text: str) -> list[list[_Token]]:
    """The token lists of every action, comments dropped."""
    actions = []
    pos = 0
    while (start := text.find("{{", pos)) >= 0:
        pos = start + 2
        if text.startswith("- ", pos) or text.startswith("-\t", pos) or text.startswith("-\n", pos):
            pos += 2
        if text.startswith("/*", pos):
            end = text.find("*/", pos)
            if end < 0:
                raise TemplateError("unclosed comment")
            after = text[end + 2:]
            close = re.match(r"(?:\s-)?}}", after)
            if not close:
                raise TemplateError("comment ends before closing delimiter")
            pos = end + 2 + close.end()
            continue
        tokens, pos = _lex_action(text, pos)
        actions.append(tokens)
    return actions


def _lex_action(text: str, pos: int) -> tuple[list[_Token], int]:
    tokens: list[_Token] = []
    while True:
        if pos >= len(text):
            raise TemplateError("unclosed action")
        if text.startswith("}}", pos) or re.match(r"\s-}}", text[pos:pos + 4]):
            return tokens, text.index("}}", pos) + 2
        match = _TOKEN.match(text, pos)
        if not match:
            char = text[pos]
            if char in "\"`'":
                kind = {'"': "quoted string", "`": "raw quoted string", "'": "character constant"}[char]
                raise TemplateError(f"unterminated {kind}")
            if char == "}":
                raise TemplateError("unclosed action: a lone '}' (actions end with '}}')")
            raise TemplateError(f"unexpected {char!r} in command")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group()))
        pos = match.end()


def check(text: str) -> str:
    """`text` unchanged when Prometheus would load it as an alert template; else TemplateError."""
    blocks: list[str] = []
    scopes: list[set[str]] = [set(VARIABLES)]
    for tokens in _actions(text):
        head = tokens[0].text if tokens and tokens[0].kind == "ident" else ""
        if head == "end":
            if not blocks:
                raise TemplateError("unexpected {{end}}")
            blocks.pop()
            scopes.pop()
            continue
        if head == "else":
            if not blocks or blocks[-1] not in ("if", "with", "range"):
                raise TemplateError("unexpected {{else}}")
            rest = tokens[1:]
            if rest and rest[0].text in ("if", "with"):
                _pipeline(rest[1:], scopes, declare=True)
            elif rest:
                raise TemplateError(f"unexpected {rest[0].text!r} after else")
            continue
        if head in ("break", "continue"):
            if "range" not in blocks:
                raise TemplateError(f"{{{{{head}}}}} outside {{{{range}}}}")
            continue
        if head in ("define", "block", "template"):
            if len(tokens) < 2 or tokens[1].kind not in ("string", "raw"):
                raise TemplateError(f"a name in quotes must follow {head}")
            if len(tokens) > 2:
                _pipeline(tokens[2:], scopes, declare=False)
            if head != "template":
                blocks.append(head)
                scopes.append({"$"})
            continue
        if head in BLOCKS:
            blocks.append(head)
            scopes.append(set())
            _pipeline(tokens[1:], scopes, declare=True, pair=head == "range")
            continue
        _pipeline(tokens, scopes, declare=True)
    if blocks:
        raise TemplateError(f"unexpected EOF: {{{{{blocks[-1]}}}}} has no {{{{end}}}}")
    return text


def _pipeline(tokens: list[_Token], scopes: list[set[str]], declare: bool, pair: bool = False) -> None:
    """[$x :=] command | command ...; every variable defined, every function known."""
    if not tokens:
        raise TemplateError("missing value for command")
    found = _declaration(tokens, pair) if declare else None
    if found:
        declared, operator, size = found
        if operator == "=" and (missing := [n for n in declared if not _defined(n, scopes)]):
            raise TemplateError(f'undefined variable "{missing[0]}"')
        scopes[-1].update(declared)
        tokens = tokens[size:]
    depth = 0
    expect_operand = True
    for token in tokens:
        if token.kind == "punct" and token.text == "(":
            depth += 1
            expect_operand = True
        elif token.kind == "punct" and token.text == ")":
            depth -= 1
            if depth < 0:
                raise TemplateError("unexpected right paren")
        elif token.kind == "punct" and token.text == "|":
            if expect_operand:
                raise TemplateError("missing value for command")
            expect_operand = True
        elif token.kind == "punct" or token.kind == "declare":
            raise TemplateError(f"unexpected {token.text!r} in operand")
        else:
            expect_operand = False
            if token.kind == "variable":
                name = token.text.split(".")[0]
                if not _defined(name, scopes):
                    raise TemplateError(f'undefined variable "{name}"')
            elif token.kind == "ident" and token.text not in ("true", "false", "nil"):
                name = token.text.split(".")[0]
                if name in NEWER_FUNCTIONS:
                    raise TemplateError(f'function "{name}" needs Prometheus {NEWER_FUNCTIONS[name]}; the rules must also load on 2.42')
                if name not in FUNCTIONS:
                    raise TemplateError(f'function "{name}" not defined')
    if depth > 0:
        raise TemplateError("unclosed left paren")
    if expect_operand:
        raise TemplateError("missing value for command")


def _declaration(tokens: list[_Token], pair: bool) -> tuple[list[str], str, int] | None:
    """`$x :=` or `$x =` (and `$i, $e :=` after range): the names, the operator, the tokens used."""
    def variable(i: int) -> bool:
        return len(tokens) > i and tokens[i].kind == "variable" and "." not in tokens[i].text

    if variable(0) and len(tokens) > 1 and tokens[1].text in (":=", "="):
        return [tokens[0].text], tokens[1].text, 2
    if pair and variable(0) and variable(2) and len(tokens) > 3 and tokens[1].text == "," and tokens[3].text in (":=", "="):
        return [tokens[0].text, tokens[2].text], tokens[3].text, 4
    return None


def _defined(name: str, scopes: list[set[str]]) -> bool:
    return any(name in scope for scope in scopes)
