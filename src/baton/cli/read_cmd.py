"""``baton status``, ``logs`` and ``history``: they read the store and nothing more.

They open the configured store directly, without the engine, the agents or the observers,
so that they start fast (tests/test_imports.py keeps it so).
"""

from __future__ import annotations

import json
import sys
import time
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
from baton.cli.ids import ExecutionArg, LastOption, resolve_id
from baton.models.enums import ExecutionStatus, LogLevel, StepStatus, Trigger
from baton.models.execution import ExecutionContext, ExecutionLog, StepRun, step_totals
from baton.store.base import Store


def open_for_reading(config: Path | None) -> Store:
    """The configured store (after marking executions whose process died as interrupted)."""
    from baton.config.loader import load_store_location
    from baton.engine import ownership
    from baton.store import open_store

    where = load_store_location(resolve_config_path(config), cwd=Path.cwd())
    store = open_store(where.database_url, base_dir=where.root)
    try:
        reaped = ownership.reap(store)
    except Exception:  # best effort, as Baton.reap_orphans: the next command tries again
        reaped = []
    warn_interrupted(reaped)
    return store


def warn_interrupted(execution_ids: list[str]) -> None:
    """Tell the user which executions were just found interrupted, and how to continue them."""
    for execution_id in execution_ids:
        err_console.print(f"[yellow]execution {execution_id} was interrupted (its baton process is "
                          f"gone); continue it with `baton resume {execution_id}`[/]", highlight=False)


def _status_json(store: Store, execution_id: str) -> dict[str, Any]:
    record = store.get_execution(execution_id)
    if record is None:
        from baton.engine.errors import ExecutionNotFound

        raise ExecutionNotFound(execution_id)
    ctx = record.context
    steps = store.list_steps(execution_id)
    usage, cost = step_totals(steps)
    slot_waits = _steps_queued(store, ctx.id, steps)
    return {
        "execution_id": ctx.id,
        "workflow_id": ctx.workflow_id,
        "status": ctx.status.value,
        "error": ctx.error,
        "workspace_dir": ctx.workspace_dir,
        "parameters": ctx.parameters,
        "trace_id": ctx.trace_id,
        "start_time": ctx.start_time.isoformat(),
        "end_time": ctx.end_time.isoformat() if ctx.end_time else None,
        "owner": record.owner,
        "queued": _queued_reason(store, ctx, steps),
        "config_hash": ctx.config_hash,
        "config_version": ctx.config_version,
        "trigger": ctx.trigger.value if ctx.trigger else None,
        "usage": usage,
        "cost_usd": round(cost, 6),
        "steps": [
            {
                "step_id": r.step_id, "status": r.status.value, "agent_id": r.agent_id,
                "allowed_failure": bool((r.output or {}).get("allowed"))
                and r.status is StepStatus.FAILED,
                "attempt": r.attempt, "iteration": r.iteration, "cache_hit": r.cache_hit,
                "started_at": r.started_at.isoformat() if r.started_at else None,
                "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                "error": r.error, "error_type": r.error_type, "output": r.output,
                "queued": slot_waits.get(r.step_id),
            }
            for r in steps
        ],
    }


def _queued_reason(store: Store, ctx: ExecutionContext, steps: list[StepRun]) -> str | None:
    """Why a PENDING execution has not started yet, if it is waiting for an execution slot."""
    if ctx.status is not ExecutionStatus.PENDING or any(s.status is StepStatus.WAITING for s in steps):
        return None
    return _last_queued(store.list_logs(ctx.id, min_level=LogLevel.INFO), "execution.")


def _steps_queued(store: Store, execution_id: str, steps: list[StepRun]) -> dict[str, str]:
    """Why each PENDING step has not started its call yet: it waits for its agent's slot."""
    reasons = {}
    for run in steps:
        if run.status is StepStatus.PENDING:
            logs = store.list_logs(execution_id, step_id=run.step_id, min_level=LogLevel.INFO)
            reason = _last_queued(logs, "step.")
            if reason is not None:
                reasons[run.step_id] = reason
    return reasons


def _last_queued(logs: list[ExecutionLog], scope: str) -> str | None:
    """The reason of the latest ``<scope>queued`` event, unless a later ``<scope>*`` one ended the wait."""
    for log in reversed(logs):
        event = (log.metadata or {}).get("event", "")
        if event == f"{scope}queued":
            return str((log.metadata or {}).get("reason") or log.message)
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
    store = open_for_reading(config)
    try:
        data = _status_json(store, resolve_id(store, ref, last))
    finally:
        store.close()
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


def summary_json(ctx: ExecutionContext) -> dict[str, Any]:
    """An execution in a list, with the API's field names (ExecutionSummary)."""
    return {
        "execution_id": ctx.id, "workflow_id": ctx.workflow_id, "status": ctx.status.value,
        "start_time": ctx.start_time.isoformat(),
        "end_time": ctx.end_time.isoformat() if ctx.end_time else None,
        "error": ctx.error, "config_hash": ctx.config_hash, "config_version": ctx.config_version,
        "trigger": ctx.trigger.value if ctx.trigger else None,
        "parameters": ctx.parameters, "workspace_dir": ctx.workspace_dir, "trace_id": ctx.trace_id,
    }


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
    store = open_for_reading(config)
    try:
        execution_id = resolve_id(store, ref, last)
        after: int | None = None
        collected: list[dict[str, Any]] = []
        while True:
            rows = store.list_logs(execution_id, step_id=step, min_level=level, after_seq=after)
            for row in rows:
                after = row.seq
                item = row.model_dump(mode="json")
                if as_json and not follow_:
                    collected.append(item)
                elif as_json:
                    sys.stdout.write(json.dumps(item, default=str) + "\n")
                    sys.stdout.flush()
                else:
                    where = f" [{row.step_id}]" if row.step_id else ""
                    console.print(f"[dim]{row.timestamp:%H:%M:%S.%f}[/] "
                                  f"{row.level.value.upper():<7}{where} {row.message}",
                                  highlight=False, markup=True, soft_wrap=True)
            if not follow_:
                break
            record = store.get_execution(execution_id)
            if record is not None and record.context.status.is_terminal and not rows:
                break
            time.sleep(0.3)
        if as_json and not follow_:
            print_json(collected)
    finally:
        store.close()


def history(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10_000,
                              help="How many executions to list (1-10000)."),
    workflow: str | None = typer.Option(None, "--workflow"),
    status_: ExecutionStatus | None = typer.Option(None, "--status"),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """List recent executions."""
    store = open_for_reading(config)
    try:
        rows = store.list_executions(status=status_, workflow_id=workflow, limit=limit)
    finally:
        store.close()
    if as_json:
        print_json([summary_json(r) for r in rows])
        return
    # ids are never cut; to fit 80 columns the start is short (like ps: hour:minute today, else
    # month-day), then how long the run took, and an error column only when a listed run has one
    errors = any(r.error for r in rows)
    today = datetime.now(UTC).date()
    table = Table("execution", "workflow", "status", "start", "took", *(["error"] if errors else []))
    for r in rows:
        took = format_duration((r.end_time - r.start_time).total_seconds()) if r.end_time else ""
        cells = [r.id, r.workflow_id, f"[{_style(r.status.value)}]{r.status.value}[/]",
                 _started(r.start_time, today), took]
        table.add_row(*cells, *([(r.error or "")[:60]] if errors else []))
    console.print(keep_whole(table, "execution", "status", "start"))


def _started(when: datetime, today: date) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return f"{when:%H:%M}" if when.astimezone(UTC).date() == today else f"{when:%m-%d}"


def register(app: typer.Typer) -> None:
    app.command("status")(handle_errors(status))
    app.command("logs")(handle_errors(logs))
    app.command("history")(handle_errors(history))
