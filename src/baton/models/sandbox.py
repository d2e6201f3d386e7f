"""A Jinja2 sandbox that bounds what one render may cost: size, work, depth and time.

Jinja's own sandbox stops attribute escapes, not resource exhaustion: ``{{ 'a' * 10**10 }}``,
a recursive macro or nested loops would exhaust memory, the stack or the CPU of the whole run.
Here every render gets a :class:`RenderBudget`, and

- operators that grow values (``*``, ``**``, ``+``, ``%``, ``~``) refuse results over
  :data:`MAX_CHARS` characters, :data:`MAX_ITEMS` items or :data:`MAX_INT_BITS` bits;
- string methods and filters that pad, repeat or join (``ljust``, ``format``, ``center``,
  ``join``, ``replace``...) check the size of their result before they build it;
- every loop pass and every call is work (at most :data:`MAX_WORK` per render, and
  :data:`MAX_SECONDS` of wall time); calls nest at most :data:`MAX_DEPTH` deep;
- the text a render produces (loop bodies, substituted values) stays under :data:`MAX_CHARS`,
  and the text its padding filters and string methods build, kept or not (``map('center', n)``
  keeps every result in a list), under :data:`MAX_BUILT`.

A limit that is hit raises :class:`TemplateLimit`, a Jinja ``SecurityError``, so the engine
fails the step with its message like any other template error.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jinja2 import nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_CHARS = 16 * 1024 * 1024
MAX_BUILT = 4 * MAX_CHARS
MAX_ITEMS = 100_000
MAX_INT_BITS = 16_384
MAX_WORK = 1_000_000
MAX_DEPTH = 40
MAX_SECONDS = 10.0

T = TypeVar("T")
TICK_FILTER = "baton_tick"
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBERS = re.compile(r"\d+")
_FORMATTER = string.Formatter()


class TemplateLimit(SecurityError):
    """A render went over one of the sandbox's bounds."""


@dataclass
class RenderBudget:
    """What one render has spent so far."""

    work: int = 0
    depth: int = 0
    output: int = 0
    built: int = 0
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)

    def spend(self, work: int = 1, output: int = 0) -> None:
        self.work += work
        self.output += output
        if self.work > MAX_WORK:
            raise TemplateLimit(f"template does more than {MAX_WORK:,} loop passes and calls")
        if self.output > MAX_CHARS:
            raise TemplateLimit(f"template output is over {_size(MAX_CHARS)}")
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"template took more than {MAX_SECONDS:g} seconds to render")

    def build(self, text: T) -> T:
        """Charge a string that a filter or string method built; ``text`` itself."""
        if isinstance(text, str):
            self.built += len(text)
            if self.built > MAX_BUILT:
                raise TemplateLimit(f"template builds more than {_size(MAX_BUILT)} of text")
        return text


_budget: ContextVar[RenderBudget | None] = ContextVar("baton_render_budget", default=None)


@contextmanager
def render_budget() -> Iterator[RenderBudget]:
    """Give the renders inside this block one fresh budget."""
    budget = RenderBudget()
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def _current() -> RenderBudget:
    budget = _budget.get()
    # A render outside render_budget() (Jinja folding constants while compiling) is bounded per
    # operation only: a budget kept in the caller's context would accumulate across renders.
    return budget if budget is not None else RenderBudget()


def count_output(text: str) -> str:
    """Charge ``text`` (a substituted value) to the render's output."""
    _current().spend(0, len(text))
    return text


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n:,} characters"


def _check_chars(n: int, what: str) -> None:
    if n > MAX_CHARS:
        raise TemplateLimit(f"{what} would make a string of {n:,} characters (limit {_size(MAX_CHARS)})")


def _check_len(value: Any, times: int, what: str) -> None:
    """Refuse ``value`` repeated ``times`` times (``*``) when the result is over the bounds."""
    if isinstance(value, str):
        _check_chars(len(value) * times, what)
        return
    if len(value) * times > MAX_ITEMS:
        raise TemplateLimit(f"{what} would make {len(value) * times:,} items (limit {MAX_ITEMS:,})")
    _check_chars(_weight(value) * times, what)


def _weight(value: Any, memo: dict[int, int] | None = None, depth: int = 0) -> int:
    """About how many characters ``value`` shows as text (shared parts counted each time)."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, (list, tuple, dict)):
        return 1
    memo = {} if memo is None else memo
    known = memo.get(id(value))
    if known is not None:
        return known
    if depth > 100:
        raise TemplateLimit("a value nested more than 100 deep")
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
    total = 1 + sum(_weight(item, memo, depth + 1) for item in items)
    memo[id(value)] = total
    return total


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mul(left: Any, right: Any) -> Any:
    if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise TemplateLimit(f"'*' would make a number over {MAX_INT_BITS:,} bits")
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and _is_int(times):
            _check_len(seq, max(times, 0), "'*'")
    return left * right


def _pow(left: Any, right: Any) -> Any:
    if (_is_int(left) and _is_int(right) and right > 0 and abs(left) > 1
            and (abs(left).bit_length() - 1) * right > MAX_INT_BITS):
        raise TemplateLimit(f"'**' would make a number over {MAX_INT_BITS:,} bits")
    if isinstance(left, float) or isinstance(right, float):
        try:
            return left**right
        except OverflowError:
            raise TemplateLimit("'**' overflows a float") from None
    return left**right


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        _check_chars(len(left) + len(right), "'+'")
    elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        if len(left) + len(right) > MAX_ITEMS:
            raise TemplateLimit(f"'+' would make {len(left) + len(right):,} items (limit {MAX_ITEMS:,})")
        _check_chars(_weight(left) + _weight(right), "'+'")
    return left + right


def _percent_widths(fmt: str, args: Any) -> None:
    total = len(fmt)
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*":
                raise TemplateLimit("'%' formatting with '*' widths is not allowed in templates")
            if part:
                total += int(part)
    items = args if isinstance(args, tuple) else (args,)
    total += sum(len(a) for a in items if isinstance(a, str))
    _check_chars(total, "'%' formatting")


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        _percent_widths(left, right)
    return left % right


def _format_widths(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    total = len(fmt)
    for _text, name, spec, _conv in _FORMATTER.parse(fmt):
        if name is None:
            continue
        if spec and "{" in spec:
            raise TemplateLimit("nested format fields are not allowed in templates")
        total += sum(int(n) for n in _NUMBERS.findall(spec or ""))
    total += sum(len(a) for a in (*args, *kwargs.values()) if isinstance(a, str))
    _check_chars(total, "str.format")


def _width(args: tuple[Any, ...], kwargs: dict[str, Any], key: str, what: str) -> None:
    width = args[0] if args else kwargs.get(key, 0)
    if _is_int(width):
        _check_chars(width, what)


def _str_method(owner: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call of ``owner.name`` whose result would be over the bounds."""
    if name in ("ljust", "rjust", "center", "zfill"):
        _width(args, kwargs, "width", f"str.{name}")
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(size):
            _check_chars(len(owner) + owner.count("\t") * size, "str.expandtabs")
    elif name == "replace" and len(args) >= 2 and isinstance(args[1], str):
        hits = owner.count(args[0]) if isinstance(args[0], str) and args[0] else len(owner) + 1
        _check_chars(len(owner) + hits * len(args[1]), "str.replace")
    elif name == "join" and args:
        _joined(owner, args[0])
    elif name in ("format", "format_map"):
        values = args[0] if name == "format_map" and args and isinstance(args[0], dict) else {}
        _format_widths(owner, args if name == "format" else (), {**kwargs, **values})


def _joined(sep: str, items: Any) -> list[str]:
    """``items`` as strings, refusing a join over the bounds."""
    parts: list[str] = []
    total = 0
    for item in items:
        text = item if isinstance(item, str) else str(item)
        total += len(text) + len(sep)
        _check_chars(total, "join")
        parts.append(text)
    return parts


def bound_filters(filters: dict[str, Callable[..., Any]]) -> None:
    """Replace the filters that grow text with ones that check the size first."""
    center, indent, fmt, replace = filters["center"], filters["indent"], filters["format"], filters["replace"]
    join, slice_, wordwrap, total = filters["join"], filters["slice"], filters["wordwrap"], filters["sum"]

    def b_center(value: Any, width: int = 80) -> str:
        _width((width,), {}, "width", "center")
        return _current().build(str(center(value, width)))

    def b_indent(s: Any, width: int | str = 4, *args: Any, **kwargs: Any) -> str:
        text = str(s)
        pad = width if isinstance(width, str) else " " * min(max(width, 0), MAX_CHARS + 1)
        _check_chars(len(text) + (text.count("\n") + 1) * len(pad), "indent")
        return _current().build(str(indent(text, width, *args, **kwargs)))

    def b_format(value: str, *args: Any, **kwargs: Any) -> str:
        if args and kwargs:
            return str(fmt(value, *args, **kwargs))  # Jinja raises its own error
        _percent_widths(str(value), kwargs or tuple(args))
        return _current().build(str(fmt(value, *args, **kwargs)))

    def b_replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
        _str_method(str(s), "replace", (str(old), str(new)), {})
        return _current().build(str(replace(eval_ctx, s, old, new, count)))

    def b_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
        if attribute is None and not isinstance(value, str):
            value = _joined(str(d), value)
        result = str(join(eval_ctx, value, d, attribute))
        _check_chars(len(result), "join")
        return _current().build(result)

    def b_slice(value: Any, slices: int, fill_with: Any = None) -> Any:
        if _is_int(slices) and slices > MAX_ITEMS:
            raise TemplateLimit(f"slice would make {slices:,} slices (limit {MAX_ITEMS:,})")
        return slice_(value, slices, fill_with)

    def b_wordwrap(environment: Any, s: str, width: int = 79, *args: Any, **kwargs: Any) -> str:
        result = str(wordwrap(environment, s, width, *args, **kwargs))
        _check_chars(len(result), "wordwrap")
        return _current().build(result)

    def b_sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        if isinstance(start, (str, list, tuple)):
            acc = start
            for item in (iterable if attribute is None else total(environment, iterable, attribute, [])):
                acc = _add(acc, item if attribute is None else [item])
            return acc
        return total(environment, iterable, attribute, start)

    for name, func, orig in (
        ("center", b_center, center), ("indent", b_indent, indent), ("format", b_format, fmt),
        ("replace", b_replace, replace), ("join", b_join, join), ("slice", b_slice, slice_),
        ("wordwrap", b_wordwrap, wordwrap), ("sum", b_sum, total),
    ):
        pass_arg = getattr(orig, "jinja_pass_arg", None)
        if pass_arg is not None:
            setattr(func, "jinja_pass_arg", pass_arg)  # noqa: B010
        filters[name] = func


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    from jinja2.utils import generate_lorem_ipsum

    if n > 100 or max > 1000:
        raise TemplateLimit("lipsum: at most 100 paragraphs of 1000 words")
    return str(generate_lorem_ipsum(n, html, min, max))


def _range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_ITEMS:
        raise TemplateLimit(f"range of {len(rng):,} numbers (limit {MAX_ITEMS:,})")
    return rng


def _concat(*parts: Any) -> str:
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    _check_chars(sum(map(len, texts)), "'~'")
    return "".join(texts)


class _Guard:
    """Rewrites a parsed template so loops, macros and ``~`` report to the render's budget."""

    def __init__(self) -> None:
        self.concat = nodes.EnvironmentAttribute("baton_concat")

    def apply(self, tree: nodes.Node) -> None:
        for node in list(tree.find_all((nodes.For, nodes.Macro, nodes.CallBlock))):
            body: list[nodes.Node] = node.body  # type: ignore[attr-defined]
            body.insert(0, self._tick(_literal_chars(body), node.lineno))
        for concat in list(tree.find_all(nodes.Concat)):
            call = nodes.Call(self.concat, list(concat.nodes), [], None, None, lineno=concat.lineno)
            _replace(tree, concat, call)

    @staticmethod
    def _tick(weight: int, lineno: int) -> nodes.ExprStmt:
        # A filter call is the cheapest call the compiler emits (calls go through the sandbox).
        tick = nodes.Filter(nodes.Const(weight), TICK_FILTER, [], [], None, None, lineno=lineno)
        return nodes.ExprStmt(tick, lineno=lineno)


def _literal_chars(body: list[nodes.Node]) -> int:
    """Characters of literal text a body writes itself (nested loops and macros count their own)."""
    total = 0
    stack: list[nodes.Node] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif not isinstance(node, (nodes.For, nodes.Macro, nodes.CallBlock)):
            stack.extend(node.iter_child_nodes())
    return total


def _replace(tree: nodes.Node, old: nodes.Node, new: nodes.Node) -> None:
    for parent in tree.find_all(nodes.Node):
        for name, value in parent.iter_fields():
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": _mul, "**": _pow, "+": _add, "%": _mod,
}


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the bounds described in this module's docstring."""

    intercepted_binops = frozenset(_BINOPS)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals["range"] = _range
        self.globals["lipsum"] = _lipsum
        bound_filters(self.filters)
        self.filters[TICK_FILTER] = _tick
        self.baton_concat = _concat

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        _Guard().apply(source)
        return super()._generate(source, name, filename, defer_init)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _current().spend()
        return _BINOPS[operator](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.spend()
        owner = getattr(__obj, "__self__", None)
        target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        str_method = isinstance(owner, str) or isinstance(getattr(target, "__self__", None), str)
        if str_method:
            text = owner if isinstance(owner, str) else target.__self__
            _str_method(text, getattr(target, "__name__", ""), args, kwargs)
        if budget.depth >= MAX_DEPTH:
            raise TemplateLimit(f"template calls nest more than {MAX_DEPTH} deep (a recursive macro?)")
        budget.depth += 1
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        return budget.build(result) if str_method else result


@pass_context
def _tick(_context: Any, weight: int) -> str:
    _current().spend(1, weight)
    return ""




class _NotConstant(Exception):
    pass


_CONST_OPS: dict[type[nodes.Node], str] = {nodes.Mul: "*", nodes.Pow: "**", nodes.Add: "+", nodes.Mod: "%"}


def _constant(node: nodes.Node) -> Any:
    """The value of a constant expression, computed within the bounds (or _NotConstant)."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.List, nodes.Tuple)):
        items = [_constant(item) for item in node.items]
        return items if isinstance(node, nodes.List) else tuple(items)
    if isinstance(node, nodes.Neg):
        value = _constant(node.node)
        if _is_int(value) or isinstance(value, float):
            return -value
    op = _CONST_OPS.get(type(node))
    if op is not None:
        assert isinstance(node, nodes.BinExpr)
        try:
            return _BINOPS[op](_constant(node.left), _constant(node.right))
        except (TypeError, ValueError, ArithmeticError):
            raise _NotConstant from None
    if (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range"
            and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None):
        try:
            return _range(*(_constant(arg) for arg in node.args))
        except (TypeError, ValueError):
            raise _NotConstant from None
    raise _NotConstant


def constant_problem(ast: nodes.Node, every: Sequence[nodes.Node] | None = None) -> str | None:
    """Why a constant expression in ``ast`` would go over the bounds when it runs, or None.
    ``every`` is ``ast`` and all its nodes in walk order, when the caller has them already."""
    if every is None:
        every = [ast, *ast.find_all(nodes.Node)]
    for node in every:
        if not isinstance(node, (nodes.BinExpr, nodes.Call)):
            continue
        try:
            _constant(node)
        except _NotConstant:
            continue
        except TemplateLimit as exc:
            return f"line {node.lineno}: {exc.message}" if node.lineno else str(exc.message)
    return None
