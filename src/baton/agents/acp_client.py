"""Baton's side of an ACP session: updates into AgentEvents, permissions, files, terminals.

:class:`BatonClient` implements the SDK's ``Client`` interface for one step:

* ``session/update`` → :class:`~baton.agents.base.AgentEvent` (text, tool_use/tool_result
  with kind, status and locations, file_change with the diff, plan, usage);
* ``session/request_permission`` → :class:`~baton.agents.acp_policy.PermissionPolicy`
  (every decision is an event and a transcript line);
* ``fs/read_text_file`` and ``fs/write_text_file`` confined to the workspace (traversal
  and symlinks out of it refused; writes also need the policy's consent) — writes are
  kept as the step's diff;
* ``terminal/*`` through Baton's process runner (:mod:`baton.agents.acp_terminals`).
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acp import RequestError
from acp.schema import (
    CreateElicitationResponse,
    CreateTerminalResponse,
    DeclineElicitationResponse,
    ElicitationMode,
    EnvVariable,
    KillTerminalResponse,
    PermissionOption,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    TerminalExitStatus,
    TerminalOutputResponse,
    ToolCallUpdate,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

from baton.agents.acp_policy import PermissionDecision, PermissionPolicy, choose_option, workspace_path
from baton.agents.acp_terminals import Terminals
from baton.agents.base import AgentEvent, EventCallback, Usage

# Who decides requests the policy wants a human for (``permissions: ask``): set by ``baton acp``
# for the executions it starts, so steps forward them to the editor. Unset: they are rejected.
AskHuman = Callable[[dict[str, Any], PermissionDecision], Awaitable[bool]]
HUMAN: ContextVar[AskHuman | None] = ContextVar("baton_acp_human", default=None)


def as_json(model: Any) -> dict[str, Any]:
    """An SDK model (or a plain dict) as the JSON object it travels as."""
    if isinstance(model, dict):
        return model
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


_YES_NO = [{"optionId": "allow", "kind": "allow_once"}, {"optionId": "reject", "kind": "reject_once"}]


@dataclass
class FileWrite:
    """One ``fs/write_text_file`` that Baton carried out."""

    path: str
    before: str | None
    after: str

    def unified_diff(self) -> str:
        old = (self.before or "").splitlines(keepends=True)
        new = self.after.splitlines(keepends=True)
        source = f"a/{self.path}" if self.before is not None else "/dev/null"
        return "".join(difflib.unified_diff(old, new, source, f"b/{self.path}"))


@dataclass
class SessionState:
    """What the session produced so far."""

    text_parts: list[str] = field(default_factory=list)
    message_parts: list[str] = field(default_factory=list)  # the text since the last tool call
    usage: Usage | None = None
    cost_usd: float | None = None
    decisions: list[PermissionDecision] = field(default_factory=list)
    writes: list[FileWrite] = field(default_factory=list)
    tool_kinds: dict[str, str] = field(default_factory=dict)
    context_used: int | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts).strip()

    @property
    def last_message(self) -> str:
        return "".join(self.message_parts)

    @property
    def rejected(self) -> list[PermissionDecision]:
        return [d for d in self.decisions if not d.allowed]


class BatonClient:
    """The ACP client for one step of one execution."""

    def __init__(
        self,
        workspace: Path,
        policy: PermissionPolicy,
        on_event: EventCallback,
        terminals: Terminals,
        *,
        note: Callable[[dict[str, Any]], None] = lambda _record: None,
        missing_file_empty: bool = False,
    ) -> None:
        self.missing_file_empty = missing_file_empty
        self.workspace = workspace
        self.policy = policy
        self.on_event = on_event
        self.terminals = terminals
        self.note = note
        self.approved: set[str] = set()  # paths a human allowed in this session
        self.state = SessionState()
        self.listening = True  # False while session/load replays old history

    # -- session/update -------------------------------------------------------------------
    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if not self.listening:
            return
        data = as_json(update)
        for event in self._events(data):
            await self.on_event(event)

    def _events(self, data: dict[str, Any]) -> list[AgentEvent]:
        kind = data.get("sessionUpdate")
        if kind == "agent_message_chunk":
            content = data.get("content") or {}
            text = str(content.get("text") or "") if content.get("type") == "text" else ""
            self.state.text_parts.append(text)
            self.state.message_parts.append(text)
            return [AgentEvent("text", text)] if text else []
        if kind == "agent_thought_chunk":
            content = data.get("content") or {}
            text = str(content.get("text") or "")
            return [AgentEvent("status", text, {"thought": True})] if text else []
        if kind in ("tool_call", "tool_call_update"):
            return self._tool_events(kind, data)
        if kind == "plan":
            entries = [{"content": e.get("content"), "status": e.get("status"),
                        "priority": e.get("priority")} for e in data.get("entries") or []]
            summary = "; ".join(f"[{e['status']}] {e['content']}" for e in entries)
            return [AgentEvent("plan", summary, {"entries": entries})]
        if kind == "usage_update":
            cost = data.get("cost") or {}
            if cost.get("currency", "USD") == "USD" and cost.get("amount") is not None:
                self.state.cost_usd = float(cost["amount"])
            self.state.context_used = data.get("used")
            return [AgentEvent("usage", "", {"used": data.get("used"), "size": data.get("size"),
                                             "cost": cost or None})]
        if kind == "current_mode_update":
            return [AgentEvent("status", f"mode {data.get('currentModeId')}",
                               {"mode": data.get("currentModeId")})]
        return []

    def _tool_events(self, kind: str, data: dict[str, Any]) -> list[AgentEvent]:
        self.state.message_parts.clear()
        call_id = str(data.get("toolCallId") or "")
        if data.get("kind"):
            self.state.tool_kinds[call_id] = str(data["kind"])
        info = {
            "id": call_id,
            "kind": data.get("kind") or self.state.tool_kinds.get(call_id),
            "status": data.get("status"),
            "title": data.get("title"),
            "locations": [loc.get("path") for loc in data.get("locations") or []],
        }
        if data.get("rawInput") is not None:
            info["input"] = data["rawInput"]
        events = [AgentEvent("tool_use" if kind == "tool_call" else "tool_result",
                             str(data.get("title") or info["kind"] or ""), info)]
        for item in data.get("content") or []:
            if item.get("type") == "diff":
                events.append(AgentEvent("file_change", str(item.get("path")), {
                    "path": item.get("path"), "tool_call_id": call_id,
                    "old_text": item.get("oldText"), "new_text": item.get("newText")}))
        if info["kind"] == "execute" and kind == "tool_call":
            command = (data.get("rawInput") or {}).get("command") if isinstance(
                data.get("rawInput"), dict) else None
            if command:
                text = command if isinstance(command, str) else shlex.join(map(str, command))
                events.append(AgentEvent("command", text, {"command": text}))
        return events

    # -- permissions --------------------------------------------------------------------------
    async def request_permission(self, session_id: str, tool_call: ToolCallUpdate,
                                 options: list[PermissionOption], **kwargs: Any) -> RequestPermissionResponse:
        call = as_json(tool_call)
        opts = [as_json(o) for o in options]
        if call.get("toolCallId") in self.state.tool_kinds and not call.get("kind"):
            call["kind"] = self.state.tool_kinds[str(call["toolCallId"])]
        decision = await self._decide(call, opts)
        await self._record(decision)
        if decision.option_id is None:
            return RequestPermissionResponse.model_validate({"outcome": {"outcome": "cancelled"}})
        return RequestPermissionResponse.model_validate(
            {"outcome": {"outcome": "selected", "optionId": decision.option_id}})

    async def _decide(self, call: dict[str, Any], opts: list[dict[str, Any]]) -> PermissionDecision:
        """The policy's answer, with ``ask`` answers settled by the human (or rejected)."""
        decision = self.policy.decide(call, opts)
        if not decision.ask:
            return decision
        if decision.paths and all(p in self.approved for p in decision.paths):
            decision.allowed, decision.reason = True, "already allowed by the editor's user"
        elif (human := HUMAN.get()) is None:
            decision.reason += "; no editor attached to ask, so rejected"
        else:
            decision.allowed = await human(call, decision)
            decision.reason = f"{'allowed' if decision.allowed else 'rejected'} by the editor's user"
            if decision.allowed:
                self.approved.update(decision.paths)
        decision.option_id = choose_option(opts, decision.allowed)
        return decision

    async def _record(self, decision: PermissionDecision) -> None:
        self.state.decisions.append(decision)
        self.note({"baton": "permission", **decision.as_dict()})
        verdict = "allowed" if decision.allowed else "rejected"
        await self.on_event(AgentEvent("permission", f"{decision.tool_kind} {verdict}: {decision.reason}",
                                       decision.as_dict()))

    # -- fs/* -----------------------------------------------------------------------------------
    def _confined(self, path: str) -> Path:
        try:
            return workspace_path(self.workspace, path)
        except PermissionError as exc:
            raise RequestError.invalid_params({"path": path, "reason": str(exc)}) from None

    async def read_text_file(self, session_id: str, path: str, line: int | None = None,
                             limit: int | None = None, **kwargs: Any) -> ReadTextFileResponse:
        target = self._confined(path)
        try:
            text = target.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            if self.missing_file_empty:
                return ReadTextFileResponse(content="")
            raise RequestError.resource_not_found(path) from None
        except OSError as exc:
            raise RequestError.internal_error({"path": path, "reason": str(exc)}) from None
        if line is not None or limit is not None:
            lines = text.splitlines(keepends=True)
            start = max((line or 1) - 1, 0)
            text = "".join(lines[start: start + limit] if limit is not None else lines[start:])
        return ReadTextFileResponse(content=text)

    async def write_text_file(self, session_id: str, path: str, content: str,
                              **kwargs: Any) -> WriteTextFileResponse | None:
        target = self._confined(path)
        rel = target.relative_to(self.workspace.resolve()).as_posix()
        decision = await self._decide(
            {"toolCallId": "fs/write_text_file", "kind": "edit", "title": f"write {rel}",
             "locations": [{"path": str(target)}]}, _YES_NO)
        if not decision.allowed:
            await self._record(decision)
            raise RequestError.invalid_params({"path": path, "reason": decision.reason})
        before = target.read_text(encoding="utf-8", errors="replace") if target.is_file() else None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        write = FileWrite(rel, before, content)
        self.state.writes.append(write)
        await self.on_event(AgentEvent("file_change", rel, {"path": rel, "via": "fs/write_text_file",
                                                            "diff": write.unified_diff()}))
        return WriteTextFileResponse()

    # -- terminal/* -------------------------------------------------------------------------------
    async def create_terminal(self, session_id: str, command: str, args: list[str] | None = None,
                              env: list[EnvVariable] | None = None, cwd: str | None = None,
                              output_byte_limit: int | None = None, **kwargs: Any) -> CreateTerminalResponse:
        argv = [command, *(args or [])] if args else ["/bin/sh", "-c", command]
        text = shlex.join(argv) if args else command
        decision = await self._decide(
            {"toolCallId": "terminal/create", "kind": "execute", "title": text,
             "rawInput": {"command": text}}, _YES_NO)
        if not decision.allowed:
            await self._record(decision)
            raise RequestError.invalid_params({"command": text, "reason": decision.reason})
        folder = self._confined(cwd) if cwd else self.workspace
        extra = {v.name: v.value for v in env or []}
        await self.on_event(AgentEvent("command", text, {"command": text, "via": "terminal/create"}))
        terminal_id = self.terminals.start(argv, folder, extra, output_byte_limit)
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def terminal_output(self, session_id: str, terminal_id: str,
                              **kwargs: Any) -> TerminalOutputResponse:
        terminal = self._terminal(terminal_id)
        status = terminal.exit_status()
        exit_status = TerminalExitStatus(exit_code=status[0], signal=status[1]) if status else None
        return TerminalOutputResponse(output=terminal.output, truncated=terminal.truncated,
                                      exit_status=exit_status)

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str,
                                     **kwargs: Any) -> WaitForTerminalExitResponse:
        self._terminal(terminal_id)
        terminal = await self.terminals.wait(terminal_id)
        code, sig = terminal.exit_status() or (None, None)
        return WaitForTerminalExitResponse(exit_code=code, signal=sig)

    async def kill_terminal(self, session_id: str, terminal_id: str,
                            **kwargs: Any) -> KillTerminalResponse | None:
        self._terminal(terminal_id)
        await self.terminals.kill(terminal_id)
        return KillTerminalResponse()

    async def release_terminal(self, session_id: str, terminal_id: str,
                               **kwargs: Any) -> ReleaseTerminalResponse | None:
        self._terminal(terminal_id)
        await self.terminals.release(terminal_id)
        return ReleaseTerminalResponse()

    def _terminal(self, terminal_id: str) -> Any:
        try:
            return self.terminals.get(terminal_id)
        except KeyError:
            raise RequestError.invalid_params({"terminalId": terminal_id}) from None

    # -- the rest of the interface ----------------------------------------------------------------
    async def create_elicitation(self, message: str, mode: ElicitationMode,
                                 **kwargs: Any) -> CreateElicitationResponse:
        return DeclineElicitationResponse(action="decline")

    async def complete_elicitation(self, elicitation_id: str, **kwargs: Any) -> None:
        return None

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise RequestError.method_not_found(method)

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

    def on_connect(self, conn: Any) -> None:
        return None
