"""Turn a field path (or a pydantic error) into a located, one-line ConfigError."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import Node

from baton.config.errors import ConfigError, ConfigValidationError
from baton.config.layers import Layer, origin_of, owner
from baton.config.yamlio import FieldPath, PathSeg, compose, format_path, locate, value_node
from baton.models import Configuration

# Segments pydantic adds to a location for union members and dict keys; they name no field.
_TYPE_TAGS = {"str", "int", "float", "bool", "none", "list", "dict", "[key]"}


class Locator:
    """Builds located errors for the layers of one load; composes each file at most once."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = list(layers)
        self._trees: dict[int, Node | None] = {}

    def _tree(self, layer: Layer) -> Node | None:
        key = id(layer)
        if key not in self._trees:
            self._trees[key] = compose(layer.text) if layer.text is not None else None
        return self._trees[key]

    def error(
        self,
        cls: type[ConfigError],
        message: str,
        path: Sequence[PathSeg],
        *,
        layer: Layer | None = None,
        at_value: bool = False,
        needle: str | None = None,
    ) -> ConfigError:
        """A ``cls`` error for ``path``, located in ``layer`` (default: its owner).

        ``at_value`` points at the value rather than its key; ``needle`` moves the column to
        where that text starts on the located line (e.g. the ``${VAR}`` inside a string).
        """
        layer = layer or owner(self.layers, path)
        field_path = format_path(path) or None
        if not layer.is_file:
            return cls(message, file=origin_of(layer, path), field_path=field_path)
        rel = tuple(path[len(layer.prefix) :]) if tuple(path[: len(layer.prefix)]) == layer.prefix else ()
        tree = self._tree(layer)
        if tree is None:  # an empty document: everything is missing from its first line
            return cls(message, file=layer.label, line=1, column=1, field_path=field_path)
        line, col, found = locate(tree, rel)
        if found and at_value:
            node = value_node(tree, rel)
            if node is not None:
                line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if needle and layer.text is not None:
            text_lines = layer.text.splitlines()
            if 0 < line <= len(text_lines):
                idx = text_lines[line - 1].find(needle, col - 1)
                if idx >= 0:
                    col = idx + 1
        return cls(message, file=layer.label, line=line, column=col, field_path=field_path)


def validation_error(
    exc: ValidationError, data: Any, locator: Locator, prefix: FieldPath = ()
) -> ConfigError:
    """The first error of a failed ``Configuration`` validation, located in its file.

    ``prefix`` is where the validated value sits in ``data`` (e.g. ``("workflows", "review")``
    for one WorkflowConfig validated on its own).
    """
    details = exc.errors(include_url=False)
    err = details[0]
    path = clean_path(err, data, prefix)
    # A union reports one error per member; the one that got deepest is the helpful one.
    for other in details[1:]:
        other_path = clean_path(other, data, prefix)
        if len(other_path) > len(path) and other_path[: len(path)] == path:
            err, path = other, other_path
    return locator.error(ConfigValidationError, describe(err, path), path)


def clean_path(err: ErrorDetails, data: Any, prefix: FieldPath = ()) -> FieldPath:
    """The error's location as a path into ``data``: union tags dropped, rule sub-path added."""
    loc: list[PathSeg] = [*prefix, *err["loc"]]
    ctx = err.get("ctx") or {}
    if err["type"] == "baton_rule" and isinstance(ctx.get("path"), list):
        loc.extend(ctx["path"])
    out: list[PathSeg] = []
    node: Any = data
    for seg in loc:
        present = (isinstance(node, dict) and seg in node) or (
            isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node)
        )
        if present:
            out.append(seg)
            node = node[seg]
        elif not (isinstance(seg, str) and (seg in _TYPE_TAGS or "[" in seg)):
            out.append(seg)
            node = None
    return tuple(out)


def describe(err: ErrorDetails, path: FieldPath) -> str:
    """A short, lower-case message for one pydantic error."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "baton_rule":
        return str(ctx.get("message", err["msg"]))
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown key" + _suggestion(path)
    message = err["msg"]
    message = message[:1].lower() + message[1:]
    if kind.endswith(("_type", "_parsing", "enum", "literal_error")) or kind.startswith(("greater", "less")):
        message += f" (got {_shown(err.get('input'))})"
    return message


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _suggestion(path: FieldPath) -> str:
    if not path:
        return ""
    fields = fields_at(path[:-1])
    if not fields:
        return ""
    typo = str(path[-1])
    close = difflib.get_close_matches(typo, fields, n=1, cutoff=0.5) or [
        f for f in fields if f.startswith(typo) or typo.startswith(f)
    ]
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (expected one of: {', '.join(fields)})"


def fields_at(path: Sequence[PathSeg]) -> list[str] | None:
    """The keys the configuration schema allows at ``path`` (a mapping), or None."""
    tp: Any = Configuration
    for seg in path:
        tp = _unwrap(tp, seg)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            found = None
            for name, info in tp.model_fields.items():
                if seg in (name, info.alias):
                    found = info.annotation
            if found is None:
                return None
            tp = found
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        else:
            return None
    tp = _unwrap(tp, None)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [info.alias or name for name, info in tp.model_fields.items()]
    return None


def _unwrap(tp: Any, seg: PathSeg | None) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        for option in options:
            if isinstance(option, type) and issubclass(option, BaseModel):
                return option
            if isinstance(seg, int) and typing.get_origin(option) is list:
                return option
            if isinstance(seg, str) and typing.get_origin(option) is dict:
                return option
        return options[0] if options else tp
    return tp
