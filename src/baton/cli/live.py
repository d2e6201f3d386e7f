"""The live view of a running execution: one row per step, updated from the event stream."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from baton.cli.app import format_duration, keep_whole
from baton.engine.core import ExecutionResult
from baton.models import StepRun, StepStatus
from baton.models import events as ev
from baton.models.execution import step_totals

_STYLE = {
    "pending": "dim", "queued": "dim", "running": "bold cyan", "completed": "green",
    "failed": "bold red", "failed (allowed)": "yellow", "skipped": "yellow", "cancelled": "magenta",
    "waiting": "bold yellow", "retrying": "yellow",
}
_ICON = {
    "pending": "·", "queued": "…", "running": "▶", "completed": "✔", "failed": "✘",
    "failed (allowed)": "✘", "skipped": "↷", "retrying": "↻",
    "cancelled": "■", "waiting": "⏸",
}
_QUIET = ("completed", "pending", "queued")  # the statuses left out first when rows must go
_SUMMARY_ROWS = 50  # a final table on a pipe lists at most this many steps
_LIVE_ROWS = 30  # the live table shows at most this many steps (fewer on a short screen)


@dataclass(slots=True)
class StepRow:
    step: str
    status: str = "pending"
    agent: str = ""
    started: float | None = None
    elapsed: float | None = None
    tokens: int = 0
    cost: float = 0.0
    note: str = ""
    attempts: int = 0
    retries: int = 0
    passes: int = 1
    files: list[str] = field(default_factory=list)


class LiveView:
    """Keeps step rows up to date from events and renders them as a Rich table."""

    def __init__(self, workflow_steps: list[str]) -> None:
        self.rows = {s: StepRow(s) for s in workflow_steps}
        self.total_tokens = 0
        self.total_cost = 0.0
        self.header = ""
        self.started = time.monotonic()
        self.workflow_id = ""
        self.finished = False

    def seed(self, runs: list[StepRun]) -> None:
        """Show what earlier runs of a resumed (or approved) execution left in the store."""
        for run in runs:
            row = self.rows.setdefault(run.step_id, StepRow(run.step_id))
            out = run.output or {}
            row.status = run.status.value
            if run.status is StepStatus.FAILED and out.get("allowed"):
                row.status = "failed (allowed)"
            row.agent = run.agent_id or ""
            row.passes = max(run.iteration, 1)
            if run.started_at and run.ended_at:
                row.elapsed = (run.ended_at - run.started_at).total_seconds()
            usage = out.get("usage") or {}
            row.tokens = int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)
            row.cost = 0.0 if run.cache_hit else float(out.get("cost_usd") or 0.0)
            row.files = list(out.get("files_changed") or [])
            error = (run.error or "").splitlines()
            row.note = "cache hit" if run.cache_hit else (error[0][:80] if error else "")
        totals, cost = step_totals(runs)
        self.total_tokens = totals.get("input_tokens", 0) + totals.get("output_tokens", 0)
        self.total_cost = cost

    def apply(self, event: ev.Event) -> None:
        step = event.step_id
        row = self.rows.setdefault(step, StepRow(step)) if step else None
        if isinstance(event, ev.ExecutionQueued):
            self.header = f"queued: {event.reason}"
        elif isinstance(event, ev.ExecutionStarted):
            self.workflow_id = event.workflow_id
            self.header = ("resumed" if event.resumed else "running") + f" {event.workflow_id}"
        elif isinstance(event, ev.ExecutionCompleted):
            self.finished = True
            self.header = end_header(self.workflow_id, event.status, event.duration_seconds)
        elif isinstance(event, ev.StepStarted) and row:
            row.status, row.agent, row.started = "running", event.agent_id, time.monotonic()
            row.attempts = event.attempt
            row.elapsed = None
            row.passes = event.iteration
            if event.attempt > 1:
                row.note = f"attempt {event.attempt} ({row.retries} retried)"
            else:
                row.note, row.retries = "", 0
        elif isinstance(event, ev.StepRetrying) and row:
            row.retries += 1
            row.status = "retrying"
            row.note = (f"attempt {event.attempt} failed ({event.error_type}); "
                        f"retry in {event.delay_seconds:.1f}s")
        elif isinstance(event, ev.StepQueued) and row:
            row.status, row.note = "queued", f"queued: {event.reason}"[:80]
        elif isinstance(event, ev.StepRunning) and row:
            row.status, row.note = "running", ""
        elif isinstance(event, ev.FallbackAgent) and row:
            row.note = f"fallback → {event.to_agent}"
        elif isinstance(event, ev.CacheHit) and row:
            row.note = "cache hit"
        elif isinstance(event, ev.StepSkipped) and row:
            row.status, row.note = "skipped", event.reason
        elif isinstance(event, ev.StepWaiting) and row:
            row.status, row.note = "waiting", event.message_text
        elif isinstance(event, ev.StepCompleted) and row:
            row.status = "completed"
            row.elapsed = event.duration_seconds
            row.tokens = sum(event.usage.get(k, 0) for k in ("input_tokens", "output_tokens"))
            row.cost = event.cost_usd or 0.0
            row.files = list(event.files_changed)
            if event.exit_code not in (None, 0):
                row.note = f"exit {event.exit_code} (allowed)"
            elif row.retries:
                row.note = f"after {row.retries + 1} attempts"
        elif isinstance(event, ev.StepFailed) and row:
            row.status = "cancelled" if event.error_type == "Cancelled" else "failed"
            row.note = event.error.splitlines()[0][:80] if event.error else event.error_type
            if event.attempts > 1:
                row.note = f"after {event.attempts} attempts: {row.note}"
            if event.allowed:
                row.status = "failed (allowed)"
            row.tokens = sum(event.usage.get(k, 0) for k in ("input_tokens", "output_tokens"))
            row.cost = event.cost_usd or 0.0
            if row.started is not None:
                row.elapsed = time.monotonic() - row.started
        elif isinstance(event, ev.BudgetUpdate):
            self.total_tokens, self.total_cost = event.total_tokens, event.cost_usd

    def shown(self, max_rows: int | None) -> tuple[list[StepRow], Counter[str]]:
        """At most ``max_rows`` rows, in workflow order (every row when None), and the
        statuses of those left out. Running, failed, waiting... rows are kept first, then
        the finished and pending ones nearest to where the execution is."""
        rows = list(self.rows.values())
        if max_rows is None or len(rows) <= max_rows:
            return rows, Counter()
        room = max(max_rows, 1)
        frontier = next((i for i, r in enumerate(rows) if r.status in ("pending", "queued")), len(rows))
        order = sorted(range(len(rows)), key=lambda i: (rows[i].status in _QUIET, abs(i - frontier + 0.5)))
        keep = sorted(order[:room])
        kept = set(keep)
        return [rows[i] for i in keep], Counter(r.status for i, r in enumerate(rows) if i not in kept)

    def table(self, max_rows: int | None = None) -> Table:
        """The step table; with ``max_rows``, a window of it (the live view fits the screen)."""
        now = time.monotonic()
        title = self.header
        if title and not self.finished:
            title = f"{title} · {now - self.started:.0f}s"
        table = Table(title=title or None, title_justify="left", expand=False)
        for col in ("step", "status", "agent", "elapsed", "tokens", "cost", "files", "note"):
            table.add_column(col, justify="right" if col in ("elapsed", "tokens", "cost") else "left")
        rows, hidden = self.shown(max_rows)
        for row in rows:
            elapsed = row.elapsed
            if elapsed is None and row.started is not None and row.status in ("running", "retrying"):
                elapsed = now - row.started
            table.add_row(
                Text(row.step),
                Text(f"{_ICON.get(row.status, '')} {row.status}", style=_STYLE.get(row.status, "dim")),
                Text(row.agent),
                Text(f"{elapsed:.1f}s" if elapsed is not None else ""),
                Text(str(row.tokens) if row.tokens else ""),
                Text(f"${row.cost:.4f}" if row.cost else ""),
                Text(_files(row.files)),
                Text(f"pass {row.passes}" + (f": {row.note}" if row.note else "")
                     if row.passes > 1 else row.note),
            )
        table.caption = f"total: {self.total_tokens} tokens, ${self.total_cost:.4f}"
        if hidden:
            left_out = ", ".join(f"{n} {status}" for status, n in hidden.items())
            table.caption = f"{left_out} not shown (every step: baton show) · {table.caption}"
        return keep_whole(table, "step")


async def follow(events: AsyncIterator[ev.Event], view: LiveView, console: Console,
                 live: bool) -> None:
    """Drive the view from the event stream: a live table on a terminal, lines otherwise."""
    if live:
        # get_renderable: every refresh redraws, so elapsed times tick while a step is quiet;
        # the table is cut to the screen (Rich renders a row in ~0.6 ms, 4 times a second)
        def screenful() -> Table:
            return view.table(max_rows=max(min(console.height - 8, _LIVE_ROWS), 5))

        with Live(console=console, refresh_per_second=4, transient=False,
                  get_renderable=screenful) as screen:
            async for event in events:
                view.apply(event)
                if isinstance(event, ev.CredentialsInWorkspace):  # above the table, kept
                    screen.console.print(f"[yellow]warning:[/] {escape(event.message())}", highlight=False)
            screen.refresh()
        return
    plain = console.color_system is None  # no styles to render: write the line as it is
    async for event in events:
        view.apply(event)
        if isinstance(event, ev.AgentOutput | ev.BudgetUpdate):
            continue
        if plain:
            console.file.write(f"{event.timestamp:%H:%M:%S} {event.message()}\n")
            console.file.flush()
        else:
            console.print(f"[dim]{event.timestamp:%H:%M:%S}[/] {escape(event.message())}",
                          highlight=False, markup=True, soft_wrap=True)


def end_header(workflow_id: str, status: str, seconds: float) -> str:
    """``hello completed in 1.2s`` / ``hello failed after 3.4s``."""
    verb = "completed in" if status == "completed" else f"{status} after"
    return f"{workflow_id} {verb} {format_duration(seconds)}"


def _files(files: list[str]) -> str:
    if not files:
        return ""
    return f"{files[0]} +{len(files) - 1}" if len(files) > 1 else files[0]


def summary(result: ExecutionResult, view: LiveView) -> Table:
    view.finished = True
    table = view.table(max_rows=_SUMMARY_ROWS)
    table.title = end_header(result.workflow_id, result.status.value, result.duration_seconds)
    return table


def changes_text(view: LiveView) -> str:
    """Per step, the files it changed (one line per step; empty if none changed any)."""
    lines = [f"  {row.step}: {', '.join(row.files)}" for row in view.rows.values() if row.files]
    return "files changed:\n" + "\n".join(lines) if lines else ""
