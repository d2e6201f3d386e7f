"""``baton diff`` (what a step or a whole execution changed) and ``baton show`` (a step's
rendered prompt or its answer)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from baton.cli.app import ConfigOption, JsonOption, fail, handle_errors, print_json
from baton.cli.ids import ExecutionArg, LastOption, resolve_id


def diff(
    ref: str | None = ExecutionArg,
    last: bool = LastOption,
    step: str | None = typer.Option(None, "--step", "-s", help="Only what this step changed."),
    name_only: bool = typer.Option(False, "--name-only", help="Only the paths."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Print what an execution (or one --step of it) changed in the workspace, as a unified diff."""
    from baton.cli.run_cmd import _open
    from baton.workspace import changes

    baton = _open(config)
    try:
        eid = resolve_id(baton.store, ref, last)
        record = baton.store.get_execution(eid)
        assert record is not None
        steps = {s.step_id for s in baton.store.list_steps(eid)}
        artifacts = baton.configuration.global_.artifacts_path(baton.root) / eid
    finally:
        baton.close()
    if step is not None and step not in steps:
        raise fail(f"execution {eid} has no step {step!r} (steps: {', '.join(sorted(steps)) or 'none'})")
    found = changes.step_changes(artifacts, step) if step else changes.run_changes(artifacts)
    if as_json:
        print_json({"execution_id": eid, "step_id": step,
                    "files": [{"path": c.path, "before_sha256": c.before, "after_sha256": c.after}
                              for c in found]})
        return
    if not found:
        what = f"step {step}" if step else f"execution {eid}"
        sys.stderr.write(f"{what} changed no files\n")
        return
    if name_only:
        sys.stdout.write("".join(f"{c.path}\n" for c in found))
        return
    sys.stdout.write(changes.unified_diff(artifacts, Path(record.context.workspace_dir), found))


def show(
    ref: str | None = ExecutionArg,
    last: bool = LastOption,
    step: str = typer.Option(..., "--step", "-s", help="The step."),
    prompt: bool = typer.Option(False, "--prompt", help="The prompt the step was given (rendered)."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Print one step of an execution: its answer, or with --prompt the rendered prompt."""
    from baton.cli.run_cmd import _open
    from baton.engine.prompts import read_prompt

    baton = _open(config)
    try:
        eid = resolve_id(baton.store, ref, last)
        runs = {s.step_id: s for s in baton.store.list_steps(eid)}
        artifacts = baton.configuration.global_.artifacts_path(baton.root) / eid
    finally:
        baton.close()
    run = runs.get(step)
    if run is None:
        raise fail(f"execution {eid} has no step {step!r} (steps: {', '.join(sorted(runs)) or 'none'})")
    if prompt:
        text = read_prompt(artifacts, step)
        if text is None:
            raise fail(f"no prompt kept for step {step!r} of {eid} (cache hits and imported "
                       "executions have none)")
        if as_json:
            print_json({"execution_id": eid, "step_id": step, "prompt": text})
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    output = run.output or {}
    if as_json:
        print_json({"execution_id": eid, "step_id": step, "status": run.status.value, "output": output})
        return
    text = str(output.get("text") or run.error or "")
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def register(app: typer.Typer) -> None:
    app.command("diff")(handle_errors(diff))
    app.command("show")(handle_errors(show))
