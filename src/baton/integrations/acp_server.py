"""``baton acp``: Baton as an Agent Client Protocol agent, so an editor can drive workflows.

An editor (Zed, JetBrains, any ACP client) starts ``baton acp`` and talks JSON-RPC on its
stdin/stdout. A prompt ``/run WORKFLOW --param value -p key=value`` starts that workflow in
the session's cwd; any other text starts the default workflow (``baton acp --workflow``)
with the text as its ``--text-param`` parameter. While it runs:

* each step is a plan entry (pending → in_progress → completed; a failed step shows
  ``completed`` with its error in a message), sent as ``plan`` updates;
* step starts, step answers and the final status are ``agent_message_chunk`` s;
* a request that a step's ``permissions:`` block marks ``ask`` is forwarded to the editor
  as ``session/request_permission``; the editor's choice is the answer;
* ``session/cancel`` cancels the execution (its agents' process groups are killed).

The turn ends ``end_turn`` (completed or failed: the message says which) or ``cancelled``.
"""

from __future__ import annotations

import asyncio
import shlex
import uuid
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, cast

from acp import PROTOCOL_VERSION, RequestError, plan_entry, text_block, update_agent_message, update_plan
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    ToolCallUpdate,
)

from baton.agents.acp_client import HUMAN
from baton.agents.acp_policy import PermissionDecision
from baton.engine.core import Baton, ExecutionHandle
from baton.errors import BatonError
from baton.integrations import hooks
from baton.models import Trigger
from baton.models import events as ev

OpenBaton = Callable[[Path], Baton]


class RunRequest:
    """What a prompt asked for: a workflow and its parameters."""

    def __init__(self, workflow: str, params: dict[str, Any]) -> None:
        self.workflow = workflow
        self.params = params


def parse_prompt(text: str, default_workflow: str | None, text_param: str) -> RunRequest:
    """``/run WF --key value -p k=v`` or plain text for the default workflow (ValueError if neither)."""
    stripped = text.strip()
    if not stripped.startswith("/run"):
        if not default_workflow:
            raise ValueError("start a workflow with /run WORKFLOW [--param value ...] "
                             "(no default workflow is configured: baton acp --workflow NAME)")
        return RunRequest(default_workflow, {text_param: stripped})
    words = shlex.split(stripped)[1:]
    if not words:
        raise ValueError("which workflow? /run WORKFLOW [--param value ...]")
    workflow, rest = words[0], words[1:]
    params: dict[str, Any] = {}
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in ("-p", "--param") and i + 1 < len(rest):
            key, sep, value = rest[i + 1].partition("=")
            if not sep:
                raise ValueError(f"-p {rest[i + 1]!r}: expected key=value")
            params[key] = value
            i += 2
            continue
        if not word.startswith("--") or len(word) < 3:
            raise ValueError(f"unexpected {word!r}; give parameters as --name value or -p name=value")
        key, sep, value = word[2:].partition("=")
        if not sep:
            if i + 1 < len(rest) and not rest[i + 1].startswith("--"):
                value, i = rest[i + 1], i + 1
            else:
                value = "true"
        params[key] = value
        i += 1
    return RunRequest(workflow, params)


class _Session:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.handle: ExecutionHandle | None = None
        self.cancelled = False


class BatonAcpAgent:
    """The agent side of ACP, backed by a Baton configuration."""

    def __init__(self, open_baton: OpenBaton, *, default_workflow: str | None = None,
                 text_param: str = "prompt") -> None:
        self.open_baton = open_baton
        self.default_workflow = default_workflow
        self.text_param = text_param
        self.client: Client | None = None
        self.sessions: dict[str, _Session] = {}

    def on_connect(self, conn: Client) -> None:
        self.client = conn

    async def initialize(self, protocol_version: int, client_capabilities: Any = None,
                         client_info: Any = None, **kwargs: Any) -> InitializeResponse:
        return InitializeResponse(protocol_version=min(protocol_version, PROTOCOL_VERSION),
                                  agent_capabilities=AgentCapabilities(load_session=False),
                                  agent_info=Implementation(name="baton", title="Baton", version="0.1.0"))

    async def new_session(self, cwd: str, mcp_servers: Any = None, **kwargs: Any) -> NewSessionResponse:
        session_id = uuid.uuid4().hex
        self.sessions[session_id] = _Session(Path(cwd))
        return NewSessionResponse(session_id=session_id)

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.cancelled = True
            if session.handle is not None:
                session.handle.cancel()

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        session = self.sessions.get(session_id)
        if session is None:
            raise RequestError.invalid_params({"sessionId": session_id, "reason": "unknown session"})
        session.cancelled = False
        text = "".join(getattr(block, "text", "") or "" for block in prompt)
        try:
            asked = parse_prompt(text, self.default_workflow, self.text_param)
        except ValueError as exc:
            await self._say(session_id, f"{exc}\n")
            return PromptResponse(stop_reason="end_turn")
        try:
            baton = self.open_baton(session.cwd)
        except Exception as exc:  # a configuration problem: tell the editor's user
            await self._say(session_id, f"cannot load the Baton configuration in {session.cwd}: {exc}\n")
            return PromptResponse(stop_reason="end_turn")
        try:
            return await self._run(baton, session_id, session, asked)
        finally:
            baton.close()

    async def _run(self, baton: Baton, session_id: str, session: _Session,
                   asked: RunRequest) -> PromptResponse:
        try:
            workflow = baton.workflow(asked.workflow)
        except Exception as exc:
            await self._say(session_id, f"{exc}\n")
            return PromptResponse(stop_reason="end_turn")
        steps = [step.id for step in workflow.steps]
        status = dict.fromkeys(steps, "pending")
        token = HUMAN.set(self._asker(session_id))
        try:
            handle, prepared = await hooks.start(baton, asked.workflow, asked.params, Path(session.cwd),
                                                 trigger=Trigger.ACP)
        except Exception as exc:
            await self._say(session_id, f"{exc}\n")
            return PromptResponse(stop_reason="end_turn")
        finally:
            HUMAN.reset(token)
        session.handle = handle
        for note in prepared.notes:
            await self._say(session_id, f"{note}\n")
        await self._say(session_id, f"Running {asked.workflow} (execution {handle.id})\n")
        await self._plan(session_id, steps, status)
        async for event in handle.events():
            await self._progress(session_id, event, steps, status)
        with suppress(asyncio.CancelledError):
            try:
                result, published = await hooks.finish(baton, handle)
            except BatonError as exc:  # the run ended; publishing it failed
                result, published = await handle.wait(), None
                await self._say(session_id, f"publishing failed: {exc}\n")
            await self._say(session_id, f"{asked.workflow} {result.status.value}"
                                        f"{': ' + result.error if result.error else ''}\n")
            for note in published.notes if published else []:
                await self._say(session_id, f"{note}\n")
        session.handle = None
        if session.cancelled:
            return PromptResponse(stop_reason="cancelled")
        return PromptResponse(stop_reason="end_turn")

    async def _progress(self, session_id: str, event: ev.Event, steps: list[str],
                        status: dict[str, str]) -> None:
        if isinstance(event, ev.StepStarted) and event.step in status:
            status[event.step] = "in_progress"
            await self._plan(session_id, steps, status)
            await self._say(session_id, f"▶ {event.step} on {event.agent_id}\n")
        elif isinstance(event, ev.StepCompleted | ev.StepFailed | ev.StepSkipped) and event.step in status:
            status[event.step] = "completed"
            await self._plan(session_id, steps, status)
            if isinstance(event, ev.StepFailed):
                await self._say(session_id, f"✗ {event.step}: {event.error}\n")
            elif isinstance(event, ev.StepSkipped):
                await self._say(session_id, f"- {event.step} skipped: {event.reason}\n")
            else:
                await self._say(session_id, f"✓ {event.step} ({event.duration_seconds:.1f}s)\n")
        elif isinstance(event, ev.PermissionDecision):
            verdict = "allowed" if event.decision == "allow" else "rejected"
            target = event.command or ", ".join(event.paths) or event.title
            await self._say(session_id, f"  {event.agent_id} {event.tool_kind} {verdict}: {target}\n")
        elif isinstance(event, ev.AgentOutput) and event.event_kind == "text" and event.text:
            await self._say(session_id, event.text if event.text.endswith("\n") else event.text + "\n")

    def _asker(self, session_id: str) -> Callable[[dict[str, Any], PermissionDecision], Any]:
        async def ask(call: dict[str, Any], decision: PermissionDecision) -> bool:
            assert self.client is not None
            tool_call = ToolCallUpdate.model_validate({
                "toolCallId": call.get("toolCallId") or decision.tool_call_id or "baton",
                "title": decision.title or decision.tool_kind,
                "kind": decision.tool_kind if decision.tool_kind in _KINDS else "other",
                "locations": [{"path": p} for p in decision.paths],
                "rawInput": call.get("rawInput"),
            })
            options = [PermissionOption(option_id="allow", name="Allow", kind="allow_once"),
                       PermissionOption(option_id="reject", name="Reject", kind="reject_once")]
            response = await self.client.request_permission(session_id=session_id, tool_call=tool_call,
                                                            options=options)
            outcome = response.outcome
            return getattr(outcome, "option_id", None) == "allow"
        return ask

    async def _plan(self, session_id: str, steps: list[str], status: dict[str, str]) -> None:
        assert self.client is not None
        entries = [plan_entry(step, priority="medium", status=status[step]) for step in steps]  # type: ignore[arg-type]
        await self.client.session_update(session_id=session_id, update=update_plan(entries))

    async def _say(self, session_id: str, text: str) -> None:
        assert self.client is not None
        await self.client.session_update(session_id=session_id,
                                         update=update_agent_message(text_block(text)))


_KINDS = {"read", "edit", "delete", "move", "search", "execute", "think", "fetch", "switch_mode", "other"}


async def serve_stdio(agent: BatonAcpAgent) -> None:
    """Speak ACP on this process's stdin/stdout until the client goes away."""
    from acp import run_agent
    from acp.interfaces import Agent

    # It implements the methods it advertises; the SDK's router answers the rest (method not found).
    await run_agent(cast(Agent, agent))
