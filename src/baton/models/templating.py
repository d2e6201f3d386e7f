"""The one sandboxed Jinja2 environment used to validate and render templates and conditions.

Pure: building the environment does no I/O. Rendering lives in :mod:`baton.engine.templates`;
this module only defines what the language is, so that the models can check that a template
compiles and a condition parses with exactly the rules the engine will use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.parser import Parser

from baton.models.sandbox import BoundedSandbox, constant_problem, count_output


class Raw(str):
    """A value that the `raw` filter marked as not to be shell-quoted."""

    __slots__ = ()


def _raw(value: Any) -> Raw:
    return Raw(value if isinstance(value, str) else _to_text(value))


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return str(value)


def _shown(value: Any) -> str:
    """``value`` as substituted text, charged to the render's output budget."""
    return count_output(_to_text(value))


# A shell template renders each substituted value as a sentinel naming its index in the
# list collected here; baton.engine.shellscript then places each value for its quoting context.
# A shell step sees each substituted value as the shell variable BATON_VALUE_<n>.
SHELL_VALUE_PREFIX = "BATON_VALUE_"
SENTINEL_START = "\x00BATON-VALUE:"
SENTINEL_END = "\x00"
_shell_values: ContextVar[list[str] | None] = ContextVar("baton_shell_values", default=None)


@contextmanager
def collect_shell_values() -> Iterator[list[str]]:
    """Collect the values a shell template substitutes while it renders (see SENTINEL_START)."""
    values: list[str] = []
    token = _shell_values.set(values)
    try:
        yield values
    finally:
        _shell_values.reset(token)


def _shell_finalize(value: Any) -> str:
    if isinstance(value, Raw):
        return count_output(str(value)).replace("\x00", "\ufffd")
    values = _shell_values.get()
    if values is None:
        raise RuntimeError("shell templates render through baton.engine.templates.render_script")
    values.append(_shown(value))
    return f"{SENTINEL_START}{len(values) - 1}{SENTINEL_END}"


def _plain_finalize(value: Any) -> str:
    return _shown(value)


def _tojson(value: Any, indent: int | None = None) -> str:
    if indent is not None and not 0 <= indent <= 16:
        raise ValueError("tojson: indent must be between 0 and 16")
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


def _unavailable(*_args: Any, **_kwargs: Any) -> bool:
    raise RuntimeError("step status helpers are only available while a workflow runs")


# Names that conditions may call; the engine binds real implementations at render time.
CONDITION_HELPERS = ("failed", "succeeded", "skipped", "always", "status")


def _make_env(shell: bool) -> BoundedSandbox:
    env = BoundedSandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_shell_finalize if shell else _plain_finalize,
    )
    env.filters["raw"] = _raw
    env.filters["tojson"] = _tojson
    # Kept for old templates: every value is now placed safely for its quoting context.
    env.filters["shquote"] = lambda v: v
    for name in CONDITION_HELPERS:
        env.globals[name] = _unavailable
    return env


@lru_cache(maxsize=2)
def environment(shell: bool = False) -> BoundedSandbox:
    """The sandboxed environment; ``shell=True`` marks every substituted value (see SENTINEL_START)."""
    return _make_env(shell)


_LOADERS = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
_TAGS = {nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from ... import",
         nodes.Extends: "extends"}


def _every_node(ast: nodes.Node) -> list[nodes.Node]:
    """``ast`` and all the nodes below it, in the order ``find_all`` visits them."""
    return [ast, *ast.find_all(nodes.Node)]


def _static_problem(every: list[nodes.Node]) -> str | None:
    """What is wrong with a parsed template (``every`` node of it) before it runs: loading
    other templates, unknown filters and tests, constant expressions over the sandbox's bounds."""
    for node in every:
        if isinstance(node, _LOADERS):
            return (f"line {node.lineno}: {{% {_TAGS[type(node)]} %}} is not supported: a step's "
                    "template cannot load other templates; put shared text in .baton/prompts/ and "
                    "use prompt_template: \"@prompts/NAME\"")
    return _unknown_names(every) or constant_problem(every[0], every)


def _unknown_names(every: list[nodes.Node]) -> str | None:
    """What Jinja's compiler would reject after parsing: unknown filters and tests."""
    env = environment(False)
    for node in every:
        if isinstance(node, (nodes.Filter, nodes.Test)):
            known = env.filters if isinstance(node, nodes.Filter) else env.tests
            if node.name not in known:
                kind = "filter" if isinstance(node, nodes.Filter) else "test"
                where = f"line {node.lineno}: " if node.lineno else ""
                return f"{where}No {kind} named {node.name!r}."
    return None


# Helpers that take a step id (always() takes none).
_STEP_HELPERS = frozenset(CONDITION_HELPERS) - {"always"}
# A reference to a step in a template: ("succeeded", "build") for a status helper called with
# a step id, ("outputs", "plan") for outputs.plan / outputs["plan"].
StepReference = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking one template or expression found: why it does not compile (None if it
    does) and, when it does, the steps it names, in the order they appear."""

    error: str | None
    references: tuple[StepReference, ...] = ()


_PLAIN = Checked(None)


@lru_cache(maxsize=4096)
def check_template(source: str) -> Checked:
    """Check ``source`` as a Baton template, parsing it once (cached by text).

    Parsing plus a check of filter and test names finds everything compiling would,
    at a fraction of the cost; the engine compiles a template when it first renders it.
    Text without Jinja delimiters cannot fail to parse and names nothing: it is not parsed.
    """
    if _NOT_LITERAL.search(source) is None:
        return _PLAIN
    try:
        ast = environment(False).parse(source)
    except TemplateSyntaxError as exc:
        return Checked(f"line {exc.lineno}: {exc.message}" if exc.lineno else str(exc.message))
    every = _every_node(ast)
    return Checked(_static_problem(every), _step_references(every))


@lru_cache(maxsize=4096)
def check_expression(source: str) -> Checked:
    """Check ``source`` as a condition or route expression, parsing it once (cached by text)."""
    env = environment(False)
    try:
        parser = Parser(env, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            token = parser.stream.current
            raise TemplateSyntaxError(f"unexpected {token.value!r}", token.lineno, None, None)
    except TemplateSyntaxError as exc:
        return Checked(str(exc.message))
    every = _every_node(expr)
    return Checked(_unknown_names(every) or constant_problem(expr, every), _step_references(every))


def template_error(source: str) -> str | None:
    """Return why ``source`` does not compile as a Baton template, or None if it does."""
    return check_template(source).error


def expression_error(source: str) -> str | None:
    """Return why ``source`` is not a valid condition expression, or None if it is."""
    return check_expression(source).error


def _step_references(every: list[nodes.Node]) -> tuple[StepReference, ...]:
    found: list[StepReference] = []
    for node in every:
        if (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name)
                and node.node.name in _STEP_HELPERS and node.args
                and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)):
            found.append((node.node.name, node.args[0].value))
        elif (isinstance(node, (nodes.Getattr, nodes.Getitem)) and isinstance(node.node, nodes.Name)
              and node.node.name == "outputs"):
            key = node.attr if isinstance(node, nodes.Getattr) else _const_str(node.arg)
            if key is not None:
                found.append(("outputs", key))
    return tuple(found)


def _const_str(node: nodes.Node) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


class _Literal:
    """A template without any Jinja syntax: it renders to its own text, uncompiled."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, *_args: Any, **_kwargs: Any) -> str:
        return self.text


# what makes Jinja's output differ from its source: its delimiters, and a \r (newlines
# are normalised to \n)
_NOT_LITERAL = re.compile(r"\{[{%#]|\r")


@lru_cache(maxsize=4096)
def compile_template(source: str, shell: bool = False) -> Any:
    """Compile (and cache) a template with the sandboxed environment (compiling one
    costs ~0.5 ms; plain text is not compiled)."""
    if _NOT_LITERAL.search(source) is None:
        return _Literal(source)
    return environment(shell).from_string(source)


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> Any:
    """Compile (and cache) a condition or route expression with the sandboxed environment."""
    return environment(False).compile_expression(source, undefined_to_none=False)


def referenced_names(source: str) -> set[str]:
    """Top-level variable names a template reads (used to report missing inputs early)."""
    ast = environment(False).parse(source)
    return {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
