"""Baton as the permission broker: every ACP ``session/request_permission`` gets a policy answer.

Defaults (see :mod:`baton.models.permissions` for the ``permissions:`` block):

============ ===================== ==========================================================
kind         read-only step        step with ``writes_workspace: true``
============ ===================== ==========================================================
read/search  allow (in workspace)  allow (in workspace)
think        allow                 allow
edit/delete  reject                allow inside the workspace, never ``.git/``,
/move                              ``.github/workflows/``, ``.baton/`` or a protected glob
execute      reject                allow (a list of globs allows only matching commands)
fetch        reject                reject
other        reject                allow
============ ===================== ==========================================================

A decision picks the agent's ``allow_once`` option (else ``allow_always``) or its
``reject_once`` option (else ``reject_always``, else the ``cancelled`` outcome).
"""

from __future__ import annotations

import fnmatch
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from baton.models.permissions import Permissions

READ_KINDS = frozenset({"read", "search"})
EDIT_KINDS = frozenset({"edit", "delete", "move"})
ALWAYS_PROTECTED = (".git", ".github/workflows", ".baton")
_PATH_KEYS = ("file_path", "filePath", "path", "abs_path", "absolute_path", "notebook_path",
              "destination", "target", "new_path", "old_path")


@dataclass(slots=True)
class PermissionDecision:
    """One permission request and Baton's answer (an event, a log row and a transcript line)."""

    tool_call_id: str
    tool_kind: str
    title: str
    allowed: bool
    reason: str
    option_id: str | None
    paths: list[str] = field(default_factory=list)
    command: str | None = None
    ask: bool = False  # the policy wants a human to decide (forwarded to the editor, if any)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool_call_id": self.tool_call_id,
            "tool_kind": self.tool_kind,
            "title": self.title,
            "decision": "allow" if self.allowed else "reject",
            "allowed": self.allowed,
            "reason": self.reason,
            "option_id": self.option_id,
            "paths": list(self.paths),
            "command": self.command,
        }


def inside(workspace: Path, raw: str) -> tuple[bool, str]:
    """(whether ``raw`` resolves inside ``workspace`` (symlinks followed), its relative path)."""
    ws = workspace.resolve()
    path = Path(raw)
    if not path.is_absolute():
        path = ws / path
    resolved = path.resolve(strict=False)
    try:
        rel = resolved.relative_to(ws)
    except ValueError:
        return False, str(resolved)
    return True, rel.as_posix()


def protected_reason(rel: str, extra: list[str]) -> str | None:
    """Why the workspace-relative path ``rel`` may not be edited, or None."""
    parts = PurePosixPath(rel).parts
    for root in ALWAYS_PROTECTED:
        head = PurePosixPath(root).parts
        if parts[: len(head)] == head:
            return f"{rel} is under {root}/ (protected)"
    for pattern in extra:
        if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern.rstrip("/") + "/*"):
            return f"{rel} matches the protected pattern {pattern!r}"
    return None


def _paths(tool_call: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for location in tool_call.get("locations") or []:
        if isinstance(location, dict) and location.get("path"):
            found.append(str(location["path"]))
    for item in tool_call.get("content") or []:
        if isinstance(item, dict) and item.get("type") == "diff" and item.get("path"):
            found.append(str(item["path"]))
    raw = tool_call.get("rawInput")
    if isinstance(raw, dict):
        for key in _PATH_KEYS:
            if isinstance(raw.get(key), str) and raw[key]:
                found.append(raw[key])
        changes = raw.get("changes")
        if isinstance(changes, dict):
            found.extend(str(k) for k in changes)
    return list(dict.fromkeys(found))


def _command(tool_call: dict[str, Any]) -> str | None:
    raw = tool_call.get("rawInput")
    if isinstance(raw, dict):
        command = raw.get("command") or raw.get("cmd")
        if isinstance(command, list):
            parts = [str(c) for c in command]
            if len(parts) >= 3 and parts[0].endswith(("bash", "sh", "zsh")) and parts[1] in ("-c", "-lc"):
                return parts[2]
            return shlex.join(parts)
        if isinstance(command, str) and command:
            return command
    title = str(tool_call.get("title") or "").strip().strip("`")
    return title or None


def _kind(tool_call: dict[str, Any]) -> str:
    kind = tool_call.get("kind")
    return str(kind) if kind else "other"


class PermissionPolicy:
    """Decides permission requests for one step."""

    def __init__(self, workspace: Path, *, writes_workspace: bool,
                 permissions: Permissions | None = None) -> None:
        self.workspace = Path(workspace)
        self.writes = writes_workspace
        self.rules = permissions or Permissions()

    def _rule(self, name: str, default: bool) -> bool:
        value = getattr(self.rules, name)
        if value is None:
            return default
        return bool(value == "allow")

    def _asks(self, kind: str) -> bool:
        group = ("read" if kind in READ_KINDS or kind == "think" else "edit" if kind in EDIT_KINDS
                 else kind if kind in ("execute", "fetch") else "other")
        return bool(getattr(self.rules, group) == "ask")

    def decide(self, tool_call: dict[str, Any], options: list[dict[str, Any]]) -> PermissionDecision:
        """Baton's answer to one request (``tool_call`` and ``options`` as JSON objects)."""
        kind = _kind(tool_call)
        paths = _paths(tool_call)
        command = _command(tool_call) if kind == "execute" else None
        ask = self._asks(kind)
        if ask:
            allowed, reason = self._judge_ask(kind, paths)
        else:
            allowed, reason = self._judge(kind, paths, command)
        return PermissionDecision(
            tool_call_id=str(tool_call.get("toolCallId") or ""),
            tool_kind=kind,
            title=str(tool_call.get("title") or ""),
            allowed=allowed,
            reason=reason,
            option_id=choose_option(options, allowed),
            paths=paths,
            command=command,
            ask=ask and not reason.startswith(("outside", "protected")),
        )

    def _judge_ask(self, kind: str, paths: list[str]) -> tuple[bool, str]:
        """An ``ask`` rule: rejected unless a human allows it; protected paths stay refused."""
        for raw in paths:
            ok, rel = inside(self.workspace, raw)
            if not ok:
                return False, f"outside the workspace: {rel}"
            if kind in EDIT_KINDS and (why := protected_reason(rel, self.rules.protected)):
                return False, f"protected: {why}"
        return False, f"{kind} needs a human's approval (permissions: ask)"

    def _judge(self, kind: str, paths: list[str], command: str | None) -> tuple[bool, str]:
        if kind in READ_KINDS or kind == "think":
            if not self._rule("read", True):
                return False, f"{kind} denied by permissions.read"
            for raw in paths:
                ok, where = inside(self.workspace, raw)
                if not ok:
                    return False, f"{where} is outside the workspace"
            return True, f"{kind} is allowed"
        if kind in EDIT_KINDS:
            return self._judge_edit(kind, paths)
        if kind == "execute":
            return self._judge_execute(command)
        if kind == "fetch":
            return (True, "fetch allowed by permissions.fetch") if self._rule("fetch", False) else (
                False, "fetch is not allowed (permissions.fetch: allow to permit it)")
        if self._rule("other", self.writes):
            return True, f"{kind} is allowed in a writing step"
        return False, f"{kind} is not allowed in a read-only step"

    def _judge_edit(self, kind: str, paths: list[str]) -> tuple[bool, str]:
        if not self._rule("edit", self.writes):
            why = "permissions.edit: deny" if self.rules.edit == "deny" else "the step is read-only"
            return False, f"{kind} refused: {why}"
        if not paths:
            return False, f"{kind} refused: the request names no path"
        for raw in paths:
            ok, rel = inside(self.workspace, raw)
            if not ok:
                return False, f"{kind} refused: {rel} is outside the workspace"
            reason = protected_reason(rel, self.rules.protected)
            if reason:
                return False, f"{kind} refused: {reason}"
        return True, f"{kind} inside the workspace is allowed"

    def _judge_execute(self, command: str | None) -> tuple[bool, str]:
        rule = self.rules.execute
        if isinstance(rule, list):
            text = (command or "").strip()
            for pattern in rule:
                if fnmatch.fnmatchcase(text, pattern):
                    return True, f"command matches permissions.execute {pattern!r}"
            return False, f"command {text!r} matches none of permissions.execute"
        if self._rule("execute", self.writes):
            return True, "commands are allowed in a writing step"
        return False, "command execution is not allowed in a read-only step"


def choose_option(options: list[dict[str, Any]], allowed: bool) -> str | None:
    """The option id that says yes (once) or no (once) — None means answer ``cancelled``."""
    wanted = ("allow_once", "allow_always") if allowed else ("reject_once", "reject_always")
    for kind in wanted:
        for option in options:
            if option.get("kind") == kind:
                return str(option.get("optionId"))
    return None


def workspace_path(workspace: Path, raw: str) -> Path:
    """``raw`` as an absolute path confined to ``workspace`` (symlinks out of it refused).

    Raises PermissionError naming the path when it resolves outside the workspace.
    """
    ok, rel = inside(workspace, raw)
    if not ok:
        raise PermissionError(f"{raw} is outside the workspace {workspace}")
    return Path(os.path.join(workspace.resolve(), rel))
