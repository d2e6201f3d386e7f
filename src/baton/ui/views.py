"""What the Run page shows, built from the store: each step's live status, the attempts
and waits of the timeline, the step panel and the totals against the budget.

Everything is derived from the durable rows (executions, step runs, log rows, artefacts),
so a page is correct whichever process runs the execution and after a crash and resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from baton.engine.prompts import read_prompt
from baton.engine.quotas import day_start
from baton.models import (
    BudgetConfig,
    ExecutionContext,
    ExecutionLog,
    ExecutionStatus,
    LogLevel,
    StepRun,
    StepStatus,
    Workflow,
)
from baton.models.configuration import QuotaConfig
from baton.models.execution import step_totals
from baton.store.base import ExecutionRecord
from baton.store.sql import SqlStore
from baton.workspace import changes

LIFECYCLE = frozenset(
    {
        "step.started",
        "step.queued",
        "step.running",
        "step.retrying",
        "step.rate_limited",
        "step.fallback",
        "step.cache_hit",
        "step.skipped",
        "step.completed",
        "step.failed",
        "step.waiting",
        "step.approved",
        "step.rejected",
    }
)
STATUSES = (
    "pending",
    "queued",
    "running",
    "retrying",
    "waiting",
    "completed",
    "cached",
    "failed",
    "skipped",
    "cancelled",
)


@dataclass(slots=True)
class StepView:
    """One step's row: its live status (``queued``, ``retrying`` and ``cached`` included) and
    timings; ``note`` says why a queued step waits."""

    id: str
    agent_id: str
    status: str = "pending"
    attempt: int = 0
    iteration: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    error_type: str | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    note: str = ""

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


@dataclass(slots=True)
class Bar:
    """One span of the timeline: an attempt, a wait (retry, rate limit, approval) or a cache hit."""

    step_id: str
    kind: str  # attempt | slot-wait | retry-wait | rate-wait | approval | cache | skipped
    start: datetime
    end: datetime | None
    outcome: str = ""  # ok | failed | running | fallback
    label: str = ""


@dataclass(slots=True)
class Attempt:
    """One attempt of a step as the step panel lists it."""

    number: int
    agent_id: str
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = "running"
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RunView:
    """The Run page's data."""

    context: ExecutionContext
    workflow: Workflow
    steps: list[StepView]
    bars: list[Bar]
    tokens: int
    cost_usd: float
    budget: BudgetConfig
    waiting: list[StepRun]
    last_seq: int
    now: datetime

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.status in ("completed", "cached", "skipped"))


def build_run(store: SqlStore, record: ExecutionRecord, budget: BudgetConfig) -> RunView:
    """The Run page's data for ``record``."""
    ctx = record.context
    workflow = Workflow.model_validate(record.workflow_snapshot)
    runs = {r.step_id: r for r in store.list_steps(ctx.id)}
    events = store.list_logs(ctx.id, min_level=LogLevel.INFO)
    last_seq = _last_seq(store, ctx.id, events)
    now = datetime.now(UTC)
    last_event: dict[str, ExecutionLog] = {}
    for row in events:
        kind = str(row.metadata.get("event") or "")
        if row.step_id and kind in LIFECYCLE:
            last_event[row.step_id] = row
    steps: list[StepView] = []
    seen = set()
    for step in workflow.steps:
        seen.add(step.id)
        steps.append(_step_view(step.id, step.agent_id, runs.get(step.id), last_event.get(step.id)))
    for step_id, run in runs.items():  # steps of a graph not in the snapshot's list
        if step_id not in seen:
            steps.append(_step_view(step_id, run.agent_id or "", run, last_event.get(step_id)))
    usage, cost = step_totals(runs.values())
    end = ctx.end_time if ctx.status.is_terminal and ctx.end_time else now
    return RunView(
        context=ctx,
        workflow=workflow,
        steps=steps,
        bars=timeline(events, end),
        tokens=int(usage.get("input_tokens", 0) + usage.get("output_tokens", 0)),
        cost_usd=cost,
        budget=budget,
        waiting=[r for r in runs.values() if r.status is StepStatus.WAITING],
        last_seq=last_seq,
        now=now,
    )


def _last_seq(store: SqlStore, execution_id: str, events: list[ExecutionLog]) -> int:
    newest = store.list_logs(execution_id, after_seq=events[-1].seq if events else 0)
    if newest:
        return newest[-1].seq
    return events[-1].seq if events else 0


def _step_view(step_id: str, agent_id: str, run: StepRun | None, last_row: ExecutionLog | None) -> StepView:
    view = StepView(id=step_id, agent_id=agent_id)
    if run is None:
        return view
    view.agent_id = run.agent_id or agent_id
    view.attempt, view.iteration = run.attempt, run.iteration
    view.started_at, view.ended_at = run.started_at, run.ended_at
    view.error, view.error_type = run.error, run.error_type
    status = run.status.value
    last = str(last_row.metadata.get("event")) if last_row is not None else None
    if run.status is StepStatus.COMPLETED and run.cache_hit:
        status = "cached"
    elif run.status is StepStatus.RUNNING and last == "step.retrying":
        status = "retrying"
    elif run.status is StepStatus.PENDING and last_row is not None and last == "step.queued":
        status, view.note = "queued", str(last_row.metadata.get("reason") or last_row.message)
    view.status = status
    usage = (run.output or {}).get("usage") or {}
    view.tokens = int(usage.get("input_tokens", 0) or 0) + int(usage.get("output_tokens", 0) or 0)
    view.cost_usd = 0.0 if run.cache_hit else float((run.output or {}).get("cost_usd") or 0.0)
    return view


def timeline(events: list[ExecutionLog], end: datetime) -> list[Bar]:
    """Every attempt and wait of every step, on one clock (open spans end at ``end``)."""
    bars: list[Bar] = []
    open_attempt: dict[str, Bar] = {}
    open_wait: dict[str, Bar] = {}
    for row in events:
        kind = str(row.metadata.get("event") or "")
        step = row.step_id
        if not step or kind not in LIFECYCLE:
            continue
        meta, at = row.metadata, row.timestamp
        current = open_attempt.get(step)
        if kind == "step.started":
            _close(open_wait, step, at)
            bar = Bar(step, "attempt", at, None, "running", f"attempt {meta.get('attempt', 1)}")
            bars.append(bar)
            open_attempt[step] = bar
        elif kind == "step.retrying":
            if current is not None:
                current.end, current.outcome = at, "failed"
                open_attempt.pop(step)
            delay = float(meta.get("delay_seconds") or 0.0)
            wait = Bar(step, "retry-wait", at, None, "", f"retry in {delay:.1f}s")
            bars.append(wait)
            open_wait[step] = wait
        elif kind == "step.queued":
            wait = Bar(step, "slot-wait", at, None, "", "waiting for a slot")
            bars.append(wait)
            open_wait[step] = wait
        elif kind == "step.running":
            _close(open_wait, step, at)
        elif kind == "step.rate_limited":
            seconds = float(meta.get("wait_seconds") or 0.0)
            bars.append(Bar(step, "rate-wait", at, _plus(at, seconds), "", f"rate limit {seconds:.1f}s"))
        elif kind == "step.fallback":
            if current is not None:
                current.end, current.outcome = at, "fallback"
                open_attempt.pop(step)
        elif kind == "step.cache_hit":
            if current is not None:
                current.kind, current.label = "cache", "cache hit"
        elif kind in ("step.completed", "step.failed"):
            _close(open_wait, step, at)
            if current is not None:
                current.end = at
                current.outcome = "ok" if kind == "step.completed" else "failed"
                open_attempt.pop(step)
        elif kind == "step.waiting":
            wait = Bar(step, "approval", at, None, "", "waiting for approval")
            bars.append(wait)
            open_wait[step] = wait
        elif kind in ("step.approved", "step.rejected"):
            _close(open_wait, step, at)
        elif kind == "step.skipped":
            bars.append(Bar(step, "skipped", at, at, "", "skipped"))
    return bars


def _close(spans: dict[str, Bar], step: str, at: datetime) -> None:
    bar = spans.pop(step, None)
    if bar is not None:
        bar.end = at


def _plus(at: datetime, seconds: float) -> datetime:
    return at + timedelta(seconds=seconds)


# -- the step panel ------------------------------------------------------------------------------
@dataclass(slots=True)
class TranscriptLine:
    """One thing the agent said or did: a message, a tool call, a command and its output,
    a permission decision."""

    at: datetime
    kind: str
    text: str
    payload: dict[str, Any]


@dataclass(slots=True)
class FileDiff:
    """The unified diff of one file."""

    path: str
    text: str
    added: int
    removed: int


@dataclass(slots=True)
class StepDetail:
    """The step panel's data."""

    step_id: str
    run: StepRun | None
    definition: dict[str, Any] | None
    prompt: str
    attempts: list[Attempt]
    transcript: list[TranscriptLine]
    diffs: list[FileDiff]
    output_json: Any
    text: str
    model: str | None
    usage: dict[str, int]
    cost_usd: float
    files_changed: list[str]
    transcript_file: str | None


def build_step(store: SqlStore, record: ExecutionRecord, step_id: str, artifacts: Path) -> StepDetail:
    """The step panel for ``step_id`` of ``record``."""
    ctx = record.context
    runs = {r.step_id: r for r in store.list_steps(ctx.id)}
    run = runs.get(step_id)
    definition = next(
        (
            s
            for s in record.workflow_snapshot.get("steps", [])
            if isinstance(s, dict) and s.get("id") == step_id
        ),
        None,
    )
    rows = store.list_logs(ctx.id, step_id=step_id)
    attempts: list[Attempt] = []
    transcript: list[TranscriptLine] = []
    prompt = ""
    for row in rows:
        kind = str(row.metadata.get("event") or "")
        meta = row.metadata
        current = attempts[-1] if attempts else None
        if kind == "step.started":
            prompt = str(meta.get("prompt") or prompt)
            attempts.append(
                Attempt(
                    int(meta.get("attempt") or len(attempts) + 1),
                    str(meta.get("agent_id") or ""),
                    row.timestamp,
                )
            )
        elif kind == "agent.output":
            transcript.append(
                TranscriptLine(
                    row.timestamp,
                    str(meta.get("event_kind") or ""),
                    str(meta.get("text") or ""),
                    dict(meta.get("payload") or {}),
                )
            )
        elif kind == "agent.permission":
            detail = {k: v for k, v in meta.items() if k != "event"}
            transcript.append(
                TranscriptLine(
                    row.timestamp, f"permission {meta.get('decision', '')}".strip(), row.message, detail
                )
            )
        elif current is None:
            continue
        elif kind == "step.retrying":
            current.ended_at, current.outcome = row.timestamp, "failed"
            current.error = f"{meta.get('error_type')}: {meta.get('error')}"
            current.notes.append(f"retried after {float(meta.get('delay_seconds') or 0):.2f}s")
        elif kind == "step.fallback":
            current.ended_at, current.outcome = row.timestamp, "failed"
            current.error = str(meta.get("error") or "")
            current.notes.append(f"fell back to {meta.get('to_agent')}")
        elif kind in ("step.queued", "step.rate_limited"):
            current.notes.append(row.message)
        elif kind == "step.cache_hit":
            current.notes.append("answered from the cache")
        elif kind == "step.completed" and current.outcome == "running":
            current.ended_at, current.outcome = row.timestamp, "completed"
        elif kind == "step.failed" and current.outcome == "running":
            current.ended_at, current.outcome = row.timestamp, "failed"
            current.error = f"{meta.get('error_type')}: {meta.get('error')}"
    output = (run.output if run else None) or {}
    usage = {k: int(v) for k, v in (output.get("usage") or {}).items() if isinstance(v, int | float)}
    folder = artifacts / ctx.id
    diffs = step_diffs(folder, Path(ctx.workspace_dir), step_id)
    prompt = read_prompt(folder, step_id) or prompt
    transcript_file = _artifact_name(folder, output.get("transcript_path"))
    return StepDetail(
        step_id=step_id,
        run=run,
        definition=definition,
        prompt=prompt,
        attempts=attempts,
        transcript=transcript,
        diffs=diffs,
        output_json=output.get("json"),
        text=str(output.get("text") or ""),
        model=output.get("model"),
        usage=usage,
        cost_usd=float(output.get("cost_usd") or 0.0),
        files_changed=[str(f) for f in output.get("files_changed") or []],
        transcript_file=transcript_file,
    )


def _artifact_name(folder: Path, value: Any) -> str | None:
    """``value`` relative to the execution's artefacts folder, or None when it lies outside."""
    if not isinstance(value, str) or not value:
        return None
    try:
        path = Path(value).resolve()
        return str(path.relative_to(folder.resolve()))
    except (OSError, ValueError):
        return None


def step_diffs(folder: Path, workspace: Path, step_id: str) -> list[FileDiff]:
    """The unified diff of each file ``step_id`` changed, from the changes the engine kept."""
    out = []
    for change in changes.step_changes(folder, step_id):
        out.extend(split_diff(changes.unified_diff(folder, workspace, [change])))
    return out


def split_diff(text: str) -> list[FileDiff]:
    """A unified diff cut into one piece per file."""
    pieces: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("diff --git ") or not pieces:
            pieces.append([])
        pieces[-1].append(line)
    out = []
    for lines in pieces:
        path = _diff_path(lines)
        added = sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
        removed = sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
        if "GIT binary patch" in lines:
            head = lines[: lines.index("GIT binary patch")]
            lines, added, removed = [*head, "(binary file changed)"], 0, 0
        out.append(FileDiff(path, "\n".join(lines), added, removed))
    return out


def _diff_path(lines: list[str]) -> str:
    old = None
    for line in lines:
        if line.startswith("+++ ") and line[4:] != "/dev/null":
            return line[4:].removeprefix("b/")
        if line.startswith("--- ") and line[4:] != "/dev/null":
            old = line[4:].removeprefix("a/")
    if old is not None:
        return old
    head = lines[0] if lines else ""
    return head.split(" b/", 1)[-1] if head.startswith("diff --git ") else "(patch)"


def is_active(status: ExecutionStatus) -> bool:
    return not status.is_terminal


@dataclass(slots=True)
class QuotaUse:
    """Today's use of one daily quota (an agent's or a workflow's)."""

    kind: str  # agent | workflow
    key: str
    tokens: int
    cost_usd: float
    max_tokens: int | None
    max_cost_usd: float | None


def quota_use(
    store: SqlStore, config: QuotaConfig, agents: list[str], workflows: list[str], now: datetime
) -> list[QuotaUse]:
    """Each configured daily quota with what was used today (UTC); ``"*"`` applies to each one."""
    since = day_start(now)
    out: list[QuotaUse] = []
    for kind, quotas, known in (("agent", config.agents, agents), ("workflow", config.workflows, workflows)):
        if not quotas:
            continue
        totals = {t.group: t for t in store.usage_totals(by=kind, since=since)}
        keys = sorted(set(known) | set(totals)) if "*" in quotas else sorted(k for k in quotas if k != "*")
        for key in keys:
            quota = quotas.get(key) or quotas.get("*")
            if quota is None:
                continue
            total = totals.get(key)
            out.append(
                QuotaUse(
                    kind,
                    key,
                    tokens=(total.input_tokens + total.output_tokens) if total else 0,
                    cost_usd=total.cost_usd if total else 0.0,
                    max_tokens=quota.max_tokens_per_day,
                    max_cost_usd=quota.max_cost_usd_per_day,
                )
            )
    return out
