"""The hot path: a step transition and its log rows, written in one transaction.

The engine calls this once per step transition and for every flushed batch of agent
output, so it skips SQLAlchemy's per-statement machinery and runs four plain SQL statements
on the pooled DB-API connection (the same SQL on SQLite and PostgreSQL, bar placeholders,
the JSONB cast and the row lock). Everything else in the store uses SQLAlchemy Core.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

from baton.models import ExecutionLog, ExecutionStatus, StepRun, execution_transition
from baton.store.base import ExecutionState, UsageRecord
from baton.store.errors import IntegrityViolation, StoreUnavailable, first_line
from baton.store.logcap import LOG_COLUMNS, LogState, admit
from baton.store.types import clean_text, dumps, sqlite_text, utc

STEP_COLUMNS = (
    "execution_id",
    "step_id",
    "status",
    "agent_id",
    "attempt",
    "iteration",
    "started_at",
    "ended_at",
    "output",
    "error",
    "error_type",
    "cache_hit",
    "created_at",
    "updated_at",
)
USAGE_COLUMNS = (
    "execution_id",
    "step_id",
    "agent_id",
    "model",
    "workflow_id",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "at",
)
_STEP_KEEP = {"execution_id", "step_id", "created_at"}  # not overwritten by a later save



# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back and
# may simply be run again (another transaction locked the same executions in another order).
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
_DEADLOCK_RETRIES = 3


class _Deadlock(Exception):
    """A write transaction the database rolled back to break a deadlock; it can be run again."""


class StepLogWriter:
    """Writes step runs and log rows (numbered, clamped and capped by :mod:`logcap`)."""

    def __init__(
        self,
        engine: Engine,
        max_log_bytes: int,
        *,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.max_log_bytes = max_log_bytes
        self._on_commit = on_commit
        self._dedicated = engine.dialect.name == "sqlite"
        self._dedicated_lock = threading.Lock()
        self._dedicated_fairy: PoolProxiedConnection | None = None
        self._dbapi: Any = engine.dialect.loaded_dbapi
        self.integrity_error: type[Exception] = self._dbapi.IntegrityError
        postgres = engine.dialect.name == "postgresql"
        p = "%s" if postgres else "?"
        as_json = f"{p}::jsonb" if postgres else p
        self._begin = None if postgres else "BEGIN IMMEDIATE"
        self.placeholder = p
        self.time: Callable[[datetime], Any] = utc if postgres else sqlite_text

        self.sql_state = (
            "SELECT last_seq, last_log_at, log_bytes, log_truncated, log_dropped "
            f"FROM executions WHERE id = {p}" + (" FOR UPDATE" if postgres else "")
        )
        step_values = ", ".join(as_json if c == "output" else p for c in STEP_COLUMNS)
        step_set = ", ".join(f"{c} = excluded.{c}" for c in STEP_COLUMNS if c not in _STEP_KEEP)
        self.sql_step = (
            f"INSERT INTO step_runs ({', '.join(STEP_COLUMNS)}) VALUES ({step_values}) "
            f"ON CONFLICT (execution_id, step_id) DO UPDATE SET {step_set}"
        )
        log_values = ", ".join(as_json if c == "metadata" else p for c in LOG_COLUMNS)
        self.sql_log = f"INSERT INTO execution_logs ({', '.join(LOG_COLUMNS)}) VALUES ({log_values})"
        self.sql_status_read = f"SELECT status, start_time, error FROM executions WHERE id = {p}"
        self.sql_status = (
            f"UPDATE executions SET status = {p}, end_time = {p}, error = COALESCE({p}, error), "
            f"updated_at = {p} WHERE id = {p} AND status = {p}"
        )
        self.sql_usage = (
            f"INSERT INTO usage ({', '.join(USAGE_COLUMNS)}) "
            f"VALUES ({', '.join(p for _ in USAGE_COLUMNS)})"
        )
        self.sql_state_update = (
            f"UPDATE executions SET last_seq = {p}, last_log_at = {p}, log_bytes = {p}, "
            f"log_truncated = {p}, log_dropped = {p} WHERE id = {p}"
        )

    def write(
        self,
        runs: Sequence[StepRun],
        groups: dict[str, list[ExecutionLog]],
        now: datetime,
        *,
        what: str,
        usages: Sequence[UsageRecord] = (),
        finish: tuple[str, ExecutionStatus, str | None] | None = None,
    ) -> ExecutionState | None:
        """Upsert ``runs`` (in order), record ``usages``, move an execution to a terminal
        status (``finish`` = execution id, status, error) and append ``groups`` (logs by
        execution id), all in one transaction; the finished execution's stored state.

        Every execution in ``groups`` is locked first, in id order, and must exist.
        """
        with self._connection() as fairy:
            for attempt in range(_DEADLOCK_RETRIES + 1):
                try:
                    ended = self._write_on(fairy, runs, groups, now, what, usages, finish)
                    break
                except _Deadlock as exc:
                    if attempt == _DEADLOCK_RETRIES:
                        raise StoreUnavailable(f"database error while saving {what}: {exc}") from None
        if self._on_commit is not None:
            self._on_commit()
        return ended

    @contextmanager
    def transaction(self, what: str) -> Iterator[Any]:
        """A DB-API cursor in a write transaction of its own (``BEGIN IMMEDIATE`` on SQLite),
        committed when the block ends; ``placeholder`` and ``time`` shape its statements."""
        with self._connection() as fairy:
            db: Any = fairy.driver_connection
            try:
                cursor = db.cursor()
                try:
                    if self._begin is not None:
                        cursor.execute(self._begin)
                    yield cursor
                    db.commit()
                except BaseException:
                    db.rollback()
                    raise
                finally:
                    cursor.close()
            except (self._dbapi.OperationalError, self._dbapi.InterfaceError) as exc:
                self._lost(fairy)
                raise StoreUnavailable(f"database error while saving {what}: {first_line(exc)}") from None
        if self._on_commit is not None:
            self._on_commit()

    def query(self, sql: str, params: Sequence[Any], what: str) -> list[tuple[Any, ...]]:
        """The rows of one read statement, outside any write transaction."""
        with self._connection() as fairy:
            db: Any = fairy.driver_connection
            try:
                cursor = db.cursor()
                try:
                    cursor.execute(sql, params)
                    rows: list[tuple[Any, ...]] = cursor.fetchall()
                finally:
                    cursor.close()
                    db.rollback()  # PostgreSQL opened a transaction for the read
            except (self._dbapi.OperationalError, self._dbapi.InterfaceError) as exc:
                self._lost(fairy)
                raise StoreUnavailable(f"database error while reading {what}: {first_line(exc)}") from None
        return rows

    @contextmanager
    def _connection(self) -> Iterator[PoolProxiedConnection]:
        """SQLite writes are serialized by the database anyway, so on SQLite one connection
        is kept for them instead of a pool round trip per call; PostgreSQL takes one from
        the pool (with its pre-ping) every time."""
        if self._dedicated:
            with self._dedicated_lock:
                if self._dedicated_fairy is None:
                    self._dedicated_fairy = self.engine.raw_connection()
                yield self._dedicated_fairy
        else:
            fairy = self.engine.raw_connection()
            try:
                yield fairy
            finally:
                fairy.close()

    def _lost(self, fairy: PoolProxiedConnection) -> None:
        fairy.invalidate()
        if fairy is self._dedicated_fairy:
            self._dedicated_fairy = None
            fairy.close()

    def _write_on(
        self,
        fairy: PoolProxiedConnection,
        runs: Sequence[StepRun],
        groups: dict[str, list[ExecutionLog]],
        now: datetime,
        what: str,
        usages: Sequence[UsageRecord] = (),
        finish: tuple[str, ExecutionStatus, str | None] | None = None,
    ) -> ExecutionState | None:
        db: Any = fairy.driver_connection
        ended = None
        try:
            cursor = db.cursor()
            try:
                if self._begin is not None:
                    cursor.execute(self._begin)
                states = self._lock_states(cursor, groups, what)
                if runs:
                    cursor.executemany(self.sql_step, [self._step_params(run, now) for run in runs])
                if usages:
                    cursor.executemany(self.sql_usage, [self._usage_params(u, now) for u in usages])
                if finish is not None:
                    ended = self._finish(cursor, finish, now)
                rows = self._admit_all(cursor, groups, states)
                if rows:
                    cursor.executemany(self.sql_log, rows)
                db.commit()
            except BaseException:
                db.rollback()
                raise
            finally:
                cursor.close()
        except self._dbapi.IntegrityError as exc:
            raise IntegrityViolation(
                f"{what} could not be stored: {first_line(exc)} (a log row id saved twice?)"
            ) from None
        except (self._dbapi.OperationalError, self._dbapi.InterfaceError) as exc:
            if getattr(exc, "sqlstate", None) in _TRANSIENT_SQLSTATES:  # rolled back, connection fine
                raise _Deadlock(first_line(exc)) from None
            self._lost(fairy)
            raise StoreUnavailable(f"database error while saving {what}: {first_line(exc)}") from None
        return ended

    def _finish(self, cursor: Any, finish: tuple[str, ExecutionStatus, str | None],
                now: datetime) -> ExecutionState:
        """The state-machine checked move to a terminal status, on the locked row."""
        execution_id, status, error = finish
        cursor.execute(self.sql_status_read, (execution_id,))
        row = cursor.fetchone()
        if row is None:
            raise IntegrityViolation(f"execution {execution_id!r} does not exist")
        current = ExecutionStatus(row[0])
        execution_transition(current, status)
        started = row[1]
        if isinstance(started, str):
            started = datetime.fromisoformat(started).replace(tzinfo=UTC)
        end = max(utc(now), utc(started)) if started is not None else utc(now)
        stored_error = row[2] if error is None else clean_text(error)
        cursor.execute(self.sql_status, (
            status.value, self.time(end), stored_error, self.time(now), execution_id, current.value,
        ))
        if cursor.rowcount != 1:
            raise IntegrityViolation(f"execution {execution_id!r} changed status concurrently")
        return ExecutionState(status, stored_error, end)

    def _usage_params(self, u: UsageRecord, now: datetime) -> tuple[Any, ...]:
        return (
            u.execution_id, u.step_id, u.agent_id, clean_text(u.model), u.workflow_id,
            u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens,
            float(u.cost_usd), self.time(utc(u.at) if u.at else now),
        )

    def close(self) -> None:
        """Return the dedicated connection (if any) to the pool."""
        with self._dedicated_lock:
            if self._dedicated_fairy is not None:
                self._dedicated_fairy.close()
                self._dedicated_fairy = None

    def _admit_all(
        self, cursor: Any, groups: dict[str, list[ExecutionLog]], states: dict[str, LogState]
    ) -> list[tuple[Any, ...]]:
        """Rows to insert (timestamps converted for the driver); updates the bookkeeping."""
        convert = self.time
        rows: list[tuple[Any, ...]] = []
        for execution_id, logs in groups.items():
            if not logs:
                continue
            state = states[execution_id]
            last_text = None
            for log in logs:
                for r in admit(state, log, self.max_log_bytes):
                    last_text = convert(r[6])
                    rows.append((*r[:6], last_text, *r[7:]))
            cursor.execute(
                self.sql_state_update,
                (
                    state.last_seq,
                    last_text if last_text is not None else _maybe(convert, state.last_at),
                    state.log_bytes,
                    state.truncated,
                    state.dropped,
                    execution_id,
                ),
            )
        return rows

    def _lock_states(
        self, cursor: Any, groups: dict[str, list[ExecutionLog]], what: str
    ) -> dict[str, LogState]:
        states: dict[str, LogState] = {}
        for execution_id in sorted(groups):  # one lock order, so two writers cannot deadlock
            cursor.execute(self.sql_state, (execution_id,))
            row = cursor.fetchone()
            if row is None:
                raise IntegrityViolation(f"{what} refers to execution {execution_id!r}, which does not exist")
            last_seq, last_at, log_bytes, truncated, dropped = row
            if isinstance(last_at, str):
                last_at = datetime.fromisoformat(last_at).replace(tzinfo=UTC)
            elif last_at is not None:
                last_at = utc(last_at)
            states[execution_id] = LogState(last_seq, last_at, log_bytes, bool(truncated), dropped)
        return states

    def _step_params(self, run: StepRun, now: datetime) -> tuple[Any, ...]:
        convert = self.time
        stamp = convert(now)
        return (
            run.execution_id,
            run.step_id,
            run.status.value,
            run.agent_id,
            run.attempt,
            run.iteration,
            None if run.started_at is None else convert(run.started_at),
            None if run.ended_at is None else convert(run.ended_at),
            None if run.output is None else dumps(run.output),
            None if run.error is None else clean_text(run.error),
            run.error_type,
            run.cache_hit,
            stamp,
            stamp,
        )


def _maybe(convert: Callable[[datetime], Any], value: datetime | None) -> Any:
    return None if value is None else convert(value)
