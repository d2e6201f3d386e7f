"""The shape of a ``type: langgraph`` workflow, and the rules it must satisfy before compiling.

Pure functions of the workflow definition (no I/O): :class:`WorkflowConfig`'s validator
calls :func:`graph_rule_errors`, so every problem is reported by the config loader at its
file, line and field. The compiler builds its edges from the same :func:`topology`.

Edges: a step with ``next`` goes where its routes say (a step id or ``end``); a step
without ``next`` is followed by the steps that depend on it, as in simple workflows (a
step without ``dependencies`` follows the step listed before it, unless that step routes
with ``next``: then only a route leads to it). Steps with no dependencies start the graph.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from baton.models.enums import WorkflowType
from baton.models.templating import template_error
from baton.models.workflow import Route, WorkflowStep, resolved_dependencies

END = "end"
DEFAULT_MAX_STEPS = 100
_GRAPH_SPEC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")

Path = tuple[str | int, ...]


class GraphDefinition(Protocol):
    """What the rules read from a workflow (``WorkflowConfig`` satisfies it)."""

    @property
    def type(self) -> WorkflowType: ...
    @property
    def steps(self) -> list[WorkflowStep]: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def graph(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Topology:
    """Where control flows between the steps of a langgraph workflow."""

    order: tuple[str, ...]
    starts: tuple[str, ...]
    deps: dict[str, list[str]]
    dependents: dict[str, list[str]]
    routing: frozenset[str]
    edges: dict[str, list[str]]

    def loop_through(self, step_id: str) -> list[str] | None:
        """The shortest cycle through ``step_id`` (first and last element equal), or None."""
        return shortest_cycle(self.edges, step_id)


def shortest_cycle(edges: dict[str, list[str]], start: str) -> list[str] | None:
    """The shortest cycle through ``start`` in ``edges`` (first and last element equal), or None."""
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in edges.get(node, []):
            if nxt == start:
                path = [node]
                while (up := parent[path[-1]]) is not None:
                    path.append(up)
                return [*reversed(path), start]
            if nxt != END and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return None


def route_targets(next_: str | list[Route] | None) -> list[str]:
    if next_ is None:
        return []
    if isinstance(next_, str):
        return [next_]
    return [r.goto for r in next_]


def topology(steps: Sequence[WorkflowStep]) -> Topology:
    """The edges of the compiled graph (see the module docstring)."""
    routing = frozenset(s.id for s in steps if s.next is not None)
    resolved = resolved_dependencies(list(steps))
    deps: dict[str, list[str]] = {}
    for step in steps:
        deps[step.id] = [d for d in resolved[step.id] if d not in routing]
    dependents: dict[str, list[str]] = {s.id: [] for s in steps}
    for step in steps:
        for dep in deps[step.id]:
            if dep in dependents:
                dependents[dep].append(step.id)
    edges: dict[str, list[str]] = {}
    for step in steps:
        if step.id in routing:
            edges[step.id] = list(dict.fromkeys(route_targets(step.next)))
        else:
            edges[step.id] = dependents[step.id] or [END]
    return Topology(
        order=tuple(s.id for s in steps),
        starts=tuple(s.id for s in steps if not resolved[s.id]),
        deps=deps,
        dependents=dependents,
        routing=routing,
        edges=edges,
    )


def max_steps(config: dict[str, Any]) -> int:
    """The workflow's total step budget (``config.max_steps``)."""
    value = config.get("max_steps", DEFAULT_MAX_STEPS)
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_MAX_STEPS


def graph_rule_errors(wf: GraphDefinition) -> list[tuple[Path, str]]:
    """Every broken rule as (path below the workflow, one-line message), in file order."""
    if wf.type is not WorkflowType.LANGGRAPH:
        return [(("graph",), "'graph' needs type: langgraph")] if wf.graph else []
    errors: list[tuple[Path, str]] = []
    budget = wf.config.get("max_steps", DEFAULT_MAX_STEPS)
    if not isinstance(budget, int) or isinstance(budget, bool) or not 1 <= budget <= 100_000:
        errors.append(
            (
                ("config", "max_steps"),
                f"max_steps must be a whole number from 1 to 100000 (got {budget!r}): "
                "it bounds every loop of the workflow",
            )
        )
    if wf.graph is not None and not _GRAPH_SPEC.match(wf.graph):
        errors.append((("graph",), f"{wf.graph!r} is not 'package.module:function'"))
    # a Python graph's routes may lead to nodes of its own, unknown before it is imported
    ids = None if wf.graph is not None else [s.id for s in wf.steps]
    for i, step in enumerate(wf.steps):
        if step.id == END:
            errors.append((("steps", i, "id"), f"step id {END!r} is reserved: `next: {END}` ends the graph"))
        errors.extend(_route_errors(i, step, ids))
        if step.approval is not None and (err := template_error(step.approval.message)):
            errors.append(
                (
                    ("steps", i, "approval", "message"),
                    f"step {step.id!r}: approval message is not a valid template: {err}",
                )
            )
    if errors or wf.graph is not None:
        return errors
    return _shape_errors(wf.steps)


def _route_errors(i: int, step: WorkflowStep, ids: list[str] | None) -> Iterable[tuple[Path, str]]:
    known = f"(steps: {', '.join(ids or [])}; or {END})"
    if isinstance(step.next, str):
        if ids is not None and step.next != END and step.next not in ids:
            yield ("steps", i, "next"), f"step {step.id!r}: next {step.next!r} is not a step {known}"
        return
    if step.next is None:
        return
    if not step.next:
        yield ("steps", i, "next"), f"step {step.id!r}: next needs at least one route"
        return
    for j, route in enumerate(step.next):
        if ids is not None and route.goto != END and route.goto not in ids:
            yield (
                ("steps", i, "next", j, "goto"),
                f"step {step.id!r}: route {j + 1} goes to {route.goto!r}, which is not a step {known}",
            )
        if route.when is None and j < len(step.next) - 1:
            yield (
                ("steps", i, "next", j),
                f"step {step.id!r}: route {j + 1} has no `when`, so the routes after it are never taken",
            )
    if step.next[-1].when is not None:
        yield (
            ("steps", i, "next", len(step.next) - 1, "when"),
            f"step {step.id!r}: the last route needs no `when` so that some route is always taken "
            f"(add `- goto: {END}` or another fallback)",
        )


def _shape_errors(steps: list[WorkflowStep]) -> list[tuple[Path, str]]:
    errors: list[tuple[Path, str]] = []
    index = {s.id: i for i, s in enumerate(steps)}
    topo = topology(steps)
    for i, step in enumerate(steps):
        for dep in step.dependencies or []:
            if dep in topo.routing:
                errors.append(
                    (
                        ("steps", i, "dependencies"),
                        f"step {step.id!r} depends on {dep!r}, which routes with `next`; "
                        f"list {step.id!r} among {dep!r}'s routes instead",
                    )
                )
    if errors:
        return errors
    cycle = _dependency_cycle(topo)
    if cycle:
        errors.append(
            (
                ("steps", index[cycle[0]], "dependencies"),
                "dependency cycle " + " -> ".join([*cycle, cycle[0]]) + "; loop with `next` routes instead",
            )
        )
        return errors
    reached = _reachable(topo)
    for i, step in enumerate(steps):
        if step.id not in reached:
            errors.append(
                (
                    ("steps", i, "id"),
                    f"step {step.id!r} is never reached: no step before it leads to it "
                    "(add it to a route, or give it dependencies)",
                )
            )
    for component in _components(topo):
        if any(END in topo.edges[n] or any(t not in component for t in topo.edges[n]) for n in component):
            continue
        first = min(component, key=lambda n: index[n])
        loop = topo.loop_through(first) or [first, first]
        routers = [n for n in loop if n in topo.routing]
        at = index[routers[0]] if routers else index[first]
        errors.append(
            (
                ("steps", at, "next"),
                f"loop {' -> '.join(loop)} has no way out: give one of its steps a route "
                f"with `when` that leaves the loop (or goes to {END})",
            )
        )
    return errors


def _reachable(topo: Topology) -> set[str]:
    seen = set(topo.starts)
    queue = deque(topo.starts)
    while queue:
        for nxt in topo.edges.get(queue.popleft(), []):
            if nxt != END and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _dependency_cycle(topo: Topology) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in topo.deps.get(node, []):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :]
            if state.get(dep) is None and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in topo.order:
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def _components(topo: Topology) -> list[set[str]]:
    """Strongly connected components that are loops (more than one step, or a self-loop)."""
    reverse: dict[str, list[str]] = {n: [] for n in topo.order}
    for node, targets in topo.edges.items():
        for t in targets:
            if t != END:
                reverse[t].append(node)
    found: list[set[str]] = []
    assigned: set[str] = set()
    for node in topo.order:
        if node in assigned:
            continue
        component = _walk(node, topo.edges) & _walk(node, reverse)
        assigned |= component
        if len(component) > 1 or node in topo.edges.get(node, []):
            found.append(component)
    return found


def _walk(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in edges.get(queue.popleft(), []):
            if nxt != END and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


__all__ = [
    "DEFAULT_MAX_STEPS",
    "END",
    "Topology",
    "graph_rule_errors",
    "max_steps",
    "route_targets",
    "shortest_cycle",
    "topology",
]
