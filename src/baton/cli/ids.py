"""Execution ids as users type them (a unique prefix, or nothing for the latest) and the
one-line "what to do next" printed when an execution stops short of success."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import typer

from baton.engine.lookup import resolve_execution_id, resolve_read_id
from baton.models.enums import ExecutionStatus

if TYPE_CHECKING:
    from baton.store.base import Store
    from baton.store.reads import Reads

ExecutionArg = typer.Argument(
    None, help="Execution id or a unique prefix of one (default: the latest execution).",
    show_default=False,
)
LastOption = typer.Option(False, "--last", help="The latest execution (the default without an id).")


def resolve_id(store: Store, ref: str | None, last: bool = False) -> str:
    """The full id ``ref`` names; the latest execution when ``ref`` is omitted or ``--last``."""
    if last and ref is not None:
        raise typer.BadParameter("give an execution id or --last, not both")
    return resolve_execution_id(store, None if last else ref)


def resolve_read(reads: Reads, ref: str | None, last: bool = False) -> str:
    """:func:`resolve_id` for the commands that only read (``baton status``, ``logs``)."""
    if last and ref is not None:
        raise typer.BadParameter("give an execution id or --last, not both")
    return resolve_read_id(reads, None if last else ref)


def next_command(execution_id: str, status: ExecutionStatus, waiting: list[str] | None = None) -> str:
    """The exact command to type next for an execution that is not (yet) completed; ""
    when there is nothing to do."""
    eid = shlex.quote(execution_id)
    if status is ExecutionStatus.PENDING and waiting:
        step = f" --step {shlex.quote(waiting[0])}" if len(waiting) > 1 else ""
        return f"next: baton approve {eid}{step}   (or add --reject --reason ...)"
    if status is ExecutionStatus.CANCELLED:
        return f"next: baton resume {eid}   (completed steps are kept)"
    if status is ExecutionStatus.FAILED:
        return f"next: baton resume {eid}   (after fixing the cause; see baton logs {eid} --level error)"
    if status is ExecutionStatus.PENDING:
        return f"next: baton resume {eid}"
    return ""
