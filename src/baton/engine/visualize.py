"""Draw workflows as Mermaid flowcharts."""

from __future__ import annotations

from baton.models import Workflow, resolved_dependencies


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


def _label(text: str) -> str:
    return text.replace('"', "'").replace("|", "/")


def _target(goto: str) -> str:
    return "end_([end])" if goto == "end" else _node(goto)
