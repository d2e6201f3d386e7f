"""Draw workflows: Mermaid text for both types (LangGraph's own for langgraph), and SVG."""

from __future__ import annotations

from pathlib import Path

from baton.engine.graph_svg import DrawEdge, Drawing, DrawNode, render_svg
from baton.extras import require
from baton.models import Workflow, WorkflowType, resolved_dependencies

_START, _END = "__start__", "__end__"


def _node(step_id: str) -> str:
    return "s_" + step_id.replace("-", "_")


def to_mermaid(workflow: Workflow) -> str:
    """A Mermaid ``flowchart`` of the workflow's steps and dependencies (and routes)."""
    lines = ["flowchart TD"]
    for step in workflow.steps:
        label = f"{step.id}<br/><i>{step.agent_id}</i>"
        lines.append(f'    {_node(step.id)}["{label}"]')
    deps = resolved_dependencies(workflow.steps)
    for step in workflow.steps:
        for dep in deps[step.id]:
            edge = f" -->|{_label(step.condition)}| " if step.condition else " --> "
            lines.append(f"    {_node(dep)}{edge}{_node(step.id)}")
        if isinstance(step.next, str):
            lines.append(f"    {_node(step.id)} --> {_target(step.next)}")
        elif step.next:
            for route in step.next:
                label = f"|{_label(route.when)}|" if route.when else ""
                lines.append(f"    {_node(step.id)} -->{label} {_target(route.goto)}")
    return "\n".join(lines) + "\n"


def mermaid(workflow: Workflow, *, root: Path | None = None) -> str:
    """Mermaid for any workflow: LangGraph's ``draw_mermaid()`` of the compiled graph for
    langgraph workflows, :func:`to_mermaid` for simple ones."""
    if workflow.type is WorkflowType.LANGGRAPH:
        require("langgraph", "langgraph")
        from baton.engine.graph import drawable

        return str(drawable(workflow, root=root).get_graph().draw_mermaid())
    return to_mermaid(workflow)


def drawing(workflow: Workflow, *, root: Path | None = None) -> Drawing:
    """The nodes and edges of a workflow, as compiled (langgraph) or scheduled (simple)."""
    agents = {s.id: s.agent_id + (" · approval" if s.approval else "") for s in workflow.steps}
    out = Drawing()
    if workflow.type is WorkflowType.LANGGRAPH:
        require("langgraph", "langgraph")
        from baton.engine.graph import drawable

        graph = drawable(workflow, root=root).get_graph()
        for node_id in graph.nodes:
            if node_id in (_START, _END):
                out.nodes.append(DrawNode(node_id, node_id.strip("_"), terminal=True))
            else:
                out.nodes.append(DrawNode(node_id, node_id, agents.get(node_id, "")))
        for edge in graph.edges:
            out.edges.append(DrawEdge(edge.source, edge.target, str(edge.data or ""), edge.conditional))
        return out
    deps = resolved_dependencies(workflow.steps)
    has_dependents = {d for ds in deps.values() for d in ds}
    out.nodes.append(DrawNode(_START, "start", terminal=True))
    out.nodes.extend(DrawNode(s.id, s.id, agents[s.id]) for s in workflow.steps)
    out.nodes.append(DrawNode(_END, "end", terminal=True))
    for step in workflow.steps:
        if not deps[step.id]:
            out.edges.append(DrawEdge(_START, step.id, step.condition or "", bool(step.condition)))
        for dep in deps[step.id]:
            out.edges.append(DrawEdge(dep, step.id, step.condition or "", bool(step.condition)))
        if step.id not in has_dependents:
            out.edges.append(DrawEdge(step.id, _END))
    return out


def to_svg(workflow: Workflow, *, root: Path | None = None) -> str:
    """A standalone SVG picture of the workflow (no network, no external renderer)."""
    return render_svg(drawing(workflow, root=root), title=f"{workflow.id} ({workflow.type.value})")


def _label(text: str) -> str:
    return text.replace('"', "'").replace("|", "/")


def _target(goto: str) -> str:
    return "end_([end])" if goto == "end" else _node(goto)
