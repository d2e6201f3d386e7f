"""Executions whose `baton` process died: found by any later command, marked interrupted
(FAILED, resumable) and their agents' orphaned process groups killed.

The owner of a RUNNING execution is recorded when it is claimed (host, pid, start token,
see :mod:`baton.workspace.procinfo`) and every agent process group while it runs. An owner
on this host whose pid is gone, or now belongs to another process, is dead. An owner on
another host is judged by its heartbeat.
"""

from __future__ import annotations

import contextlib
import signal
from datetime import UTC, datetime

from baton.engine import liveness
from baton.errors import BatonError
from baton.models import ExecutionLog, ExecutionStatus, LogLevel, StepStatus
from baton.store.base import ExecutionRecord, OwnedGroup, Store
from baton.workspace import procinfo
from baton.workspace.process import GroupWatcher, signal_group


def owner_alive(record: ExecutionRecord, now: datetime | None = None) -> bool:
    """Whether the process that runs ``record`` is still there."""
    owner = record.owner_process
    process = None if owner is None else procinfo.ProcessIdentity(owner.host, owner.pid, owner.start)
    return liveness.owner_alive(process, record.heartbeat_at, record.owner, now)


def describe_owner(record: ExecutionRecord) -> str:
    owner = record.owner_process
    if owner is not None:
        return f"process {owner.pid} on {owner.host}"
    return f"worker {record.owner}" if record.owner else "another process"


def group_watcher(store: Store, execution_id: str, step_id: str) -> GroupWatcher:
    """Records the process groups of one agent call while they run."""

    def watch(pgid: int, started: bool) -> None:
        with contextlib.suppress(Exception):  # tracking must never break the call itself
            if started:
                store.track_process(execution_id, step_id, OwnedGroup(
                    pgid, procinfo.hostname(), procinfo.start_token(pgid)))
            else:
                store.untrack_process(execution_id, pgid)

    return watch


def kill_orphans(store: Store, execution_id: str) -> int:
    """SIGKILL the recorded process groups of an execution on this host; how many were alive."""
    host = procinfo.hostname()
    killed = 0
    for group in store.tracked_processes(execution_id):
        if group.host != host:
            continue
        token = procinfo.start_token(group.pgid)
        # the leader may be gone while its group lives on; a live leader must be the same one
        if token is None or group.start is None or token == group.start:
            killed += signal_group(group.pgid, signal.SIGKILL)
        store.untrack_process(execution_id, group.pgid)
    return killed


def interrupt(store: Store, record: ExecutionRecord) -> bool:
    """Mark an execution whose owner died as interrupted; False if someone else moved it first."""
    ctx = record.context
    killed = kill_orphans(store, ctx.id)
    now = datetime.now(UTC)
    for run in store.list_steps(ctx.id):
        if run.status in (StepStatus.RUNNING, StepStatus.PENDING):  # PENDING: waited for a slot
            store.save_step(run.model_copy(update={
                "status": StepStatus.CANCELLED, "ended_at": max(now, run.started_at or now),
                "error": "interrupted"}))
    error = (f"interrupted: {describe_owner(record)} that ran it stopped without finishing "
             f"(killed or crashed); continue with `baton resume {ctx.id}`")
    log = ExecutionLog(execution_id=ctx.id, level=LogLevel.ERROR, message=error, trace_id=ctx.trace_id,
                       metadata={"event": "execution.interrupted", "orphan_groups_killed": killed})
    try:
        store.finish_execution(ctx.id, ExecutionStatus.FAILED, error=error, logs=[log])
    except BatonError:
        return False
    if record.owner is not None:  # `baton resume` claims it at once, not when the claim expires
        store.disown_execution(ctx.id, record.owner)
    return True


def reap(store: Store) -> list[str]:
    """Interrupt every RUNNING execution on this host whose owner is dead; their ids."""
    done: list[str] = []
    for record in store.running_on(procinfo.hostname()):
        if not owner_alive(record) and interrupt(store, record):
            done.append(record.context.id)
    return done
