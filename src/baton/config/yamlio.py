"""Read YAML configuration files safely and fast, and find where a value came from.

The fast path builds plain Python straight from libyaml's events (``CSafeLoader``, tags
resolved through a cache), without composing a node tree. A document it does not take as
it is (anchors and aliases, explicit tags, merge keys, a duplicate key, any error) is parsed
again by the careful path: composed with libyaml and built from the nodes, with anything
unusual (merge keys, explicit tags, timestamps, non-decimal numbers) handed to PyYAML's safe
constructor. Both give the same data; the careful path raises the located errors.
Duplicate keys are refused (YAML itself keeps the last one silently), documents that use
anchors are checked for alias bombs and recursive aliases before they are expanded, and flow
nesting deep enough to crash libyaml's composer is refused before it is composed. Only when
something is wrong is the text composed again, to turn a field path into a line and column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from baton.config.errors import ConfigFileError

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 1024 * 1024
# Nodes that aliases may add on top of the document's own nodes before we call it a bomb.
MAX_ALIAS_EXPANSION = 100_000
# Open flow collections ([ or {) allowed at once; libyaml's composer recurses per level.
MAX_FLOW_DEPTH = 200

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_BOOLS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_TRUE = {"yes", "true", "on"}
_FALSE = {"no", "false", "off"}
_BRACKETS = re.compile(r"[\[\]{}]")
# Where an anchor (&name) may start; "&&" in a shell command is not one.
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s\[\]{},&]")
# Plain scalar -> resolved tag; resolution depends only on the text of a plain scalar.
_RESOLVED: dict[str, str] = {}
_RESOLVED_MAX = 50_000

PathSeg = str | int
FieldPath = tuple[PathSeg, ...]


class _DuplicateKey(Exception):
    def __init__(self, key: str, mark: yaml.Mark, first: yaml.Mark) -> None:
        super().__init__(key)
        self.key = key
        self.mark = mark
        self.first = first


class _BadScalar(Exception):
    def __init__(self, message: str, mark: yaml.Mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def _scalar(node: ScalarNode, loader: _Loader) -> Any:
    """A scalar PyYAML's safe constructor builds; a value Python refuses is a located error."""
    try:
        if node.tag == _INT_TAG and node.value.isdigit() and (node.value[0] != "0" or node.value == "0"):
            return int(node.value)
        return loader.construct_object(node, deep=True)
    except ValueError as exc:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > 4000:
            raise _BadScalar(f"a number of {digits:,} digits; numbers here have at most 4,000 digits",
                             node.start_mark) from None
        raise _BadScalar(f"cannot read {str(node.value)[:40]!r} as a {node.tag.rsplit(':', 1)[-1]}: {exc}",
                         node.start_mark) from None


class _Loader(_BaseLoader):
    """The safe loader, refusing duplicate keys in a mapping, with cached tag resolution."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if not implicit[0]:
                return _STR_TAG
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
                if len(_RESOLVED) >= _RESOLVED_MAX:
                    _RESOLVED.clear()
                _RESOLVED[value] = tag
            return tag
        return _SEQ_TAG if kind is SequenceNode else _MAP_TAG

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], yaml.Mark] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != _MERGE_TAG:
                ident = (key_node.tag, key_node.value)
                first = seen.get(ident)
                if first is not None:
                    raise _DuplicateKey(key_node.value, key_node.start_mark, first)
                seen[ident] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def read_text(path: Path, shown: str) -> str:
    """The file's text; refuses files over :data:`MAX_FILE_BYTES` and non-UTF-8 content."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigFileError(
                f"file is {size:,} bytes, over the {_size(MAX_FILE_BYTES)} "
                f"({MAX_FILE_BYTES:,} bytes) limit; split workflows into .baton/workflows/*.yaml",
                file=shown,
            )
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigFileError(f"cannot read file: {exc.strerror or exc}", file=shown) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigFileError(f"file is larger than the {_size(MAX_FILE_BYTES)} limit", file=shown)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw[: exc.start].decode("utf-8", "replace"), None)
        raise ConfigFileError("file is not UTF-8 text", file=shown, line=line, column=col) from None


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB".replace(".0 MiB", " MiB")
    if n >= 1024:
        return f"{n / 1024:.1f} KiB".replace(".0 KiB", " KiB")
    return f"{n} bytes"


def _line_col(text: str, offset: int | None) -> tuple[int, int]:
    head = text if offset is None else text[:offset]
    line = head.count("\n") + 1
    col = len(head) - (head.rfind("\n") + 1) + 1
    return line, col


def parse(text: str, shown: str) -> Any:
    """Parse one YAML document into plain Python, raising located ConfigFileErrors."""
    return parse_noting_dollars(text, shown)[0]


def parse_noting_dollars(text: str, shown: str) -> tuple[Any, list[FieldPath] | None]:
    """Like :func:`parse`, with the paths of the string values that contain ``$`` when the
    fast path noted them (None: not known)."""
    try:
        return _fast_parse(text)
    except Exception:  # anything the fast path does not take (or an error): the careful path decides
        return _careful_parse(text, shown), None


class _NotPlain(Exception):
    """The document needs the careful path (anchors, tags, merge keys, duplicate keys...)."""


_NO_KEY = object()


def _fast_parse(text: str) -> tuple[Any, list[FieldPath]]:
    """The document built from libyaml's events, and the paths of its string values that
    contain ``$``; raises _NotPlain (or a YAML error) when it is anything but plain mappings,
    sequences and implicitly typed scalars."""
    loader = _Loader(text)
    dollars: list[FieldPath] = []
    try:
        next_event = loader.get_event
        resolve = loader.resolve
        resolved = _RESOLVED
        constructors = loader.yaml_constructors
        if type(next_event()) is not StreamStartEvent:
            raise _NotPlain
        start = next_event()
        if type(start) is StreamEndEvent:
            return None, dollars
        if type(start) is not DocumentStartEvent:
            raise _NotPlain
        # (collection, key waiting for its value) of each enclosing collection
        stack: list[tuple[Any, Any]] = []
        container: Any = None
        key: Any = _NO_KEY
        while True:
            event: Any = next_event()
            kind = type(event)
            if kind is ScalarEvent:
                if event.anchor is not None or (event.tag is not None and event.tag != "!"):
                    raise _NotPlain
                raw = event.value
                implicit = event.implicit
                # quoted and block scalars are strings; plain ones resolve by their text
                tag = resolved.get(raw) or resolve(ScalarNode, raw, implicit) if implicit[0] else _STR_TAG
                if tag == _STR_TAG:
                    value: Any = raw
                    if "$" in raw and (type(container) is not dict or key is not _NO_KEY):
                        dollars.append(_path_here(stack, container, key))
                elif tag == _NULL_TAG:
                    value = None
                elif tag == _BOOL_TAG:
                    value = _BOOLS[raw.lower()]
                elif tag == _INT_TAG and raw.isdigit() and (raw[0] != "0" or raw == "0"):
                    value = int(raw)
                elif tag == _MERGE_TAG:
                    raise _NotPlain
                else:
                    value = constructors[tag](loader, ScalarNode(tag, raw, event.start_mark, event.end_mark))
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.anchor is not None or (event.tag is not None and event.tag != "!"):
                    raise _NotPlain
                if len(stack) >= MAX_FLOW_DEPTH:
                    raise _NotPlain  # the careful path refuses deep nesting before composing
                stack.append((container, key))
                container = {} if kind is MappingStartEvent else []
                key = _NO_KEY
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                value = container
                container, key = stack.pop()
            else:
                raise _NotPlain  # an alias
            if type(container) is dict:
                if key is _NO_KEY:
                    key = value
                elif key in container:
                    raise _NotPlain
                else:
                    container[key] = value
                    key = _NO_KEY
            elif container is not None:
                container.append(value)
            elif type(next_event()) is DocumentEndEvent and type(next_event()) is StreamEndEvent:
                return value, dollars
            else:
                raise _NotPlain  # more than one document
    finally:
        loader.dispose()


def _path_here(stack: list[tuple[Any, Any]], container: Any, key: Any) -> FieldPath:
    """The path of the value about to be added to ``container`` (see _fast_parse's stack)."""
    if container is None:
        return ()
    levels = [*stack[1:], (container, key)]
    return tuple(k if type(c) is dict else len(c) for c, k in levels)


def _careful_parse(text: str, shown: str) -> Any:
    _check_nesting(text, shown)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        anchors = _ANCHOR.search(text) is not None
        if anchors:
            _check_aliases(node, text, shown)
        return _build(node, loader, {} if anchors else None)
    except _DuplicateKey as dup:
        raise ConfigFileError(
            f"duplicate key {dup.key!r} (first defined at line {dup.first.line + 1}); "
            "YAML would silently keep only the last one",
            file=shown,
            line=dup.mark.line + 1,
            column=dup.mark.column + 1,
            field_path=format_path(_path_of_key(text, dup.mark)) or None,
        ) from None
    except _BadScalar as bad:
        raise ConfigFileError(bad.message, file=shown, line=bad.mark.line + 1, column=bad.mark.column + 1,
                              field_path=format_path(_path_of_value(text, bad.mark)) or None) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, shown) from None
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        raise ConfigFileError(
            f"invalid character {chr(exc.character)!r} in YAML ({exc.reason})"
            if isinstance(exc.character, int)
            else f"invalid YAML: {exc.reason}",
            file=shown,
            line=line,
            column=col,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"invalid YAML: {exc}", file=shown) from None
    except RecursionError:
        raise ConfigFileError("YAML nesting is too deep", file=shown) from None
    finally:
        loader.dispose()


def _check_nesting(text: str, shown: str) -> None:
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                line, col = _line_col(text, match.start())
                raise ConfigFileError(
                    f"flow collections nested more than {MAX_FLOW_DEPTH} levels deep",
                    file=shown,
                    line=line,
                    column=col,
                )
        elif depth:
            depth -= 1


def _build(node: Node, loader: _Loader, memo: dict[int, Any] | None) -> Any:
    """Plain Python for ``node``; ``memo`` (documents with anchors) keeps aliases shared."""
    kind = type(node)
    if kind is ScalarNode:
        tag = node.tag
        if tag == _STR_TAG:
            return node.value
        if tag == _NULL_TAG:
            return None
        if tag == _BOOL_TAG:
            return _BOOLS[node.value.lower()]
        assert isinstance(node, ScalarNode)
        return _scalar(node, loader)
    if memo is not None and id(node) in memo:
        return memo[id(node)]
    if kind is MappingNode and node.tag == _MAP_TAG:
        out: dict[Any, Any] = {}
        if memo is not None:
            memo[id(node)] = out
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                return loader.construct_object(node, deep=True)
            key = _build(key_node, loader, memo)
            try:
                duplicate = key in out
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key (a list or mapping)",
                    key_node.start_mark,
                ) from None
            if duplicate:
                first = next(k for k, _ in node.value if _build(k, loader, memo) == key)
                raise _DuplicateKey(str(key_node.value), key_node.start_mark, first.start_mark)
            out[key] = _build(value_node, loader, memo)
        return out
    if kind is SequenceNode and node.tag == _SEQ_TAG:
        items: list[Any] = []
        if memo is not None:
            memo[id(node)] = items
        items.extend(_build(item, loader, memo) for item in node.value)
        return items
    return loader.construct_object(node, deep=True)


def _syntax_error(exc: yaml.MarkedYAMLError, shown: str) -> ConfigFileError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
        problem = (
            f"{problem} ({exc.context} at line {exc.context_mark.line + 1}, "
            f"column {exc.context_mark.column + 1})"
        )
    elif exc.context:
        problem = f"{problem} ({exc.context})"
    return ConfigFileError(
        f"invalid YAML: {problem}",
        file=shown,
        line=mark.line + 1 if mark is not None else None,
        column=mark.column + 1 if mark is not None else None,
    )


def _check_aliases(root: Node, text: str, shown: str) -> None:
    """Refuse documents whose aliases expand to far more nodes than the text holds."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    distinct = 0

    def expanded(node: Node) -> int:
        nonlocal distinct
        if id(node) in open_nodes:
            mark = node.start_mark
            raise ConfigFileError(
                "recursive alias: an anchored collection contains an alias to itself",
                file=shown,
                line=mark.line + 1,
                column=mark.column + 1,
            )
        known = sizes.get(id(node))
        if known is not None:
            return known
        open_nodes.add(id(node))
        distinct += 1
        total = 1
        if isinstance(node, MappingNode):
            for key, value in node.value:
                total += expanded(key) + expanded(value)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                total += expanded(item)
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    total = expanded(root)
    limit = distinct + MAX_ALIAS_EXPANSION
    if total <= limit:
        return
    # Point at the deepest node that still holds most of the expansion.
    node = root
    mark_node: Node = root
    path: list[PathSeg] = []
    while True:
        children: list[tuple[PathSeg, Node, Node]] = []
        if isinstance(node, MappingNode):
            children = [(str(k.value), k, v) for k, v in node.value]
        elif isinstance(node, SequenceNode):
            children = [(i, v, v) for i, v in enumerate(node.value)]
        best = max(children, key=lambda c: sizes[id(c[2])], default=None)
        if best is None or sizes[id(best[2])] * 2 < sizes[id(node)]:
            break
        path.append(best[0])
        node = best[2]
        mark_node = best[1]
    mark = mark_node.start_mark
    raise ConfigFileError(
        f"aliases expand to {total:,} nodes (limit {limit:,}); refusing a possible YAML alias bomb",
        file=shown,
        line=mark.line + 1,
        column=mark.column + 1,
        field_path=format_path(tuple(path)) or None,
    )


def compose(text: str) -> Node | None:
    """The node tree of ``text`` (for marks), or None when it cannot be composed."""
    try:
        return yaml.compose(text, Loader=_BaseLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def _key_matches(key: ScalarNode, seg: PathSeg) -> bool:
    value = str(key.value)
    if isinstance(seg, bool):
        return value.lower() in (_TRUE if seg else _FALSE)
    return value == str(seg)


def _lookup(mapping: MappingNode, seg: PathSeg) -> tuple[Node, Node] | None:
    found: tuple[Node, Node] | None = None
    merges: list[Node] = []
    for key, value in mapping.value:
        if isinstance(key, ScalarNode):
            if key.tag == _MERGE_TAG or (key.value == "<<" and key.style is None):
                merges.append(value)
            elif _key_matches(key, seg):
                found = (key, value)
    if found is not None:
        return found
    for merged in merges:
        sources = merged.value if isinstance(merged, SequenceNode) else [merged]
        for source in sources:
            if isinstance(source, MappingNode) and (hit := _lookup(source, seg)):
                return hit
    return None


def locate(root: Node, path: Sequence[PathSeg]) -> tuple[int, int, bool]:
    """Line and column (1-based) of ``path`` in the tree, and whether it was found.

    A key is located at the key itself, a list item at the item. When the path does not
    exist (a missing required field) the result points at the deepest existing parent.
    """
    node = root
    mark_node: Node = root
    for seg in path:
        if isinstance(node, MappingNode):
            hit = _lookup(node, seg)
            if hit is None:
                return (*_mark(mark_node), False)
            mark_node, node = hit
        elif isinstance(node, SequenceNode) and isinstance(seg, int) and 0 <= seg < len(node.value):
            node = node.value[seg]
            mark_node = node
        else:
            return (*_mark(mark_node), False)
    return (*_mark(mark_node), True)


def value_node(root: Node, path: Sequence[PathSeg]) -> Node | None:
    """The value node at ``path``, or None."""
    node = root
    for seg in path:
        if isinstance(node, MappingNode):
            hit = _lookup(node, seg)
            if hit is None:
                return None
            node = hit[1]
        elif isinstance(node, SequenceNode) and isinstance(seg, int) and 0 <= seg < len(node.value):
            node = node.value[seg]
        else:
            return None
    return node


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _path_of_key(text: str, mark: yaml.Mark) -> FieldPath:
    """The field path of the key node that starts at ``mark``."""
    return _path_at(text, mark, keys=True)


def _path_of_value(text: str, mark: yaml.Mark) -> FieldPath:
    """The field path of the value node that starts at ``mark``."""
    return _path_at(text, mark, keys=False)


def _path_at(text: str, mark: yaml.Mark, *, keys: bool) -> FieldPath:
    root = compose(text)
    if root is None:
        return ()

    def at(node: Node) -> bool:
        return node.start_mark.line == mark.line and node.start_mark.column == mark.column

    def walk(node: Node, path: FieldPath) -> FieldPath | None:
        if isinstance(node, MappingNode):
            for key, value in node.value:
                here = (*path, str(key.value) if isinstance(key, ScalarNode) else "?")
                if at(key if keys else value):
                    return here
                if (found := walk(value, here)) is not None:
                    return found
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                if not keys and at(item):
                    return (*path, i)
                if (found := walk(item, (*path, i))) is not None:
                    return found
        return None

    try:
        return walk(root, ()) or ()
    except RecursionError:
        return ()


def format_path(path: Sequence[PathSeg]) -> str:
    """A path as users read it: ``workflows.review.steps[2].timeout_seconds``."""
    out: list[str] = []
    for seg in path:
        if isinstance(seg, int) and not isinstance(seg, bool):
            out.append(f"[{seg}]")
        elif _plain_key(str(seg)):
            out.append(f".{seg}" if out else str(seg))
        else:
            out.append(f"[{_quote(str(seg))}]")
    return "".join(out)


def _plain_key(key: str) -> bool:
    return bool(key) and all(c.isalnum() or c in "_-" for c in key) and key.isascii()


def _quote(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
