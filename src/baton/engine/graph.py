"""``type: langgraph`` workflows, compiled to a LangGraph ``StateGraph`` and run durably.

:func:`build_graph` turns a workflow into a ``StateGraph`` over :class:`GraphState`: one
node per step (see :mod:`baton.engine.graph_nodes`), ``START`` edges to the steps without
dependencies, dependency edges (a join waits for all its dependencies), static ``next``
edges, and a conditional edge per step with routes. A workflow with ``graph:
"package.module:build"`` gets its ``StateGraph`` from that factory instead; the factory
receives a :class:`GraphKit` to make nodes that run the workflow's steps.

:func:`run_graph` runs the compiled graph (compiled once per workflow definition and
cached; nodes find their execution in the run's config) with a checkpointer in the
store's database, ``thread_id`` = the execution id. On ``baton resume`` it continues from the last
checkpoint (no finished node runs again); when a step waits for approval it stops with
``er.waiting`` set, and resumes once ``baton approve`` recorded a decision.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langgraph.checkpoint.base import WRITES_IDX_MAP
from langgraph.errors import GraphRecursionError
from langgraph.graph import END as LG_END
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langsmith import tracing_context

from baton.engine.executor import StepExecutor
from baton.engine.graph_approval import recorded_decisions
from baton.engine.graph_checkpoint import checkpoint_url, open_checkpointer
from baton.engine.graph_errors import GraphBuildError
from baton.engine.graph_nodes import RUNTIME_KEY, Node, NodeRuntime, Router, StepNodes
from baton.engine.graph_state import GraphState, initial_state, load_into
from baton.engine.state import ExecutionRun
from baton.models import StepStatus, Workflow
from baton.models.graph_rules import END

if TYPE_CHECKING:
    from baton.engine.core import Baton


@dataclass(slots=True)
class GraphKit:
    """What a Python graph factory (``graph: "package.module:build"``) receives.

    ``build(kit)`` returns an uncompiled ``StateGraph(kit.State)``; Baton compiles it with
    its checkpointer. ``kit.agent_node("review")`` is a node that runs the workflow's step
    ``review`` exactly like a YAML graph does (agent, templates, retries, cache, limits,
    budgets, approval, logs, loop bounds); ``kit.router("review")`` and
    ``kit.path_map("review")`` turn the step's ``next`` routes into a conditional edge.
    """

    workflow: Workflow
    nodes: StepNodes
    State: type = GraphState

    def agent_node(self, step_id: str) -> Node:
        return self.nodes.node(step_id)

    def router(self, step_id: str) -> Router:
        return self.nodes.router(step_id)

    def path_map(self, step_id: str) -> dict[str, str]:
        return self.nodes.path_map(step_id)

    @property
    def step_ids(self) -> list[str]:
        return [s.id for s in self.workflow.steps]


def build_graph(workflow: Workflow, nodes: StepNodes, *, root: Path | None = None) -> StateGraph[Any]:
    """The (uncompiled) ``StateGraph`` of a langgraph workflow."""
    if workflow.graph:
        return _python_graph(workflow, nodes, root)
    topo = nodes.topology
    graph: StateGraph[Any] = StateGraph(GraphState)
    for step in workflow.steps:
        graph.add_node(step.id, cast(Any, nodes.node(step.id)))
    for step_id in topo.starts:
        graph.add_edge(START, step_id)
    for step in workflow.steps:
        deps = topo.deps[step.id]
        if len(deps) == 1:
            graph.add_edge(deps[0], step.id)
        elif deps:
            graph.add_edge(deps, step.id)
    for step in workflow.steps:
        if isinstance(step.next, str):
            graph.add_edge(step.id, LG_END if step.next == END else step.next)
        elif step.next is not None:
            graph.add_conditional_edges(step.id, nodes.router(step.id), cast(Any, nodes.path_map(step.id)))
        elif not topo.dependents[step.id]:
            graph.add_edge(step.id, LG_END)
    return graph


def drawable(workflow: Workflow, *, root: Path | None = None) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The workflow compiled without a checkpointer, for drawing (its nodes cannot run)."""
    nodes = StepNodes(workflow, python_graph=bool(workflow.graph))
    return build_graph(workflow, nodes, root=root).compile(name=workflow.id)


def _python_graph(workflow: Workflow, nodes: StepNodes, root: Path | None) -> StateGraph[Any]:
    assert workflow.graph is not None
    factory = load_factory(workflow.graph, root)
    try:
        built = factory(GraphKit(workflow, nodes))
    except GraphBuildError:
        raise
    except Exception as exc:
        raise GraphBuildError(
            f"workflow {workflow.id}: graph {workflow.graph!r} failed to build: {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(built, CompiledStateGraph):
        raise GraphBuildError(
            f"workflow {workflow.id}: graph {workflow.graph!r} returned a compiled "
            "graph; return the StateGraph itself (Baton compiles it with its checkpointer)"
        )
    if not isinstance(built, StateGraph):
        raise GraphBuildError(
            f"workflow {workflow.id}: graph {workflow.graph!r} returned "
            f"{type(built).__name__}, not a langgraph StateGraph"
        )
    return built


def load_factory(spec: str, root: Path | None) -> Callable[[GraphKit], Any]:
    """Import ``package.module:function`` (the project root is importable)."""
    module_name, _, attr = spec.partition(":")
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise GraphBuildError(
            f"graph {spec!r}: cannot import {module_name} ({exc}); the module must be "
            "importable from the project root or the Python path"
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise GraphBuildError(f"graph {spec!r}: {module_name} has no function {attr!r}")
    return factory  # type: ignore[no-any-return]


def _edges_of(compiled: CompiledStateGraph[Any, Any, Any, Any]) -> dict[str, list[str]]:
    edges: dict[str, list[str]] = {}
    for edge in compiled.get_graph().edges:
        target = END if edge.target == LG_END else edge.target
        edges.setdefault(edge.source, []).append(target)
    return edges


# LangGraph's channel for the answers a task's interrupts get (a pending write per task)
_RESUME = "__resume__"
if _RESUME not in WRITES_IDX_MAP:  # pragma: no cover - guards a LangGraph upgrade
    raise ImportError(f"this langgraph has no {_RESUME!r} channel; install the pinned version")
_CACHE_SIZE = 32
_compiled_cache: OrderedDict[str, tuple[StepNodes, CompiledStateGraph[Any, Any, Any, Any]]] = OrderedDict()


def compiled_graph(
    workflow: Workflow, *, root: Path | None = None
) -> tuple[StepNodes, CompiledStateGraph[Any, Any, Any, Any]]:
    """The workflow's graph compiled without a checkpointer, cached by definition: nodes find
    their execution in the run's config, so executions of a workflow share one graph."""
    definition = workflow.model_dump(mode="json", exclude={"created_at", "updated_at"})
    key = hashlib.sha256(json.dumps([definition, str(root)], sort_keys=True).encode()).hexdigest()
    hit = _compiled_cache.get(key)
    if hit is not None:
        _compiled_cache.move_to_end(key)
        return hit
    nodes = StepNodes(workflow, python_graph=bool(workflow.graph))
    compiled = build_graph(workflow, nodes, root=root).compile(name=workflow.id)
    edges: dict[str, list[str]] = {}

    def compiled_edges() -> dict[str, list[str]]:
        if not edges:
            edges.update(_edges_of(compiled))
        return edges

    nodes.edges = compiled_edges
    _compiled_cache[key] = (nodes, compiled)
    while len(_compiled_cache) > _CACHE_SIZE:
        _compiled_cache.popitem(last=False)
    return nodes, compiled


async def run_graph(er: ExecutionRun, executor: StepExecutor, baton: Baton) -> None:
    """Run (or continue) the execution's graph until it ends or waits for a human."""
    url = checkpoint_url(baton.store, baton.configuration.global_.database_url, baton.root)
    # LangSmith tracing (LANGSMITH_TRACING=...) would ship prompts and outputs off the machine
    with tracing_context(enabled=False):
        await _run(er, executor, baton, url)


async def _run(er: ExecutionRun, executor: StepExecutor, baton: Baton, url: str) -> None:
    workflow = er.workflow
    nodes, template = compiled_graph(workflow, root=baton.root)
    runtime = NodeRuntime(er, executor)
    async with open_checkpointer(url) as saver:
        compiled = template.copy(update={"checkpointer": saver})
        config: Any = {
            "configurable": {"thread_id": er.ctx.id, RUNTIME_KEY: runtime},
            "recursion_limit": nodes.max_steps + 2 * len(workflow.steps) + 10,
        }
        snapshot = await compiled.aget_state(config)
        run_config = config
        retry = await _retry_point(compiled, config, snapshot, workflow)
        if retry is not None:
            # resuming a failed execution: go back to just before the failed step(s), like the
            # simple scheduler runs every step that did not complete
            snapshot = retry
            forked = {**config["configurable"], **retry.config["configurable"]}
            run_config = {**config, "configurable": forked}
        payload: Any
        if snapshot.created_at is None:
            payload = initial_state(er)
            known: dict[str, int] = {}
        else:
            load_into(er, cast(GraphState, snapshot.values))
            known = dict(snapshot.values.get("iterations") or {})
            payload = None
        runtime.restored = {
            sid: run
            for sid, run in er.runs.items()
            if run.status is StepStatus.COMPLETED and run.iteration > known.get(sid, 0)
        }
        if snapshot.created_at is not None:
            waiting = _interrupts(snapshot)
            if waiting:
                if not await _answer(saver, snapshot, waiting, recorded_decisions(baton.store, er.ctx.id)):
                    _still_waiting(nodes, runtime, waiting)
                    return
            elif not snapshot.next:
                _finish(er, executor)
                return
        try:
            await compiled.ainvoke(payload, run_config, durability="sync")
        except GraphRecursionError:
            er.abort_reason = er.abort_reason or (
                f"workflow {workflow.id!r} exceeded LangGraph's recursion limit; raise config.max_steps"
            )
        snapshot = await compiled.aget_state(config)
        # hand-written nodes of a Python graph write outputs of their own into the state
        er.outputs.update(snapshot.values.get("outputs") or {})
        waiting = _interrupts(snapshot)
        if waiting:
            er.waiting = [w[0] for w in waiting]
            return
        _finish(er, executor)


Waiting = tuple[str, str, dict[str, Any], str]


async def _retry_point(compiled: Any, config: Any, snapshot: Any, workflow: Workflow) -> Any | None:
    """For a graph that ended with failed (or cancelled) steps, the checkpoint from which
    those steps run again: the latest one before the earliest failed visit. None otherwise."""
    if snapshot.created_at is None or snapshot.next or _interrupts(snapshot):
        return None
    allowed = {s.id for s in workflow.steps if s.allow_failure}
    statuses = snapshot.values.get("statuses") or {}
    final = snapshot.values.get("iterations") or {}
    failed = {
        sid for sid, status in statuses.items()
        if sid not in allowed and status in (StepStatus.FAILED.value, StepStatus.CANCELLED.value)
    }
    if not failed:
        return None
    points: dict[str, Any] = {}
    async for past in compiled.aget_state_history(config):
        visits = past.values.get("iterations") or {}
        for sid in failed - set(points):
            if sid in past.next and visits.get(sid, 0) == final.get(sid, 0) - 1:
                points[sid] = past
        if len(points) == len(failed):
            break
    if not points:
        return None
    return min(points.values(), key=lambda p: int((p.metadata or {}).get("step", 0)))


def _interrupts(snapshot: Any) -> list[Waiting]:
    """(step id, interrupt id, payload, task id) of every approval the graph waits for."""
    out: list[Waiting] = []
    for task in snapshot.tasks:
        for intr in task.interrupts:
            value = intr.value if isinstance(intr.value, dict) else {}
            out.append((str(value.get("step", task.name)), intr.id, value, task.id))
    return out


async def _answer(saver: Any, snapshot: Any, waiting: list[Waiting], decisions: dict[str, Any]) -> bool:
    """Hand recorded decisions to the waiting tasks; False if no waiting task can go on.

    A decision is written into the checkpoint as the task's resume value (LangGraph's own
    pending write), so it survives a crash in the approved step: the next resume finds it
    there and does not ask again.
    """
    latest = await saver.aget_tuple(snapshot.config)
    held = {tid for tid, channel, _ in (latest.pending_writes if latest else []) if channel == _RESUME}
    answered = 0
    for step_id, _, _, task_id in waiting:
        if task_id in held:
            answered += 1
        elif step_id in decisions:
            await saver.aput_writes(snapshot.config, [(_RESUME, [decisions[step_id]])], task_id)
            held.add(task_id)
            answered += 1
    return answered > 0


def _still_waiting(nodes: StepNodes, runtime: NodeRuntime, waiting: list[Waiting]) -> None:
    er = runtime.er
    for step_id, _, value, _ in waiting:
        if step_id in nodes.steps:
            nodes.mark_waiting(
                runtime, nodes.steps[step_id], str(value.get("message", "")), int(value.get("iteration", 1))
            )
    er.waiting = [w[0] for w in waiting]


def _finish(er: ExecutionRun, executor: StepExecutor) -> None:
    for step in er.workflow.steps:
        if step.id not in er.statuses:
            executor.skip(er, step, er.abort_reason or "not reached")


__all__ = ["GraphKit", "build_graph", "compiled_graph", "drawable", "load_factory", "run_graph"]
