"""``baton approve``: answer a langgraph step that waits for a human, then continue the run.

While a step waits, its execution is PENDING (resumable) and the step WAITING; ``baton
run`` ended with exit code 3. ``baton approve ID`` records the decision (who, why, when)
durably and resumes the execution in this process, like ``baton resume``; with
``--reject`` the step fails with the reason instead of running.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from baton.cli.app import ConfigOption, JsonOption, err_console, handle_errors
from baton.cli.ids import ExecutionArg, LastOption, resolve_id
from baton.cli.run_cmd import _finish, _open
from baton.engine.graph_approval import record_decision


def approve(
    ref: str | None = ExecutionArg,
    last: bool = LastOption,
    step: str | None = typer.Option(
        None, "--step", "-s", help="The waiting step (needed when several wait)."
    ),
    reject: bool = typer.Option(False, "--reject", help="Reject the step: it fails instead of running."),
    reason: str | None = typer.Option(None, "--reason", "-r", help="Why (kept in the execution's log)."),
    by: str | None = typer.Option(None, "--by", help="Who decides (default: the current user)."),
    as_json: bool = JsonOption,
    no_cache: bool = typer.Option(False, "--no-cache"),
    config: Path | None = ConfigOption,
) -> None:
    """Approve (or --reject) a step waiting for approval, and continue the execution."""
    baton = _open(config)
    try:
        execution_id = resolve_id(baton.store, ref, last)
        run = record_decision(
            baton.store,
            execution_id,
            step_id=step,
            approved=not reject,
            reason=reason,
            by=by or _user(),
            now=baton.clock.now(),
        )
    except BaseException:
        baton.close()
        raise
    if not as_json:
        verb = "rejected" if reject else "approved"
        err_console.print(f"step {run.step_id} {verb}; continuing {execution_id}", highlight=False)
    _finish(baton, lambda: baton.resume(execution_id, no_cache=no_cache), as_json)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register(app: typer.Typer) -> None:
    app.command("approve")(handle_errors(approve))
