"""``${VAR}`` interpolation in configuration string values.

Syntax (in any string value of a configuration file):

- ``${VAR}``: the variable's value; an error when it is unset.
- ``${VAR:-default}``: the default when the variable is unset or empty.
- ``$${``: a literal ``${``.
- ``${prefix:NAME}``: handed to the resolver registered for ``prefix`` (``secret:`` is
  resolved by the secrets store); a reference whose prefix has no resolver is left as
  written when the prefix is in ``passthrough`` and is an error otherwise.

Prompt templates are exempt (see :data:`RAW_FIELDS`): they are Jinja2, rendered later,
and shell steps use ``${var}`` natively.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Resolver = Callable[[str], str]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PREFIXED = re.compile(r"([a-z][a-z0-9_]*):(?!-)(.+)\Z", re.S)
_START = re.compile(r"\$\$\{|\$\{")

# Fields whose values are templates and therefore never interpolated; "*" matches any key
# or index. Paths are relative to the configuration root.
RAW_FIELDS: tuple[tuple[str, ...], ...] = (("workflows", "*", "steps", "*", "prompt_template"),)


class Unresolved(Exception):
    """A reference in one string that cannot be resolved; ``offset`` is where it starts."""

    def __init__(self, message: str, offset: int, reference: str) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.reference = reference


class UnresolvedAt(Exception):
    """An :class:`Unresolved` reference inside a tree, with the path of its string."""

    def __init__(self, path: tuple[str | int, ...], error: Unresolved) -> None:
        super().__init__(error.message)
        self.path = path
        self.error = error


class Interpolator:
    """Expands ``${...}`` references against an environment and prefix resolvers."""

    def __init__(
        self,
        env: Mapping[str, str],
        resolvers: Mapping[str, Resolver] | None = None,
        passthrough: frozenset[str] = frozenset({"secret"}),
    ) -> None:
        self._env = env
        self._resolvers = dict(resolvers or {})
        self._passthrough = passthrough

    def expand(self, text: str) -> str:
        """``text`` with every reference replaced; raises :class:`Unresolved`."""
        if "$" not in text:
            return text
        out: list[str] = []
        pos = 0
        for match in _START.finditer(text):
            start = match.start()
            if start < pos:
                continue
            out.append(text[pos:start])
            if match.group() == "$${":
                out.append("${")
                pos = match.end()
                continue
            end = text.find("}", match.end())
            if end < 0:
                raise Unresolved("unclosed '${' (write '$${' for a literal '${')", start, text[start:])
            out.append(self._resolve(text[match.end() : end], start, text[start : end + 1]))
            pos = end + 1
        out.append(text[pos:])
        return "".join(out)

    def _resolve(self, inner: str, offset: int, written: str) -> str:
        if "${" in inner:
            raise Unresolved(f"nested references are not supported in {written}", offset, written)
        name, sep, default = inner.partition(":-")
        if _NAME.match(name):
            value = self._env.get(name)
            if sep:
                return value if value else default
            if value is None:
                raise Unresolved(
                    f"environment variable {name} is not set (set it, add it to .env, or "
                    f"write ${{{name}:-default}})",
                    offset,
                    written,
                )
            return value
        prefixed = _PREFIXED.match(inner)
        if prefixed:
            prefix, key = prefixed.groups()
            resolver = self._resolvers.get(prefix)
            if resolver is not None:
                try:
                    return resolver(key)
                except Exception as exc:  # a resolver's failure becomes a located error
                    raise Unresolved(f"cannot resolve {written}: {exc}", offset, written) from None
            if prefix in self._passthrough:
                return written
            known = ", ".join(sorted({*self._resolvers, *self._passthrough})) or "none"
            raise Unresolved(
                f"unknown reference prefix '{prefix}:' in {written} (known: {known})",
                offset,
                written,
            )
        raise Unresolved(
            f"malformed reference {written}; expected ${{VAR}} or ${{VAR:-default}} "
            "(write '$${' for a literal '${')",
            offset,
            written,
        )

    def expand_tree(self, data: Any, prefix: tuple[str | int, ...] = ()) -> Any:
        """A copy of ``data`` with every string value expanded (keys and RAW_FIELDS kept).

        ``prefix`` is the path of ``data`` inside the configuration (for RAW_FIELDS).
        Raises :class:`UnresolvedAt` naming the path of the failing string.
        """
        return self._walk(data, prefix)

    def expand_paths(self, data: Any, paths: Iterable[tuple[str | int, ...]]) -> Any:
        """Like :meth:`expand_tree`, visiting only the strings at ``paths`` (see dollar_paths)."""
        copied: set[int] = set()
        for path in paths:
            if _is_raw(path):
                continue
            value = _get(data, path)
            if not isinstance(value, str):
                continue
            try:
                expanded = self.expand(value)
            except Unresolved as exc:
                raise UnresolvedAt(path, exc) from None
            if expanded != value:
                data = _set(data, path, expanded, copied)
        return data

    def _walk(self, data: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(data, str):
            if "$" not in data or _is_raw(path):
                return data
            try:
                return self.expand(data)
            except Unresolved as exc:
                raise UnresolvedAt(path, exc) from None
        if isinstance(data, dict):
            return {k: self._walk(v, (*path, k)) for k, v in data.items()}
        if isinstance(data, list):
            return [self._walk(v, (*path, i)) for i, v in enumerate(data)]
        return data


def _is_raw(path: tuple[str | int, ...]) -> bool:
    for pattern in RAW_FIELDS:
        if len(pattern) == len(path) and all(
            p == "*" or p == seg for p, seg in zip(pattern, path, strict=True)
        ):
            return True
    return False


def dollar_paths(data: Any) -> list[tuple[str | int, ...]]:
    """Paths of every string value in ``data`` that contains a ``$``."""
    found: list[tuple[str | int, ...]] = []

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, str):
            if "$" in node:
                found.append(path)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*path, i))

    walk(data, ())
    return found


def _get(data: Any, path: tuple[str | int, ...]) -> Any:
    for seg in path:
        present = (isinstance(data, dict) and seg in data) or (
            isinstance(data, list) and isinstance(seg, int) and 0 <= seg < len(data)
        )
        if not present:
            return None
        data = data[seg]
    return data


def _set(data: Any, path: tuple[str | int, ...], value: Any, copied: set[int]) -> Any:
    """``data`` with ``value`` at ``path``, copying each container once (never mutating input)."""
    if not path:
        return value
    if id(data) not in copied:
        data = dict(data) if isinstance(data, dict) else list(data)
        copied.add(id(data))
    head = path[0]
    data[head] = _set(data[head], path[1:], value, copied)
    return data
