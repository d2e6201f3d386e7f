"""Render a shell step's template so that no substituted value can become code.

Rendering marks every substituted value with a sentinel (see
:func:`baton.models.templating.collect_shell_values`); this module then reads the rendered
script with a small shell lexer and replaces each sentinel according to where it stands:

* bare words, ``$(...)``, backticks   → ``"${BATON_VALUE_n}"`` (exported; a value over 16 KiB
  is an unexported variable read from a file: see :mod:`baton.agents.shell`)
* inside double quotes, ``${...}``, unquoted heredocs, comments → ``${BATON_VALUE_n}``
* inside single quotes                → the value with each ``'`` written as ``'\\''``
* inside ``$'...'``                   → the value with ``\\`` and ``'`` escaped
* inside a quoted heredoc (``<<'EOF'``) → the value itself, refused if a line of it ends
  the heredoc
* inside arithmetic (``$(( ))``, ``(( ))``) → the value itself, refused unless it is an
  integer (bash evaluates a variable's text as arithmetic, subscripts and all)

The shell expands a variable once and never parses its value again, so ``$(...)``,
backticks, quotes or ``;`` inside a value are printed, not run. ``| raw`` opts out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from baton.models.templating import SENTINEL_END, SENTINEL_START, SHELL_VALUE_PREFIX

ENV_PREFIX = SHELL_VALUE_PREFIX
_INTEGER = re.compile(r"^\s*[-+]?[0-9]+\s*$")
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_.-]+))")

# Lexer states.
_CMD, _DQ, _SQ, _ANSI, _BT, _SUB, _PARAM, _ARITH, _COMMENT = range(9)


class UnsafeSubstitution(ValueError):
    """A value cannot be placed where the template puts it without becoming code."""


@dataclass
class _Heredoc:
    delimiter: str
    quoted: bool
    strip_tabs: bool


@dataclass
class _Out:
    values: list[str]
    env: dict[str, str] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)

    def var(self, index: int) -> str:
        name = f"{ENV_PREFIX}{index + 1}"
        self.env[name] = self.values[index].replace("\x00", "\ufffd")
        return name


def _sentinel_at(text: str, i: int) -> tuple[int, int] | None:
    """(value index, end position) when a sentinel starts at ``i``."""
    if not text.startswith(SENTINEL_START, i):
        return None
    end = text.find(SENTINEL_END, i + len(SENTINEL_START))
    return int(text[i + len(SENTINEL_START):end]), end + len(SENTINEL_END)


def _place(state: int, out: _Out, index: int, heredoc: _Heredoc | None) -> str:
    value = out.values[index]
    if heredoc is not None:
        if not heredoc.quoted:
            return "${" + out.var(index) + "}"
        for line in value.split("\n"):
            if (line.lstrip("\t") if heredoc.strip_tabs else line) == heredoc.delimiter:
                raise UnsafeSubstitution(
                    f"a value inside the heredoc <<'{heredoc.delimiter}' contains the line "
                    f"{heredoc.delimiter!r}, which would end it; use an unquoted heredoc delimiter")
        return value
    if state in (_CMD, _BT, _SUB):
        return '"${' + out.var(index) + '}"'
    if state in (_DQ, _PARAM, _COMMENT):
        return "${" + out.var(index) + "}"
    if state == _SQ:
        return value.replace("'", "'\\''")
    if state == _ANSI:
        return value.replace("\\", "\\\\").replace("'", "\\'")
    if not _INTEGER.match(value):
        raise UnsafeSubstitution(
            f"a value inside arithmetic ($(( )) or (( ))) must be an integer, got {value[:60]!r}; "
            "bash evaluates text there as code")
    return value.strip()


# Contexts in which only the closing character matters.
_CLOSED_BY = {_DQ: '"', _PARAM: "}"}


class _Nesting:
    """The open contexts, innermost last, each with its count of open parentheses."""

    def __init__(self) -> None:
        self.states = [_CMD]
        self.parens = [0]

    def push(self, state: int) -> None:
        self.states.append(state)
        self.parens.append(0)

    def pop(self) -> None:
        self.states.pop()
        self.parens.pop()


# What opens a nested context, longest first: (text, the context, at a word start after it).
_OPENERS = (("$((", _ARITH, False), ("$(", _SUB, True), ("${", _PARAM, False), ("`", _BT, True))
# Which contexts each context can open (a backtick inside backticks closes them).
_NESTS = {
    _CMD: {_ARITH, _SUB, _PARAM, _BT},
    _SUB: {_ARITH, _SUB, _PARAM, _BT},
    _BT: {_ARITH, _SUB, _PARAM},
    _DQ: {_ARITH, _SUB, _PARAM, _BT},
    _PARAM: {_PARAM},
    _ARITH: {_SUB},
}


def _opener(text: str, i: int, state: int, word_start: bool) -> tuple[str, int, bool] | None:
    """(token, context, word start after it) when a nested context opens at ``i``."""
    if state in (_CMD, _SUB, _BT) and word_start and text.startswith("((", i):
        return "((", _ARITH, False  # an arithmetic command
    for token, inner, starts_word in _OPENERS:
        if text.startswith(token, i):
            return (token, inner, starts_word) if inner in _NESTS.get(state, ()) else None
    return None


def substitute(text: str, values: list[str]) -> tuple[str, dict[str, str]]:
    """The script with every sentinel replaced, and the variables it needs exported."""
    out = _Out(values)
    nest = _Nesting()
    pending: list[_Heredoc] = []
    heredoc: _Heredoc | None = None
    word_start = True
    i, n = 0, len(text)
    while i < n:
        found = _sentinel_at(text, i)
        if found is not None:
            index, i = found
            out.parts.append(_place(nest.states[-1], out, index, heredoc))
            word_start = False
            continue
        ch = text[i]
        if heredoc is not None:  # inside a heredoc body: line by line
            line_end = text.find("\n", i)
            line_end = n if line_end < 0 else line_end
            line = text[i:line_end]
            check = line.lstrip("\t") if heredoc.strip_tabs else line
            if SENTINEL_START not in line and check == heredoc.delimiter:
                out.parts.append(text[i:line_end + 1])
                i = line_end + 1
                heredoc = pending.pop(0) if pending else None
                continue
            nxt = text.find(SENTINEL_START, i, line_end)
            stop = line_end + 1 if nxt < 0 else nxt
            out.parts.append(text[i:stop])
            i = stop
            continue
        state = nest.states[-1]
        two = text[i:i + 2]
        three = text[i:i + 3]
        if state in (_SQ, _ANSI):
            if state == _ANSI and ch == "\\":
                out.parts.append(two)
                i += 2
                continue
            out.parts.append(ch)
            i += 1
            if ch == "'":
                nest.pop()
            continue
        if state == _COMMENT:
            if ch == "\n":
                nest.pop()
                continue
            out.parts.append(ch)
            i += 1
            continue
        if ch == "\\":
            out.parts.append(two)
            i += 2
            word_start = False
            continue
        opened = _opener(text, i, state, word_start)
        if opened is not None:
            token, inner, word_start = opened
            nest.push(inner)
            out.parts.append(token)
            i += len(token)
            continue
        if state in _CLOSED_BY:
            if ch == _CLOSED_BY[state]:
                nest.pop()
            out.parts.append(ch)
            i += 1
            continue
        if state == _ARITH:
            if ch == "(":
                nest.parens[-1] += 1
            elif two == "))" and nest.parens[-1] == 0:
                nest.pop()
                out.parts.append(two)
                i += 2
                continue
            elif ch == ")":
                nest.parens[-1] -= 1
            out.parts.append(ch)
            i += 1
            continue
        # command contexts: top level, $( ), backticks
        if ch == "`" and state == _BT:
            nest.pop()
            out.parts.append(ch)
            i += 1
            word_start = False
            continue
        if ch == ")" and state == _SUB and nest.parens[-1] == 0:
            nest.pop()
            out.parts.append(ch)
            i += 1
            word_start = False
            continue
        if ch == "\n":
            out.parts.append(ch)
            i += 1
            word_start = True
            if pending:
                heredoc = pending.pop(0)
            continue
        if ch == "'":
            nest.push(_SQ)
        elif two == "$'":
            nest.push(_ANSI)
            out.parts.append(two)
            i += 2
            word_start = False
            continue
        elif ch == '"':
            nest.push(_DQ)
        elif ch == "#" and word_start:
            nest.push(_COMMENT)
            out.parts.append(ch)
            i += 1
            continue
        elif two == "<<" and three != "<<<":
            match = _HEREDOC.match(text, i)
            if match:
                quoted = match.group(2) is not None or match.group(3) is not None
                delimiter = match.group(2) or match.group(3) or match.group(4) or ""
                if match.group(4) is not None and text[i + 2:match.end()].lstrip("-\t ").startswith("\\"):
                    quoted = True
                pending.append(_Heredoc(delimiter, quoted, match.group(1) == "-"))
                out.parts.append(match.group(0))
                i = match.end()
                word_start = False
                continue
        elif ch == "(" and state == _SUB:
            nest.parens[-1] += 1
        elif ch == ")" and state == _SUB:
            nest.parens[-1] -= 1
        out.parts.append(ch)
        i += 1
        word_start = ch in " \t;&|()" or (word_start and ch in " \t")
    return "".join(out.parts), out.env
