"""The ``scripted`` agent: a test double shipped with the library, like httpx's MockTransport.

Each call takes the next entry of a script (per step id, or one shared list; the last
entry repeats). An entry is a dict:

- ``{"reply": "text", "json": {...}, "delay": 0.1, "usage": {...}, "cost_usd": 0.01,
  "write": {"path": "content"}}`` — answer (after ``delay`` seconds), writing files into
  the workspace first; ``{"echo": true}`` answers with the prompt itself;
- ``{"fail": "agent_error" | "rate_limited" | "timeout" | "unavailable" | "invalid_output"
  | "auth" | "crash", "message": "...", "retry_after": 2}`` — raise that error (with
  ``usage`` / ``cost_usd``: a failed call that was billed);
- ``{"hang": true}`` — never answer (the step timeout ends it).

The script comes from the agent's ``config.script`` (a list, or a dict step id → list,
with ``"*"`` as the default) or from a Python ``handler(request) -> entry``. With
``config.record`` set to a file path, every call is appended there as one JSON line, so
tests can count calls across processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baton.agents.base import (
    AgentAdapter,
    AgentBase,
    AgentError,
    AgentEvent,
    AgentFailed,
    AgentRequest,
    AgentResult,
    AgentTimeout,
    AgentUnavailable,
    EventCallback,
    HealthReport,
    InvalidOutput,
    RateLimited,
    Usage,
)
from baton.models import Agent

Entry = dict[str, Any]
Handler = Callable[[AgentRequest], Entry]


def _error(entry: Entry, agent_id: str) -> AgentError:
    kind = entry["fail"]
    message = entry.get("message") or f"scripted {kind}"
    if kind == "rate_limited":
        return RateLimited(message, retry_after=entry.get("retry_after"), agent_id=agent_id)
    if kind == "timeout":
        return AgentTimeout(message, agent_id=agent_id)
    if kind == "unavailable":
        return AgentUnavailable(message, agent_id=agent_id)
    if kind == "invalid_output":
        return InvalidOutput(message, agent_id=agent_id)
    if kind == "auth":
        return AgentFailed(message, retryable=False, agent_id=agent_id)
    return AgentFailed(message, retryable=bool(entry.get("retryable", True)),
                       exit_code=entry.get("exit_code"), agent_id=agent_id)


class ScriptedAgent(AgentBase):
    """An in-process agent whose answers are scripted per call."""

    def __init__(self, agent: Agent, handler: Handler | None = None) -> None:
        super().__init__(agent)
        self.handler = handler
        self.calls: list[AgentRequest] = []
        self._counters: dict[str, int] = {}
        self._record = Path(self.config["record"]) if self.config.get("record") else None
        self._acts = bool(self.config.get("acts_on_workspace", False))

    @property
    def acts_on_workspace(self) -> bool:
        return self._acts

    def _next(self, request: AgentRequest) -> Entry:
        if self.handler is not None:
            return self.handler(request)
        script = self.config.get("script", [{"echo": True}])
        if isinstance(script, dict):
            entries = script.get(request.step_id) or script.get("*") or [{"echo": True}]
            counter = request.step_id
        else:
            entries, counter = script, "*"
        index = self._counters.get(counter, 0)
        self._counters[counter] = index + 1
        return dict(entries[min(index, len(entries) - 1)])

    def _log_call(self, request: AgentRequest) -> None:
        if self._record is None:
            return
        line = json.dumps({"agent": self.agent.id, "step": request.step_id,
                           "execution": request.execution_id, "attempt": request.attempt,
                           "prompt": request.prompt, "pid": os.getpid(), "at": time.time()})
        with self._record.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    async def run(self, request: AgentRequest, on_event: EventCallback) -> AgentResult:
        self.calls.append(request)
        self._log_call(request)
        entry = self._next(request)
        started = time.monotonic()
        if entry.get("hang"):
            await asyncio.sleep(10**9)
        if entry.get("delay"):
            await asyncio.sleep(float(entry["delay"]))
        if "fail" in entry:
            raise _error(entry, self.agent.id).billed(Usage.from_dict(entry.get("usage")),
                                                      entry.get("cost_usd"))
        files = []
        for rel, content in (entry.get("write") or {}).items():
            target = (request.workspace_dir / rel).resolve()
            if not target.is_relative_to(request.workspace_dir.resolve()):
                raise AgentFailed(f"scripted write outside the workspace: {rel}", retryable=False)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            files.append(rel)
            await on_event(AgentEvent("file_change", rel, {"path": rel}))
        text = request.prompt if entry.get("echo") else str(entry.get("reply", ""))
        if text:
            await on_event(AgentEvent("text", text))
        return AgentResult(
            text=text,
            json=entry.get("json"),
            usage=Usage.from_dict(entry.get("usage")),
            cost_usd=entry.get("cost_usd"),
            session_id=entry.get("session_id"),
            exit_code=0,
            files_changed=files,
            duration_seconds=time.monotonic() - started,
            model=self.agent.model,
        )

    async def check(self, live: bool = False) -> HealthReport:
        return HealthReport(True, "scripted agent (test double)")


def scripted_factory(handlers: dict[str, Handler],
                     fallback: Callable[[Agent], AgentAdapter] | None = None
                     ) -> Callable[[Agent], AgentAdapter]:
    """An adapter factory serving ``handlers[agent.id]`` as scripted agents, others normally."""
    from baton.agents.factory import create_adapter

    def factory(agent: Agent) -> AgentAdapter:
        if agent.id in handlers:
            return ScriptedAgent(agent, handlers[agent.id])
        return (fallback or create_adapter)(agent)

    return factory
