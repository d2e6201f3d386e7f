"""Read-only queries the dashboard needs beyond the Store interface: the runs list with
its filters and per-row totals, in a fixed number of statements per page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select

from baton.models import ExecutionStatus, StepStatus, Trigger
from baton.store.schema import executions, step_runs, usage

PAGE_SIZE = 50
_DONE = (StepStatus.COMPLETED.value, StepStatus.SKIPPED.value)


@dataclass(frozen=True, slots=True)
class RunFilter:
    """What the runs list shows: status, workflow, start-time range and free text."""

    status: ExecutionStatus | None = None
    workflow_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def query_string(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.status:
            out["status"] = self.status.value
        if self.workflow_id:
            out["workflow"] = self.workflow_id
        if self.since:
            out["since"] = self.since.date().isoformat()
        if self.until:
            out["until"] = self.until.date().isoformat()
        if self.text:
            out["q"] = self.text
        return out


@dataclass(slots=True)
class RunRow:
    """One line of the runs list."""

    id: str
    workflow_id: str
    status: str
    start_time: datetime
    end_time: datetime | None
    error: str | None
    trigger: str
    steps_done: int = 0
    steps_total: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    waiting: bool = False  # a step waits for a human

    @property
    def duration_seconds(self) -> float | None:
        if self.end_time is None:
            return None
        return max(0.0, (self.end_time - self.start_time).total_seconds())

    @property
    def terminal(self) -> bool:
        return ExecutionStatus(self.status).is_terminal


@dataclass(slots=True)
class RunPage:
    """A page of runs and the cursor of the next one (the last row's id), if any."""

    rows: list[RunRow]
    next_cursor: str | None


class InvalidCursor(ValueError):
    """The cursor names no execution."""


def list_runs(engine: Engine, flt: RunFilter, *, cursor: str | None, limit: int = PAGE_SIZE) -> RunPage:
    """Newest first, ``limit`` rows after ``cursor`` (an execution id), with their totals."""
    e = executions.c
    steps_total = _steps_total(engine)
    query = select(
        e.id, e.workflow_id, e.status, e.start_time, e.end_time, e.error, e.trigger, steps_total
    ).order_by(e.start_time.desc(), e.id.desc())
    conditions: list[Any] = []
    if flt.status is not None:
        conditions.append(e.status == flt.status.value)
    if flt.workflow_id:
        conditions.append(e.workflow_id == flt.workflow_id)
    if flt.since is not None:
        conditions.append(e.start_time >= flt.since)
    if flt.until is not None:
        conditions.append(e.start_time < flt.until)
    if flt.text:
        like = f"%{_escape_like(flt.text)}%"
        conditions.append(
            or_(
                e.id.like(like, escape="\\"),
                e.workflow_id.like(like, escape="\\"),
                e.error.like(like, escape="\\"),
            )
        )
    with engine.connect() as conn:
        if cursor is not None:
            start = conn.execute(select(e.start_time).where(e.id == cursor)).scalar()
            if start is None:
                raise InvalidCursor(cursor)
            conditions.append(or_(e.start_time < start, and_(e.start_time == start, e.id < cursor)))
        if conditions:
            query = query.where(and_(*conditions))
        found = conn.execute(query.limit(limit + 1)).all()
        more = len(found) > limit
        found = found[:limit]
        ids = [r.id for r in found]
        done, waiting = _step_counts(conn, ids)
        spent = _usage(conn, ids)
    rows = []
    for r in found:
        tokens, cost = spent.get(r.id, (0, 0.0))
        rows.append(
            RunRow(
                id=r.id,
                workflow_id=r.workflow_id,
                status=r.status,
                start_time=r.start_time,
                end_time=r.end_time,
                error=r.error,
                trigger=trigger_of(r.trigger),
                steps_done=done.get(r.id, 0),
                steps_total=int(r.steps_total or 0),
                waiting=r.id in waiting,
                tokens=tokens,
                cost_usd=cost,
            )
        )
    return RunPage(rows, rows[-1].id if more and rows else None)


def trigger_of(value: str | None) -> str:
    """How an execution was started (CLI, API, MCP, Action, ...; "—" when not recorded)."""
    try:
        return Trigger(value).label if value else "—"
    except ValueError:
        return value or "—"


def workflow_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                select(executions.c.workflow_id).distinct().order_by(executions.c.workflow_id)
            )
        ]


def _steps_total(engine: Engine) -> Any:
    snapshot = executions.c.workflow_snapshot
    if engine.dialect.name == "postgresql":
        return func.jsonb_array_length(snapshot["steps"]).label("steps_total")
    return func.json_array_length(snapshot, "$.steps").label("steps_total")


def _step_counts(conn: Any, ids: list[str]) -> tuple[dict[str, int], set[str]]:
    """Per execution: how many steps are done, and which have a step waiting for approval."""
    if not ids:
        return {}, set()
    s = step_runs.c
    query = (
        select(s.execution_id, s.status, func.count())
        .where(s.execution_id.in_(ids), s.status.in_((*_DONE, StepStatus.WAITING.value)))
        .group_by(s.execution_id, s.status)
    )
    done: dict[str, int] = {}
    waiting: set[str] = set()
    for execution_id, status, count in conn.execute(query):
        if status == StepStatus.WAITING.value:
            waiting.add(execution_id)
        else:
            done[execution_id] = done.get(execution_id, 0) + int(count)
    return done, waiting


def _usage(conn: Any, ids: list[str]) -> dict[str, tuple[int, float]]:
    if not ids:
        return {}
    u = usage.c
    query = (
        select(u.execution_id, func.sum(u.input_tokens + u.output_tokens), func.sum(u.cost_usd))
        .where(u.execution_id.in_(ids))
        .group_by(u.execution_id)
    )
    return {r[0]: (int(r[1] or 0), float(r[2] or 0.0)) for r in conn.execute(query)}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
