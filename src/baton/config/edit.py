"""Add and remove agents in ``baton.yaml`` by editing its text, keeping comments and layout.

The file is composed (not loaded) to find where the ``agents`` mapping and its entries
start and end; the new entry is inserted as a YAML block (or as a flow entry when
``agents`` is written in flow style) and a removed entry's lines are cut out. Everything
else in the file is left byte for byte. :func:`write_validated` checks the edited text
with the real configuration loader before it replaces the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from baton.config.errors import ConfigError, ConfigFileError
from baton.config.loader import LoadedConfig, load_configuration
from baton.config.yamlio import compose


class EditError(ConfigFileError):
    """The file cannot be edited automatically (the message says what to do by hand)."""


def _root(text: str, shown: str) -> MappingNode | None:
    if not text.strip():
        return None
    root = compose(text)
    if root is None:
        raise EditError("cannot be parsed as YAML; fix it first (`baton config validate`)", file=shown)
    if not isinstance(root, MappingNode):
        raise EditError("the top level is not a mapping of settings", file=shown)
    return root


def _entry(mapping: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and str(k.value) == key:
            return k, v
    return None


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _last_content_line(lines: list[str], first: int, end_mark: yaml.Mark) -> int:
    """The last line holding YAML (not blank, not a comment) from ``first`` up to ``end_mark``."""
    last = end_mark.line if end_mark.column > 0 else end_mark.line - 1
    last = min(last, len(lines) - 1)
    while last > first and not _is_content(lines[last]):
        last -= 1
    return last


def _block(agent_id: str, entry: dict[str, Any], indent: int) -> str:
    body = yaml.safe_dump(
        {agent_id: entry}, default_flow_style=False, sort_keys=False, allow_unicode=True, width=100
    )
    pad = " " * indent
    return "".join(pad + line + "\n" for line in body.splitlines())


def add_agent(text: str, agent_id: str, entry: dict[str, Any], shown: str = "baton.yaml") -> str:
    """``text`` with ``agents.<agent_id>`` set to ``entry``; EditError if it already exists."""
    root = _root(text, shown)
    found = _entry(root, "agents") if root is not None else None
    if found is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        return text + sep + "agents:\n" + _block(agent_id, entry, 2)
    key, agents = found
    if isinstance(agents, ScalarNode) and agents.value in ("", "~", "null"):
        # `agents:` with nothing (or null) after it: drop the null, put the block under the key.
        text = text[: agents.start_mark.index] + text[agents.end_mark.index :]
        lines = text.splitlines(keepends=True)
        row = key.start_mark.line
        lines[row] = lines[row].rstrip("\n").rstrip() + "\n"
        lines.insert(row + 1, _block(agent_id, entry, key.start_mark.column + 2))
        return "".join(lines)
    if not isinstance(agents, MappingNode):
        raise EditError("`agents` is not a mapping; add the agent by hand", file=shown)
    if _entry(agents, agent_id) is not None:
        raise EditError(f"agent {agent_id!r} already exists; remove it first or edit it by hand", file=shown)
    if agents.flow_style:
        close = agents.end_mark.index - 1  # the closing brace
        inline = f"{agent_id}: {json.dumps(entry, ensure_ascii=False)}"
        sep = ", " if agents.value else ""
        return text[:close].rstrip() + sep + inline + text[close:]
    lines = text.splitlines(keepends=True)
    last_key, last_value = agents.value[-1]
    last = _last_content_line(lines, last_key.start_mark.line, last_value.end_mark)
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    indent = agents.value[0][0].start_mark.column
    lines.insert(last + 1, _block(agent_id, entry, indent))
    return "".join(lines)


def remove_agent(text: str, agent_id: str, shown: str = "baton.yaml") -> str:
    """``text`` without ``agents.<agent_id>``; EditError if the file does not define it."""
    root = _root(text, shown)
    found = _entry(root, "agents") if root is not None else None
    agents = found[1] if found else None
    entry = _entry(agents, agent_id) if isinstance(agents, MappingNode) else None
    if agents is None or entry is None:
        raise EditError(
            f"agent {agent_id!r} is not defined in this file (it may come from another configuration layer)",
            file=shown,
        )
    assert isinstance(agents, MappingNode)
    key, value = entry
    if agents.flow_style:
        start, end = key.start_mark.index, value.end_mark.index
        rest = text[end:]
        stripped = rest.lstrip()
        if stripped.startswith(","):
            end += len(rest) - len(stripped) + 1
            end += len(text[end:]) - len(text[end:].lstrip(" "))
        else:
            before = text[:start].rstrip()
            if before.endswith(","):
                start = len(before) - 1
        return text[:start] + text[end:]
    lines = text.splitlines(keepends=True)
    first = key.start_mark.line
    last = _last_content_line(lines, first, value.end_mark)
    remaining = "".join(lines[:first] + lines[last + 1 :])
    if len(agents.value) == 1:
        # The mapping would be empty: leave `agents: {}` rather than a null.
        agents_key = found[0] if found else None
        if agents_key is not None:
            head = remaining.splitlines(keepends=True)
            line = head[agents_key.start_mark.line]
            head[agents_key.start_mark.line] = line.rstrip("\n").rstrip() + " {}\n"
            remaining = "".join(head)
    return remaining


def write_validated(path: Path, new_text: str, *, cwd: Path | None = None) -> LoadedConfig:
    """Validate ``new_text`` as the configuration at ``path``, then replace the file atomically.

    The check loads the text from a temporary file beside ``path`` (so ``.env`` and
    ``.baton/workflows`` are found); errors name ``path``. The file keeps its mode.
    """
    path = path.absolute()
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".edit")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new_text)
        try:
            loaded = load_configuration(tmp, cwd=cwd)
        except ConfigError as exc:
            # Name the real file, not the temporary copy, in the located error.
            if exc.file is not None:
                exc.file = exc.file.replace(tmp.name, path.name)
            exc.message = exc.message.replace(tmp.name, path.name)
            raise
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return loaded
