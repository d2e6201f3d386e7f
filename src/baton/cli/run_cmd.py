"""``baton run``, ``status``, ``logs``, ``history``, ``cancel``, ``resume``, ``workflows``."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from baton.cli.app import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_OK,
    ConfigOption,
    JsonOption,
    console,
    err_console,
    fail,
    handle_errors,
    print_json,
    resolve_config_path,
)
from baton.cli.ids import ExecutionArg, LastOption, next_command, resolve_id
from baton.cli.live import LiveView, changes_text, follow, summary
from baton.cli.read_cmd import warn_interrupted
from baton.engine import Baton, ExecutionHandle, ExecutionResult
from baton.models import ExecutionContext, ExecutionStatus, StepStatus, Trigger

# A langgraph run that stops at an approval leaves its execution PENDING (resumable with
# `baton approve`): exit 3, so scripts and CI never mistake the pause for success.
EXIT_WAITING = 3
_EXIT = {ExecutionStatus.COMPLETED: EXIT_OK, ExecutionStatus.CANCELLED: EXIT_CANCELLED,
         ExecutionStatus.PENDING: EXIT_WAITING}


def _open(config: Path | None) -> Baton:
    # lazy: only the workflow that runs has its templates checked (`baton config validate`
    # checks them all)
    baton = Baton.from_config(resolve_config_path(config), cwd=Path.cwd(), lazy=True)
    warn_interrupted(baton.reap_orphans())
    return baton


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"-p {pair!r}: expected key=value")
        params[key.strip()] = value
    return params


def _result_json(result: ExecutionResult, ctx: ExecutionContext) -> dict[str, Any]:
    return {
        "execution_id": result.execution_id,
        "config_hash": ctx.config_hash,
        "config_version": ctx.config_version,
        "trigger": ctx.trigger.value if ctx.trigger else None,
        "workflow_id": result.workflow_id,
        "status": result.status.value,
        "error": result.error,
        "steps": [{"step_id": k, "status": v.value} for k, v in result.steps.items()],
        "outputs": result.outputs,
        "usage": result.usage.as_dict(),
        "cost_usd": round(result.cost_usd, 6),
        "duration_seconds": round(result.duration_seconds, 3),
        "artifacts_dir": str(result.artifacts_dir),
        "workspace_dir": result.workspace_dir,
    }


async def _watch(baton: Baton, start: Any, as_json: bool) -> tuple[ExecutionResult, str | None]:
    handle: ExecutionHandle = start()
    if inspect.isawaitable(handle):  # a run prepared first (built-in workflows: clone, fetch...)
        handle = await handle
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handle.cancel)
    if not as_json:
        err_console.print(f"[dim]execution {handle.id}[/]", highlight=False)
    view = LiveView([s.id for s in handle.workflow.steps])
    view.seed(baton.store.list_steps(handle.id))  # a resumed execution's earlier steps
    if as_json:
        result = await handle.wait()
    else:
        await follow(handle.events(), view, console, live=console.is_terminal)
        result = await handle.wait()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    published = await _publish(baton, handle, result)
    if as_json:
        extra = {"published": published} if published else {}
        print_json({**_result_json(result, handle.context), **extra})
    else:
        if not console.is_terminal:
            console.print(summary(result, view))
        if published and published.get("text"):
            print_report(str(published["text"]), console)
        else:
            _print_final_outputs(handle, result)
        waiting = [k for k, v in result.steps.items() if v is StepStatus.WAITING]
        if result.error and waiting and result.status is ExecutionStatus.PENDING:
            err_console.print(f"[bold yellow]paused:[/] {escape(result.error)}", highlight=False)
        elif result.error:
            err_console.print(f"[bold red]error:[/] {escape(result.error)}", highlight=False)
        changed = changes_text(view)
        if changed:
            console.print(changed, highlight=False, markup=False)
            console.print(f"diff:      baton diff {result.execution_id}", highlight=False)
        await _print_workspace(baton, result)
        console.print(f"artifacts: {result.artifacts_dir}", highlight=False)
        console.print(f"logs:      baton logs {result.execution_id}", highlight=False)
        hint = next_command(result.execution_id, result.status, waiting)
        if hint:
            console.print(hint, highlight=False, markup=False, soft_wrap=True)
    return result, (published or {}).get("verdict")


def print_report(text: str, out: Console) -> None:
    """A published report (Markdown): rendered on a terminal, as written otherwise."""
    if out.is_terminal:
        from rich.markdown import Markdown

        out.print(Markdown(text))
    else:
        out.print(text, highlight=False, markup=False, soft_wrap=True)


async def _print_workspace(baton: Baton, result: ExecutionResult) -> None:
    """The run's worktree (when it is not the project itself), its branch and commit."""
    from baton.workspace.git import head_info

    if not result.workspace_dir:
        return
    where = Path(result.workspace_dir)
    info = await head_info(where)
    if where.resolve() == baton.root and info is None:
        return
    line = f"workspace: {where}"
    if info is not None:
        line += f"  (branch {info[0]}, commit {info[1][:12]})"
    console.print(line, highlight=False, markup=False, soft_wrap=True)


def _print_final_outputs(handle: ExecutionHandle, result: ExecutionResult, limit: int = 4000) -> None:
    """Print the text of the workflow's last steps (those no other step depends on)."""
    from baton.models import resolved_dependencies

    steps = handle.workflow.steps
    used = {d for deps in resolved_dependencies(steps).values() for d in deps}
    for step in steps:
        out = result.outputs.get(step.key)
        if step.id in used or not out or out.get("status") != "completed":
            continue
        text = str(out.get("text") or "").strip()
        if text:
            console.rule(f"{step.id}", style="dim")
            console.print(text[:limit] + ("\n…" if len(text) > limit else ""), highlight=False,
                          markup=False)


def _nothing_to_do(message: str, as_json: bool) -> typer.Exit:
    """A prepared run with nothing to act on (pr-fix on a green pull request): said, exit 0."""
    if as_json:
        print_json({"execution_id": None, "status": "nothing_to_do", "message": message})
    else:
        console.print(message, highlight=False, markup=False, soft_wrap=True)
    return typer.Exit(EXIT_OK)


def _finish(baton: Baton, start: Any, as_json: bool, fail_on: str | None = None) -> None:
    from baton.integrations.hooks import NothingToDo

    try:
        result, verdict = asyncio.run(_watch(baton, start, as_json))
    except NothingToDo as exc:
        raise _nothing_to_do(str(exc), as_json) from None
    finally:
        baton.close()
    code = _EXIT.get(result.status, EXIT_FAILED)
    if fail_on is not None and result.status is not ExecutionStatus.CANCELLED:
        from baton.integrations.github_actions import exit_code

        code = exit_code(fail_on, result.status is ExecutionStatus.COMPLETED, verdict or "")
        if code and verdict and not as_json:
            err_console.print(f"verdict {verdict.replace('_', ' ')}: exit {code} (--fail-on {fail_on})",
                              highlight=False)
    raise typer.Exit(code)


def _check_fail_on(baton: Baton, workflow: str, fail_on: str | None) -> str | None:
    if fail_on is None:
        return None
    from baton.integrations.github_actions import FAIL_ON

    value = fail_on.strip().lower()
    if value not in FAIL_ON:
        raise fail(f"--fail-on {fail_on!r}: choose one of {', '.join(FAIL_ON)}")
    if baton.workflow(workflow).config.get("publish") != "review":
        raise fail(f"--fail-on needs a workflow that gives a verdict (code-review); {workflow!r} does not")
    return value


async def _prepared_run(baton: Baton, workflow: str, params: dict[str, Any], workspace: Path | None,
                        no_cache: bool) -> ExecutionHandle:
    from baton.integrations.hooks import NothingToDo, prepare

    prepared = await prepare(baton, baton.workflow(workflow), params, workspace)
    for note in prepared.notes:
        err_console.print(f"[dim]{escape(note)}[/]", highlight=False, soft_wrap=True)
    if prepared.nothing_to_do:
        raise NothingToDo(prepared.nothing_to_do)
    return baton.run(workflow, prepared.params, workspace_dir=prepared.workspace_dir, no_cache=no_cache,
                     trigger=Trigger.CLI)


async def _publish(baton: Baton, handle: ExecutionHandle, result: ExecutionResult) -> dict[str, Any] | None:
    """Publish a built-in workflow's results (``config.publish``): print a review, open a PR..."""
    if not handle.workflow.config.get("publish"):
        return None
    from baton.integrations.hooks import publish

    published = await publish(baton, handle.workflow, result)
    for note in published.notes:
        err_console.print(note, highlight=False, markup=False)
    shown = published.text if result.status is ExecutionStatus.COMPLETED else ""
    return {"verdict": published.verdict, "url": published.url, "notes": published.notes, "text": shown}


def _extra_params(args: list[str]) -> dict[str, Any]:
    """``--name value`` and ``--flag`` after the workflow id are parameters too (``--base main``)."""
    params: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise fail(f"unexpected argument {arg!r}; give parameters as -p key=value or --key value")
        name, sep, value = arg[2:].partition("=")
        if not sep:
            nxt = args[i + 1] if i + 1 < len(args) else None
            if nxt is not None and not nxt.startswith("--"):
                value, i = nxt, i + 1
            else:
                value = "true"
        params[name.replace("-", "_")] = value
        i += 1
    return params


def run(
    cli: typer.Context,
    workflow: str | None = typer.Argument(None, help="Workflow id (`baton workflows list`).",
                                          show_default=False),
    param: list[str] = typer.Option([], "--param", "-p", help="Parameter as key=value (repeatable)."),
    workspace: Path | None = typer.Option(None, "--workspace", "-w", help="Workspace directory."),
    as_json: bool = JsonOption,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not answer from the prompt cache."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Start in the background and return."),
    fail_on: str | None = typer.Option(
        None, "--fail-on", help="A review's verdict that fails the run (exit 1), as in the GitHub Action: "
        "never, error, request_changes or comment (code-review)."),
    config: Path | None = ConfigOption,
    help_: bool = typer.Option(False, "--help", "-h",
                               help="Show this help (after WORKFLOW: its parameters too)."),
) -> None:
    """Run a workflow and watch it live (parameters: -p key=value, or --key value after the id)."""
    if help_:
        _run_help(cli, workflow, config)
    if workflow is None:
        raise fail("which workflow? `baton run WORKFLOW` (see `baton workflows list`)")
    params = {**_extra_params(list(cli.args)), **_parse_params(param)}
    baton = _open(config)
    try:
        gate = _check_fail_on(baton, workflow, fail_on)
    except BaseException:
        baton.close()
        raise
    if detach and gate:
        baton.close()
        raise fail("--fail-on needs the run's verdict: it does not go with --detach")
    if detach:
        from baton.integrations.hooks import prepare

        prepared = asyncio.run(prepare(baton, baton.workflow(workflow), params, workspace))
        if prepared.nothing_to_do:
            baton.close()
            raise _nothing_to_do(prepared.nothing_to_do, as_json)
        ctx = baton.submit(workflow, prepared.params, workspace_dir=prepared.workspace_dir,
                           trigger=Trigger.CLI)
        log = baton.root / ".baton" / "artifacts" / f"{ctx.id}.detached.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "baton", "_execute", ctx.id]
        path = resolve_config_path(config)
        if path is not None:
            argv += ["--config", str(path)]
        if no_cache:
            argv.append("--no-cache")
        with log.open("ab") as out:
            subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                             start_new_session=True, cwd=os.getcwd())
        baton.close()
        if as_json:
            print_json({"execution_id": ctx.id, "status": ctx.status.value})
        else:
            console.print(f"started {ctx.id} in the background; follow it with "
                          f"`baton logs {ctx.id} --follow`", highlight=False)
        raise typer.Exit(EXIT_OK)
    _finish(baton, lambda: _prepared_run(baton, workflow, params, workspace, no_cache), as_json, gate)


def _run_help(cli: typer.Context, workflow: str | None, config: Path | None) -> None:
    """``baton run [WORKFLOW] --help``: the command's help, then the workflow's parameters."""
    console.print(cli.get_help(), highlight=False, markup=False)
    if workflow is not None:
        from baton.cli.workflows_cmd import parameters_table, workflow_parameters

        baton = _open(config)
        try:
            params = workflow_parameters(baton, workflow)
        finally:
            baton.close()
        if params:
            console.print(f"\nParameters of {workflow} (give them as --name value or -p name=value):",
                          highlight=False, markup=False)
            console.print(parameters_table(params))
        else:
            console.print(f"\n{workflow} takes no parameters.", highlight=False, markup=False)
    raise typer.Exit(EXIT_OK)


def execute(
    execution_id: str = typer.Argument(...),
    no_cache: bool = typer.Option(False, "--no-cache"),
    config: Path | None = ConfigOption,
) -> None:
    """Run a submitted execution (used by --detach)."""
    baton = _open(config)
    _finish(baton, lambda: baton.start_pending(execution_id, no_cache=no_cache), True)


def resume(
    ref: str | None = ExecutionArg,
    last: bool = LastOption,
    as_json: bool = JsonOption,
    no_cache: bool = typer.Option(False, "--no-cache"),
    config: Path | None = ConfigOption,
) -> None:
    """Continue an interrupted execution; completed steps are not run again."""
    baton = _open(config)
    try:
        eid = resolve_id(baton.store, ref, last)
    except BaseException:
        baton.close()
        raise
    _finish(baton, lambda: baton.resume(eid, no_cache=no_cache), as_json)


def cancel(
    ref: str | None = ExecutionArg,
    last: bool = LastOption,
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Cancel an execution (a running one stops within a second, its agents killed)."""
    baton = _open(config)
    try:
        ctx = baton.cancel(resolve_id(baton.store, ref, last))
    finally:
        baton.close()
    if as_json:
        print_json({"execution_id": ctx.id, "status": ctx.status.value})
    else:
        console.print(f"{ctx.id}: {ctx.status.value}", highlight=False)
        console.print(next_command(ctx.id, ExecutionStatus.CANCELLED), highlight=False, markup=False,
                      soft_wrap=True)


def register(app: typer.Typer) -> None:
    extra = {"allow_extra_args": True, "ignore_unknown_options": True}
    app.command("run", add_help_option=False, context_settings=extra)(handle_errors(run))
    app.command("_execute", hidden=True)(handle_errors(execute))
    app.command("resume")(handle_errors(resume))
    app.command("cancel")(handle_errors(cancel))

