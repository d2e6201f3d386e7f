"""The nodes and routers of a Baton graph: each node runs one workflow step.

A node visit: check the loop bounds (the step's ``max_iterations``, the workflow's
``max_steps``), decide whether the step runs (its dependencies and ``condition``, exactly
as in simple workflows), pause for approval if the step asks for it, run the step through
the :class:`StepExecutor` (templates, retries, fallbacks, timeouts, cache, limits,
budgets, events, StepRun rows), then pick the step's route. It returns only what changed
in the :class:`GraphState`; the router of a routing step reads the route index back.

Routes are evaluated whatever the step's status (so a workflow can branch on
``failed('test')``), except for a skipped step: it did not run, so it leads nowhere.
Once the execution is stopped (a bound, a budget, a broken route) no further step runs:
routers lead nowhere, and steps reached by dependency edges are skipped with the reason,
as the simple scheduler skips its pending steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError
from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphInterrupt
from langgraph.graph import END as LG_END
from langgraph.types import interrupt

from baton.agents.base import Usage
from baton.engine.errors import TemplateRenderError
from baton.engine.executor import StepExecutor
from baton.engine.graph_approval import waiting_output
from baton.engine.graph_errors import ApprovalRejected, GraphBuildError, LoopLimitExceeded
from baton.engine.graph_state import GraphState, usage_delta
from baton.engine.simple import skip_reason
from baton.engine.state import ExecutionRun
from baton.engine.templates import evaluate, render_text, step_context
from baton.models import StepRun, StepStatus, Workflow, WorkflowStep
from baton.models import events as ev
from baton.models.graph_rules import END, max_steps, shortest_cycle, topology
from baton.wording import counted

Node = Callable[[GraphState, RunnableConfig], Awaitable[dict[str, Any]]]
Router = Callable[[GraphState], "str | list[str]"]


RUNTIME_KEY = "__baton_runtime"


@dataclass(slots=True)
class NodeRuntime:
    """The execution the nodes act on, passed in the run's config under :data:`RUNTIME_KEY`
    (so one compiled graph serves every execution of its workflow).

    ``restored`` holds steps the store saw complete after the last checkpoint (a crash
    between the two writes): the node takes their output instead of running them again.
    """

    er: ExecutionRun
    executor: StepExecutor
    restored: dict[str, StepRun] = field(default_factory=dict)


class StepNodes:
    """Makes node and router callables for the steps of one workflow."""

    def __init__(self, workflow: Workflow, *, python_graph: bool = False) -> None:
        self.workflow = workflow
        self.steps = {s.id: s for s in workflow.steps}
        self.topology = topology(workflow.steps)
        # a Python graph wires its own edges: only declared dependencies gate a step
        self.deps = (
            {s.id: list(s.dependencies or []) for s in workflow.steps} if python_graph else self.topology.deps
        )
        self.max_steps = max_steps(workflow.config)
        # the compiled graph's edges (node -> targets), for naming the loop a bound stops
        self.edges: Callable[[], dict[str, list[str]]] | None = None

    # -- building ---------------------------------------------------------------------------
    def step(self, step_id: str) -> WorkflowStep:
        try:
            return self.steps[step_id]
        except KeyError:
            known = ", ".join(self.steps) or "none"
            raise GraphBuildError(
                f"workflow {self.workflow.id} has no step {step_id!r} (steps: {known})"
            ) from None

    def node(self, step_id: str) -> Node:
        """The node that runs step ``step_id``."""
        step = self.step(step_id)

        async def run_step(state: GraphState, config: RunnableConfig) -> dict[str, Any]:
            return await self._visit(step, state, _runtime(config))

        run_step.__name__ = f"step_{step_id.replace('-', '_')}"
        return run_step

    def route_keys(self, step_id: str) -> list[str]:
        """One key per route of the step: its ``when`` (drawn as the edge label), or the target."""
        step = self.step(step_id)
        routes = step.next if isinstance(step.next, list) else []
        keys: list[str] = []
        for j, route in enumerate(routes):
            key = _label(route.when) if route.when else _node_name(route.goto)
            if key in keys:
                key = f"{key} ({j + 1})"
            keys.append(key)
        return keys

    def path_map(self, step_id: str) -> dict[str, str]:
        """Route key → node name (LangGraph's ``path_map`` of the conditional edge)."""
        step = self.step(step_id)
        routes = step.next if isinstance(step.next, list) else []
        return {
            key: _node_name(route.goto) for key, route in zip(self.route_keys(step_id), routes, strict=True)
        }

    def router(self, step_id: str) -> Router:
        """The conditional edge of a routing step: the route its node chose, or nowhere."""
        keys = self.route_keys(step_id)

        def route(state: GraphState) -> str | list[str]:
            if state.get("abort"):
                return []
            index = (state.get("routes") or {}).get(step_id, -1)
            return keys[index] if 0 <= index < len(keys) else []

        route.__name__ = f"route_{step_id.replace('-', '_')}"
        return route

    # -- running ----------------------------------------------------------------------------
    async def _visit(self, step: WorkflowStep, state: GraphState, rt: NodeRuntime) -> dict[str, Any]:
        er, ex = rt.er, rt.executor
        visit = (state.get("iterations") or {}).get(step.id, 0) + 1
        before = er.outputs.get(step.key)
        if er.abort_reason is None:
            bound = self._bound(step, visit, state)
            if bound is not None:
                er.abort_reason = bound
                ex.fail(er, step, None, LoopLimitExceeded(bound), 0)
            else:
                await self._run_step(rt, step, visit)
        elif step.id not in er.statuses:
            ex.skip(er, step, er.abort_reason)
        update: dict[str, Any] = {"iterations": {step.id: visit}, "steps": 1}
        after = er.outputs.get(step.key)
        status = er.statuses.get(step.id)
        if status is not None:
            update["statuses"] = {step.id: status.value}
        if after is not None and after is not before:
            update["outputs"] = {step.key: after}
            update["usage"] = usage_delta(after)  # failed attempts were billed too
        if isinstance(step.next, list) and er.abort_reason is None and status is not StepStatus.SKIPPED:
            update["routes"] = {step.id: self._choose(rt, step, state, update)}
        if er.abort_reason is not None:
            update["abort"] = er.abort_reason
        await er.recorder.durable()  # the step's rows are committed before its checkpoint
        return update

    def _bound(self, step: WorkflowStep, visit: int, state: GraphState) -> str | None:
        if visit > step.max_iterations:
            return (
                f"step {step.id!r} reached max_iterations ({step.max_iterations}){self._loop(step)} "
                "without leaving it; raise max_iterations or check the loop's exit route"
            )
        if (state.get("steps") or 0) + 1 > self.max_steps:
            return (
                f"workflow {self.workflow.id!r} used its whole step budget "
                f"({counted(self.max_steps, 'step')}, config.max_steps) at step {step.id!r}"
                f"{self._loop(step)}; raise config.max_steps or check the loop's exit route"
            )
        return None

    def _loop(self, step: WorkflowStep) -> str:
        edges = self.edges() if self.edges is not None else self.topology.edges
        cycle = shortest_cycle(edges, step.id)
        return f" in loop {' -> '.join(cycle)}" if cycle else ""

    async def _run_step(self, rt: NodeRuntime, step: WorkflowStep, visit: int) -> None:
        er, ex = rt.er, rt.executor
        try:
            reason = skip_reason(er, step, self.deps[step.id])
        except TemplateRenderError as exc:
            ex.fail(er, step, None, exc, 0)
            return
        if reason is not None:
            ex.skip(er, step, reason)
            return
        if step.approval is not None:
            decision = self._approval(rt, step, visit)
            if not decision.get("approved"):
                who = decision.get("by") or "a reviewer"
                why = f": {decision['reason']}" if decision.get("reason") else ""
                ex.fail(er, step, None, ApprovalRejected(f"rejected by {who}{why}"), 0)
                return
        if self._reuse(rt, step, visit):
            return
        try:
            await ex.execute(er, step, visit)
        except asyncio.CancelledError:
            if er.statuses.get(step.id) not in _FINISHED:
                ex.cancel(er, step.id, ex.s.clock.now())
            raise

    def _approval(self, rt: NodeRuntime, step: WorkflowStep, visit: int) -> dict[str, Any]:
        assert step.approval is not None
        er = rt.er
        message = self._approval_message(er, step)
        try:
            value = interrupt({"step": step.id, "message": message, "iteration": visit})
        except GraphInterrupt:
            self.mark_waiting(rt, step, message, visit)
            raise
        return value if isinstance(value, dict) else {"approved": bool(value)}

    @staticmethod
    def _approval_message(er: ExecutionRun, step: WorkflowStep) -> str:
        assert step.approval is not None
        try:
            ctx = step_context(step, er.base_context(), er.statuses)
            return render_text(step.approval.message, ctx)
        except (TemplateError, TemplateRenderError, TypeError, ValueError, AttributeError, ArithmeticError,
                RecursionError, MemoryError):
            return step.approval.message

    @staticmethod
    def mark_waiting(rt: NodeRuntime, step: WorkflowStep, message: str, visit: int) -> None:
        """Record that ``step`` waits for a human (StepRun WAITING + a StepWaiting event)."""
        er, clock = rt.er, rt.executor.s.clock
        run = StepRun(
            execution_id=er.ctx.id,
            step_id=step.id,
            status=StepStatus.WAITING,
            iteration=visit,
            started_at=clock.now(),
            output=waiting_output(message, visit),
        )
        er.statuses[step.id] = StepStatus.WAITING
        er.runs[step.id] = run
        er.recorder.transition(
            run, ev.StepWaiting(execution_id=er.ctx.id, step=step.id, message_text=message)
        )
        er.recorder.commit_now()  # before the interrupt's checkpoint

    @staticmethod
    def _reuse(rt: NodeRuntime, step: WorkflowStep, visit: int) -> bool:
        prev = rt.restored.get(step.id)
        if prev is None or prev.iteration != visit:
            return False
        del rt.restored[step.id]
        er = rt.er
        output = dict(prev.output or {})
        er.runs[step.id] = prev
        er.statuses[step.id] = StepStatus.COMPLETED
        er.outputs[step.key] = output
        if not output.get("cache_hit"):
            er.budget.add(Usage.from_dict(output.get("usage")), output.get("cost_usd"))
        return True

    def _choose(self, rt: NodeRuntime, step: WorkflowStep, state: GraphState, update: dict[str, Any]) -> int:
        """The index of the first route whose ``when`` holds; -1 (stop here) if one is broken."""
        assert isinstance(step.next, list)
        er = rt.er
        base = er.base_context()
        base["outputs"] = {**(state.get("outputs") or {}), **update.get("outputs", {})}
        statuses = {
            k: StepStatus(v)
            for k, v in {**(state.get("statuses") or {}), **update.get("statuses", {})}.items()
        }
        try:
            ctx = step_context(step, base, statuses)
            for j, route in enumerate(step.next):
                if route.when is None or evaluate(route.when, ctx, what=f"step {step.id} next[{j}].when",
                                                      field=("next", j, "when")):
                    return j
        except TemplateRenderError as exc:
            rt.executor.fail(er, step, er.runs[step.id].agent_id if step.id in er.runs else None, exc, 0)
            update["statuses"] = {step.id: StepStatus.FAILED.value}
            update["outputs"] = {step.key: er.outputs[step.key]}
        return -1


def _runtime(config: RunnableConfig) -> NodeRuntime:
    runtime = (config.get("configurable") or {}).get(RUNTIME_KEY)
    if not isinstance(runtime, NodeRuntime):
        raise GraphBuildError(
            "Baton graph nodes run only inside a Baton execution (no runtime in the config)"
        )
    return runtime


_FINISHED = (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED)


def _node_name(goto: str) -> str:
    return str(LG_END) if goto == END else goto


def _label(text: str) -> str:
    """A route expression as a Mermaid-safe edge label."""
    return " ".join(text.replace('"', "'").replace("|", "/").replace(";", ",").split())


__all__ = ["RUNTIME_KEY", "Node", "NodeRuntime", "Router", "StepNodes"]
