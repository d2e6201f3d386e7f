"""Baton as an MCP server (``baton mcp serve``): any MCP client can delegate to Baton.

Tools:

- ``list_workflows()`` — id, name, description, parameters (JSON Schema) and steps.
- ``run_workflow(workflow_id, parameters={}, wait=False)`` — starts an execution in this
  server's process and returns its id at once; with ``wait`` it sends a progress
  notification as each step finishes and returns when the execution ends. A built-in
  workflow is prepared and published as ``baton run`` does it
  (:func:`baton.integrations.hooks.start` / :func:`~baton.integrations.hooks.finish`: issue
  text fetched, branch pushed, pull request opened); what cannot be prepared (an issue
  number without GitHub credentials) is a tool error saying why.
- ``get_execution(execution_id)`` — status, error, steps, usage and cost.
- ``get_logs(execution_id, step_id=None, min_level=None, limit=200)`` — log lines.
- ``cancel_execution(execution_id)`` — cancel a running (or queued) execution.

Plus the tools of each module in ``mcp_serve.tool_modules``: a module defines
``register(server)`` (or ``register(server, baton)``) that adds tools with
``@server.tool()``, or a ``TOOLS`` list of functions.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from baton.engine import Baton
from baton.engine.core import ExecutionHandle, ExecutionResult
from baton.engine.errors import ExecutionNotFound
from baton.errors import BatonError
from baton.integrations import hooks
from baton.integrations.mcp.errors import McpServeError
from baton.models import LogLevel, Trigger
from baton.models import events as ev
from baton.models.execution import step_totals

INSTRUCTIONS = (
    "Baton runs multi-agent coding workflows (Claude Code, Codex, Copilot, Gemini, model APIs, "
    "shell steps). Use list_workflows to see what exists, run_workflow to start one (wait=true "
    "to follow it to the end), get_execution and get_logs to inspect it, cancel_execution to stop it."
)
log = logging.getLogger(__name__)
_FINISHED = (ev.StepCompleted, ev.StepFailed, ev.StepSkipped)


def _result(result: ExecutionResult) -> dict[str, Any]:
    return {
        "execution_id": result.execution_id,
        "workflow_id": result.workflow_id,
        "status": result.status.value,
        "error": result.error,
        "steps": {k: v.value for k, v in result.steps.items()},
        "outputs": {
            k: {
                "text": (v or {}).get("text"),
                "json": (v or {}).get("json"),
                "status": (v or {}).get("status"),
            }
            for k, v in result.outputs.items()
        },
        "usage": result.usage.as_dict(),
        "cost_usd": round(result.cost_usd, 6),
        "duration_seconds": round(result.duration_seconds, 3),
    }


class BatonTools:
    """The implementations behind Baton's MCP tools (plain async methods, testable directly)."""

    def __init__(self, baton: Baton) -> None:
        self.baton = baton
        self._publishing: set[asyncio.Task[None]] = set()

    async def list_workflows(self) -> list[dict[str, Any]]:
        found = []
        for workflow_id in self.baton.workflow_ids():
            wf = self.baton.workflow(workflow_id)
            cfg = self.baton.configuration.workflows.get(workflow_id)
            found.append(
                {
                    "id": wf.id,
                    "name": wf.name,
                    "description": wf.description,
                    "type": wf.type.value,
                    "parameters": cfg.parameter_schema() if cfg is not None else {},
                    "steps": [{"id": s.id, "agent_id": s.agent_id} for s in wf.steps],
                }
            )
        return found

    async def run_workflow(
        self,
        workflow_id: str,
        parameters: dict[str, Any] | None = None,
        wait: bool = False,
        ctx: Context | None = None,
    ) -> dict[str, Any]:
        try:
            handle, prepared = await hooks.start(self.baton, workflow_id, parameters or {},
                                                 trigger=Trigger.MCP)
        except hooks.NothingToDo as exc:  # e.g. pr-fix on a green pull request: no run, not an error
            return {"execution_id": None, "workflow_id": workflow_id, "status": "nothing_to_do",
                    "message": str(exc)}
        if not wait:
            if handle.workflow.config.get("publish"):
                task = asyncio.create_task(self._publish_later(handle))
                self._publishing.add(task)
                task.add_done_callback(self._publishing.discard)
            return {
                "execution_id": handle.id,
                "workflow_id": workflow_id,
                "status": "running",
                "trace_id": handle.context.trace_id,
                **({"notes": prepared.notes} if prepared.notes else {}),
            }
        total = len(handle.workflow.steps)
        done = 0
        async for event in handle.events():
            if isinstance(event, _FINISHED) and ctx is not None:
                done += 1
                await ctx.report_progress(done, total, event.message())
        result, published = await hooks.finish(self.baton, handle)
        out = _result(result)
        if prepared.notes:
            out["notes"] = prepared.notes
        if published is not None:
            out["published"] = {"verdict": published.verdict, "url": published.url,
                                "notes": published.notes, "text": published.text}
        return out

    async def _publish_later(self, handle: ExecutionHandle) -> None:
        """Publish a run started without ``wait`` once it ends, as a worker would."""
        try:
            _result, published = await hooks.finish(self.baton, handle)
        except BatonError as exc:
            log.error("execution %s: publishing failed: %s", handle.id, " ".join(str(exc).split()))
            return
        for note in published.notes if published else []:
            log.info("execution %s: %s", handle.id, note)

    async def get_execution(self, execution_id: str) -> dict[str, Any]:
        record = self.baton.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFound(execution_id)
        context = record.context
        steps = self.baton.store.list_steps(execution_id)
        usage, cost = step_totals(steps)
        return {
            "execution_id": context.id,
            "workflow_id": context.workflow_id,
            "status": context.status.value,
            "trigger": context.trigger.value if context.trigger else None,
            "error": context.error,
            "trace_id": context.trace_id,
            "start_time": context.start_time.isoformat(),
            "end_time": context.end_time.isoformat() if context.end_time else None,
            "steps": [
                {
                    "step_id": r.step_id,
                    "status": r.status.value,
                    "agent_id": r.agent_id,
                    "attempt": r.attempt,
                    "error": r.error,
                    "text": (r.output or {}).get("text"),
                }
                for r in steps
            ],
            "usage": usage,
            "cost_usd": round(cost, 6),
        }

    async def get_logs(
        self, execution_id: str, step_id: str | None = None, min_level: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        if self.baton.store.get_execution(execution_id) is None:
            raise ExecutionNotFound(execution_id)
        levels = [level.value for level in LogLevel]
        if min_level and min_level.lower() not in levels:
            raise ToolError(f"min_level {min_level!r}: expected one of {', '.join(levels)}")
        level = LogLevel(min_level.lower()) if min_level else None
        logs = self.baton.store.list_logs(execution_id, step_id=step_id, min_level=level)
        return [
            {
                "timestamp": log.timestamp.isoformat(),
                "level": log.level.value,
                "step_id": log.step_id,
                "message": log.message,
            }
            for log in logs[-max(1, limit) :]
        ]

    async def cancel_execution(self, execution_id: str, reason: str = "cancelled via MCP") -> dict[str, Any]:
        context = self.baton.cancel(execution_id, reason)
        return {
            "execution_id": execution_id,
            "status": "cancelling" if not context.status.is_terminal else context.status.value,
        }


async def _call(awaitable: Any) -> Any:
    """Await a tool body; Baton errors become tool errors carrying their one-line message."""
    try:
        return await awaitable
    except BatonError as exc:
        raise ToolError(str(exc)) from None


def build_server(baton: Baton) -> MCPServer[Any]:
    """An MCP server exposing ``baton``'s workflows and executions, plus configured tool modules."""
    config = baton.configuration.mcp_serve
    server: MCPServer[Any] = MCPServer(config.name, instructions=INSTRUCTIONS)
    tools = BatonTools(baton)

    @server.tool(description="List the workflows Baton can run, with their parameters and steps.")
    async def list_workflows() -> list[dict[str, Any]]:
        return await _call(tools.list_workflows())  # type: ignore[no-any-return]

    @server.tool(
        description="Start a workflow; returns its execution id at once. With wait=true, "
        "report progress as each step finishes and return the final status and outputs."
    )
    async def run_workflow(
        workflow_id: str, ctx: Context, parameters: dict[str, Any] | None = None, wait: bool = False
    ) -> dict[str, Any]:
        return await _call(tools.run_workflow(workflow_id, parameters, wait, ctx))  # type: ignore[no-any-return]

    @server.tool(description="Status, steps, usage and cost of an execution.")
    async def get_execution(execution_id: str) -> dict[str, Any]:
        return await _call(tools.get_execution(execution_id))  # type: ignore[no-any-return]

    @server.tool(
        description="Log lines of an execution (optionally one step's, at or above min_level: "
        "debug, info, warning or error)."
    )
    async def get_logs(
        execution_id: str, step_id: str | None = None, min_level: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        return await _call(tools.get_logs(execution_id, step_id, min_level, limit))  # type: ignore[no-any-return]

    @server.tool(description="Cancel a running or queued execution.")
    async def cancel_execution(execution_id: str, reason: str = "cancelled via MCP") -> dict[str, Any]:
        return await _call(tools.cancel_execution(execution_id, reason))  # type: ignore[no-any-return]

    for module_name in config.tool_modules:
        _load_tools(server, baton, module_name)
    return server


def _load_tools(server: MCPServer[Any], baton: Baton, module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise McpServeError(f"mcp_serve.tool_modules: cannot import {module_name!r}: {exc}") from None
    register = getattr(module, "register", None)
    functions = getattr(module, "TOOLS", None)
    if register is None and functions is None:
        raise McpServeError(
            f"mcp_serve.tool_modules: {module_name!r} defines neither register(server) nor a TOOLS list"
        )
    try:
        if callable(register):
            params = len(inspect.signature(register).parameters)
            register(server, baton) if params >= 2 else register(server)
        for fn in functions or ():
            server.add_tool(fn)
    except Exception as exc:
        raise McpServeError(
            f"mcp_serve.tool_modules: {module_name!r} failed to add its tools: {exc}"
        ) from None
