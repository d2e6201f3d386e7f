"""``baton workflows list|show|validate|graph``: what can run here, with which parameters."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from baton.cli.app import (
    ConfigOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    keep_whole,
    print_json,
)
from baton.models import ParameterSpec
from baton.wording import counted

if TYPE_CHECKING:
    from baton.engine import Baton
    from baton.models import Workflow

workflows_app = typer.Typer(help="List, show, validate and draw workflows.", no_args_is_help=True)


def _open(config: Path | None) -> Baton:
    from baton.cli.run_cmd import _open as open_baton

    return open_baton(config)


def parameters_json(parameters: dict[str, ParameterSpec]) -> list[dict[str, Any]]:
    """A workflow's parameters as JSON-able rows (name, type, required, default, description)."""
    return [{"name": name, "type": p.type, "required": p.required, "default": p.default,
             "enum": p.enum, "description": p.description or ""} for name, p in parameters.items()]


def parameters_table(parameters: dict[str, ParameterSpec]) -> Table:
    """The parameters as a table: ``--name`` (or ``-p name=…``), type, default, description."""
    table = Table("parameter", "type", "default", "description", title="parameters", title_justify="left")
    for row in parameters_json(parameters):
        default = "(required)" if row["required"] else ("" if row["default"] is None else str(row["default"]))
        kind = row["type"] + (f" {'|'.join(map(str, row['enum']))}" if row["enum"] else "")
        table.add_row(f"--{row['name'].replace('_', '-')}", kind, escape(default), escape(row["description"]))
    for column in table.columns[:3]:
        column.no_wrap = True
    return table


def workflow_parameters(baton: Baton, workflow_id: str) -> dict[str, ParameterSpec]:
    """The parameters of a workflow, also of a built-in no configured agent can run yet."""
    from baton.workflows.catalog import BuiltinUnavailable

    try:
        return dict(baton.workflow(workflow_id).parameters)
    except BuiltinUnavailable:
        row = next(r for r in _catalog(baton) if r["id"] == workflow_id)
        return {p["name"]: ParameterSpec.model_validate(
            {k: p[k] for k in ("type", "required", "default", "enum", "description")})
            for p in row["parameters"]}


def _catalog(baton: Baton) -> list[dict[str, Any]]:
    """Every workflow here: the project's, then each built-in (runnable or not, with what it needs)."""
    from baton.workflows.catalog import builtin_ids, builtin_needs, load_builtin

    own = set(baton.configuration.workflows)
    rows: list[dict[str, Any]] = []
    for wid in sorted(own):
        rows.append(_row(baton.workflow(wid), builtin=False))
    for wid in builtin_ids():
        if wid in own:
            continue
        needs = builtin_needs(wid, baton.configuration.agents)
        if not needs:
            rows.append(_row(baton.workflow(wid), builtin=True))
            continue
        body = (load_builtin(wid).body if load_builtin(wid) else {})  # type: ignore[union-attr]
        params = {k: ParameterSpec.model_validate(v or {}) for k, v in (body.get("parameters") or {}).items()}
        rows.append({"id": wid, "type": str(body.get("type") or "dag"), "builtin": True, "runnable": False,
                     "needs": needs, "steps": len(body.get("steps") or []),
                     "description": str(body.get("description") or ""),
                     "parameters": parameters_json(params)})
    return rows


def _row(wf: Workflow, *, builtin: bool) -> dict[str, Any]:
    return {"id": wf.id, "type": wf.type.value, "builtin": builtin, "runnable": True, "needs": [],
            "steps": len(wf.steps), "description": wf.description,
            "parameters": parameters_json(wf.parameters)}


@workflows_app.command("list")
@handle_errors
def workflows_list(as_json: bool = JsonOption, config: Path | None = ConfigOption) -> None:
    """List the project's workflows and the built-ins (those no agent here can run say what they need)."""
    baton = _open(config)
    try:
        rows = _catalog(baton)
    finally:
        baton.close()
    if as_json:
        print_json(rows)
        return
    table = Table("workflow", "source", "runnable", "parameters", "description")
    for r in rows:
        table.add_row(r["id"], "built-in" if r["builtin"] else "project",
                      "yes" if r["runnable"] else "[yellow]no[/]",
                      ", ".join(p["name"] for p in r["parameters"]), escape(r["description"]))
    console.print(keep_whole(table, "workflow", "source", "runnable"))
    for r in rows:
        if not r["runnable"]:
            console.print(f"{r['id']} needs {'; '.join(r['needs'])}: add one with `baton agents add`",
                          highlight=False, markup=False, soft_wrap=True)
    console.print("run one with `baton run WORKFLOW`; its parameters: `baton run WORKFLOW --help`",
                  highlight=False)


@workflows_app.command("show")
@handle_errors
def workflows_show(name: str, as_json: bool = JsonOption, config: Path | None = ConfigOption) -> None:
    """Show one workflow: its parameters and steps."""
    from baton.models import resolved_dependencies
    from baton.workflows.catalog import BuiltinUnavailable

    baton = _open(config)
    try:
        try:
            wf = baton.workflow(name)
        except BuiltinUnavailable:
            row = next(r for r in _catalog(baton) if r["id"] == name)
            if as_json:
                print_json(row)
                return
            console.print(f"[bold]{name}[/] (built-in) {escape(row['description'])}", highlight=False)
            console.print(parameters_table(workflow_parameters(baton, name)))
            console.print(f"not runnable here: needs {'; '.join(row['needs'])}; add one with "
                          "`baton agents add`", highlight=False, markup=False, soft_wrap=True)
            return
    finally:
        baton.close()
    if as_json:
        print_json(wf.model_dump(mode="json", exclude={"created_at", "updated_at"}))
        return
    console.print(f"[bold]{wf.id}[/] ({wf.type.value}) {escape(wf.description)}", highlight=False)
    if wf.parameters:
        console.print(parameters_table(wf.parameters))
    else:
        console.print("parameters: none", highlight=False)
    table = Table("step", "agent", "depends on", "output_key", "condition", "timeout", title="steps",
                  title_justify="left")
    deps = resolved_dependencies(wf.steps)
    for s in wf.steps:
        table.add_row(s.id, s.agent_id, ", ".join(deps[s.id]), s.key, escape(s.condition or ""),
                      f"{s.timeout_seconds}s")
    console.print(keep_whole(table, "step"))


@workflows_app.command("validate")
@handle_errors
def workflows_validate(name: str | None = typer.Argument(None), as_json: bool = JsonOption,
                       config: Path | None = ConfigOption) -> None:
    """Validate workflows (all, or NAME) including their agents."""
    baton = _open(config)
    try:
        ids = [name] if name else baton.workflow_ids()
        for wid in ids:
            baton.workflow(wid)
    finally:
        baton.close()
    if as_json:
        print_json({"valid": ids})
    else:
        console.print(f"ok: {counted(len(ids), 'workflow')} valid", highlight=False)


@workflows_app.command("graph")
@handle_errors
def workflows_graph(
    name: str,
    svg: Path | None = typer.Option(None, "--svg", help="Also write the graph as an SVG picture.",
                                    dir_okay=False),
    config: Path | None = ConfigOption,
) -> None:
    """Print a workflow as a Mermaid flowchart (LangGraph's own for langgraph workflows)."""
    baton = _open(config)
    try:
        wf = baton.workflow(name)
    finally:
        baton.close()
    from baton.engine.visualize import mermaid, to_svg

    sys.stdout.write(mermaid(wf, root=baton.root))
    if svg is not None:
        svg.write_text(to_svg(wf, root=baton.root), encoding="utf-8")
        err_console.print(f"wrote {svg}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(workflows_app, name="workflows")
