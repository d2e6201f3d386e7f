"""``baton status``, ``logs`` and ``history``: they read the store and nothing more.

They run the store's read statements (:mod:`baton.store.reads`) without the engine, the agents
or the observers, so that they start fast (tests/test_imports.py keeps it so). A SQLite store
at the current schema is read through ``sqlite3`` alone; any other store (PostgreSQL, a file
to create or migrate, executions to mark interrupted) is opened as every other command opens
it, and the same statements run on its connection.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from baton.cli.app import (
    ConfigOption,
    JsonOption,
    console,
    err_console,
    format_duration,
    handle_errors,
    keep_whole,
    print_json,
    resolve_config_path,
)
from baton.cli.ids import ExecutionArg, LastOption, resolve_read
from baton.models.billing import billed_totals
from baton.models.enums import ExecutionStatus, LogLevel, Trigger
from baton.store.reads import Reads


@contextmanager
def open_for_reading(config: Path | None) -> Iterator[Reads]:
    """The read statements on the configured store (after marking executions whose process
    died as interrupted)."""
    from baton.config.loader import load_store_location

    where = load_store_location(resolve_config_path(config), cwd=Path.cwd())
    if where.database_url is None:
        from baton.store.sqlite_reader import DEFAULT_DB_PATH, sqlite_reads

        with sqlite_reads(where.root / DEFAULT_DB_PATH) as reads:
            if reads is not None and not _orphans(reads):
                yield reads
                return
    with _full_store(where.database_url, where.root) as reads:
        yield reads


def _orphans(reads: Reads) -> bool:
    """Whether a RUNNING execution of this host has lost its process (to be marked interrupted)."""
    from baton.engine.liveness import owner_alive
    from baton.workspace import procinfo

    for row in reads.running_on(procinfo.hostname()):
        process = procinfo.ProcessIdentity(row["owner_host"], row["owner_pid"], row["owner_start"])
        if not owner_alive(process, row["heartbeat_at"], row["owner"]):
            return True
    return False


@contextmanager
def _full_store(url: str | None, root: Path) -> Iterator[Reads]:
    from baton.engine import ownership
    from baton.store import open_store
    from baton.store.sql import SqlStore

    store = open_store(url, base_dir=root)
    try:
        try:
            reaped = ownership.reap(store)
        except Exception:  # best effort, as Baton.reap_orphans: the next command tries again
            reaped = []
        warn_interrupted(reaped)
        assert isinstance(store, SqlStore)
        yield store.reader()
    finally:
        store.close()


def warn_interrupted(execution_ids: list[str]) -> None:
    """Tell the user which executions were just found interrupted, and how to continue them."""
    for execution_id in execution_ids:
        err_console.print(f"[yellow]execution {execution_id} was interrupted (its baton process is "
                          f"gone); continue it with `baton resume {execution_id}`[/]", highlight=False)


def _status_json(reads: Reads, execution_id: str) -> dict[str, Any]:
    ctx = reads.execution(execution_id)
    if ctx is None:
        from baton.engine.errors import ExecutionNotFound

        raise ExecutionNotFound(execution_id)
    steps = reads.steps(execution_id)
    usage, cost = billed_totals((r["cache_hit"], r["output"]) for r in steps)
    slot_waits = _steps_queued(reads, execution_id, steps)
    return {
        "execution_id": ctx["id"],
        "workflow_id": ctx["workflow_id"],
        "status": ctx["status"],
        "error": ctx["error"],
        "workspace_dir": ctx["workspace_dir"],
        "parameters": ctx["parameters"],
        "trace_id": ctx["trace_id"],
        "start_time": ctx["start_time"].isoformat(),
        "end_time": _iso(ctx["end_time"]),
        "owner": ctx["owner"],
        "queued": _queued_reason(reads, ctx, steps),
        "config_hash": ctx["config_hash"],
        "config_version": ctx["config_version"],
        "trigger": _trigger(ctx["trigger"]),
        "usage": usage,
        "cost_usd": round(cost, 6),
        "steps": [
            {
                "step_id": r["step_id"], "status": r["status"], "agent_id": r["agent_id"],
                "allowed_failure": bool((r["output"] or {}).get("allowed")) and r["status"] == "failed",
                "attempt": r["attempt"], "iteration": r["iteration"], "cache_hit": r["cache_hit"],
                "started_at": _iso(r["started_at"]), "ended_at": _iso(r["ended_at"]),
                "error": r["error"], "error_type": r["error_type"], "output": r["output"],
                "queued": slot_waits.get(r["step_id"]),
            }
            for r in steps
        ],
    }


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _trigger(value: str | None) -> str | None:
    """A stored trigger Baton knows (one written by a newer Baton reads as none)."""
    return value if value in {t.value for t in Trigger} else None


def _queued_reason(reads: Reads, ctx: dict[str, Any], steps: list[dict[str, Any]]) -> str | None:
    """Why a PENDING execution has not started yet, if it is waiting for an execution slot."""
    if ctx["status"] != ExecutionStatus.PENDING or any(s["status"] == "waiting" for s in steps):
        return None
    return _last_queued(reads.logs(ctx["id"], levels=LogLevel.INFO.and_above()), "execution.")


def _steps_queued(reads: Reads, execution_id: str, steps: list[dict[str, Any]]) -> dict[str, str]:
    """Why each PENDING step has not started its call yet: it waits for its agent's slot."""
    reasons = {}
    for run in steps:
        if run["status"] == "pending":
            logs = reads.logs(execution_id, step_id=run["step_id"], levels=LogLevel.INFO.and_above())
            reason = _last_queued(logs, "step.")
            if reason is not None:
                reasons[run["step_id"]] = reason
    return reasons


def _last_queued(logs: list[dict[str, Any]], scope: str) -> str | None:
    """The reason of the latest ``<scope>queued`` event, unless a later ``<scope>*`` one ended the wait."""
    for log in reversed(logs):
        metadata = log["metadata"] or {}
        event = metadata.get("event", "")
        if event == f"{scope}queued":
            return str(metadata.get("reason") or log["message"])
        if event.startswith(scope):
            return None
    return None


def status(
    ref: str | None = ExecutionArg,
    last: bool = LastOption,
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Show an execution's status and its steps."""
    with open_for_reading(config) as reads:
        data = _status_json(reads, resolve_read(reads, ref, last))
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{data['execution_id']}[/] {data['workflow_id']} "
                  f"[{_style(data['status'])}]{data['status']}[/]", highlight=False)
    console.print(f"config: {_config_label(data['config_version'], data['config_hash'])}", highlight=False)
    if data["trigger"]:
        console.print(f"started by: {Trigger(data['trigger']).label}", highlight=False)
    waiting = any(s["status"] == "waiting" for s in data["steps"])
    if data["queued"]:
        console.print(f"queued: {escape(data['queued'])}", highlight=False)
    for s in data["steps"]:
        if s["queued"]:
            console.print(f"queued: step {s['step_id']}: {escape(s['queued'])}", highlight=False)
    if data["error"]:
        label = "paused" if waiting and data["status"] == "pending" else "error"
        console.print(f"{label}: {escape(data['error'])}", highlight=False)
    table = Table("step", "status", "agent", "attempt", "duration", "tokens", "cost", "note")
    for s in data["steps"]:
        dur = ""
        if s["started_at"] and s["ended_at"]:
            from datetime import datetime

            span = datetime.fromisoformat(s["ended_at"]) - datetime.fromisoformat(s["started_at"])
            dur = f"{span.total_seconds():.2f}s"
        out = s["output"] or {}
        tokens = sum(int(v or 0) for v in (out.get("usage") or {}).values())
        cost = 0.0 if s["cache_hit"] else float(out.get("cost_usd") or 0.0)
        note = "cache hit" if s["cache_hit"] else (s["error"] or "")
        shown = "queued" if s["queued"] else s["status"]
        shown = f"{shown} (allowed)" if s["allowed_failure"] else shown
        table.add_row(s["step_id"], f"[{_style(shown)}]{shown}[/]", s["agent_id"] or "",
                      str(s["attempt"]), dur, str(tokens) if tokens else "",
                      f"${cost:.4f}" if cost else "", escape(note.splitlines()[0] if note else ""))
    console.print(keep_whole(table, "step", "status"))
    console.print(usage_line(data["usage"], data["cost_usd"]), highlight=False)


def _config_label(version: str | None, digest: str | None) -> str:
    if digest is None:
        return "unknown (no baton.yaml)"
    if version is None:
        return f"not applied ({digest[:12]})"
    return f"version {version} ({digest[:12]})"


def usage_line(usage: dict[str, int], cost_usd: float) -> str:
    """Token counts and cost as one readable line."""
    parts = [f"{usage.get('input_tokens', 0)} in", f"{usage.get('output_tokens', 0)} out"]
    cached = usage.get("cache_read_tokens", 0)
    if cached:
        parts.append(f"{cached} cached")
    return f"tokens: {', '.join(parts)}   cost: ${cost_usd:.4f}"


def summary_json(ctx: dict[str, Any]) -> dict[str, Any]:
    """An execution in a list, with the API's field names (ExecutionSummary)."""
    return {
        "execution_id": ctx["id"], "workflow_id": ctx["workflow_id"], "status": ctx["status"],
        "start_time": ctx["start_time"].isoformat(), "end_time": _iso(ctx["end_time"]),
        "error": ctx["error"], "config_hash": ctx["config_hash"], "config_version": ctx["config_version"],
        "trigger": _trigger(ctx["trigger"]),
        "parameters": ctx["parameters"], "workspace_dir": ctx["workspace_dir"], "trace_id": ctx["trace_id"],
    }


def log_json(row: dict[str, Any]) -> dict[str, Any]:
    """A log row as the API serializes an ExecutionLog (UTC times end in ``Z``)."""
    return {**row, "timestamp": row["timestamp"].isoformat().replace("+00:00", "Z")}


def _style(value: str) -> str:
    return {"completed": "green", "failed": "red", "running": "cyan", "cancelled": "magenta",
            "skipped": "yellow", "failed (allowed)": "yellow"}.get(value, "dim")


def logs(
    ref: str | None = ExecutionArg,
    last: bool = LastOption,
    follow_: bool = typer.Option(False, "--follow", "-f", help="Keep printing new rows."),
    step: str | None = typer.Option(None, "--step", help="Only this step."),
    level: LogLevel | None = typer.Option(None, "--level", help="Minimum level."),
    as_json: bool = typer.Option(False, "--json", help="JSON (lines with --follow)."),
    config: Path | None = ConfigOption,
) -> None:
    """Print an execution's log."""
    with open_for_reading(config) as reads:
        execution_id = resolve_read(reads, ref, last)
        after: int | None = None
        collected: list[dict[str, Any]] = []
        levels = None if level is None else level.and_above()
        while True:
            rows = reads.logs(execution_id, step_id=step, levels=levels, after_seq=after)
            for row in rows:
                after = row["seq"]
                item = log_json(row)
                if as_json and not follow_:
                    collected.append(item)
                elif as_json:
                    sys.stdout.write(json.dumps(item, default=str) + "\n")
                    sys.stdout.flush()
                else:
                    where = f" [{row['step_id']}]" if row["step_id"] else ""
                    console.print(f"[dim]{row['timestamp']:%H:%M:%S.%f}[/] "
                                  f"{row['level'].upper():<7}{where} {row['message']}",
                                  highlight=False, markup=True, soft_wrap=True)
            if not follow_:
                break
            ctx = reads.context(execution_id)
            if ctx is not None and ExecutionStatus(ctx["status"]).is_terminal and not rows:
                break
            time.sleep(0.3)
        if as_json and not follow_:
            print_json(collected)


def history(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10_000,
                              help="How many executions to list (1-10000)."),
    workflow: str | None = typer.Option(None, "--workflow"),
    status_: ExecutionStatus | None = typer.Option(None, "--status"),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """List recent executions."""
    with open_for_reading(config) as reads:
        rows = reads.executions(status=None if status_ is None else status_.value, workflow_id=workflow,
                                limit=limit) or []
    if as_json:
        print_json([summary_json(r) for r in rows])
        return
    # ids are never cut; to fit 80 columns the start is short (like ps: hour:minute today, else
    # month-day), then how long the run took, and an error column only when a listed run has one
    errors = any(r["error"] for r in rows)
    today = datetime.now(UTC).date()
    table = Table("execution", "workflow", "status", "start", "took", *(["error"] if errors else []))
    for r in rows:
        end, start = r["end_time"], r["start_time"]
        took = format_duration((end - start).total_seconds()) if end else ""
        cells = [r["id"], r["workflow_id"], f"[{_style(r['status'])}]{r['status']}[/]",
                 _started(start, today), took]
        table.add_row(*cells, *([(r["error"] or "")[:60]] if errors else []))
    console.print(keep_whole(table, "execution", "status", "start"))


def _started(when: datetime, today: date) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return f"{when:%H:%M}" if when.astimezone(UTC).date() == today else f"{when:%m-%d}"


def register(app: typer.Typer) -> None:
    app.command("status")(handle_errors(status))
    app.command("logs")(handle_errors(logs))
    app.command("history")(handle_errors(history))
