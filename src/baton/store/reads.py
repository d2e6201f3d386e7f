"""The reads of executions, step runs and log rows: one statement set in plain SQL.

:class:`baton.store.sql.SqlStore` runs these statements on its SQLAlchemy connection (SQLite or
PostgreSQL) and turns the rows into models; ``baton status``, ``history`` and ``logs`` run the
very same statements through the ``sqlite3`` module on a SQLite store at
:data:`HEAD_REVISION` (:mod:`baton.store.sqlite_reader`), without importing SQLAlchemy or
pydantic. Rows come back as dicts of decoded values: timestamps aware (UTC), JSON documents
parsed, flags as bools, statuses and levels as their text.

This module imports only the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

# The newest revision in migrations/versions: the schema these statements are written for
# (tests/store/test_migrations.py checks it).
HEAD_REVISION = "0006"

# an execution's context: every column but its workflow snapshot (large, decoded for nothing)
CONTEXT_COLUMNS = (
    "id", "workflow_id", "workspace_dir", "parameters", "environment", "shared_config", "start_time",
    "end_time", "status", "trace_id", "error", "config_hash", "config_version", "trigger",
)
RECORD_COLUMNS = (
    *CONTEXT_COLUMNS, "workflow_snapshot", "log_bytes", "log_truncated", "owner", "heartbeat_at",
    "owner_host", "owner_pid", "owner_start",
)
STEP_READ_COLUMNS = (
    "execution_id", "step_id", "status", "agent_id", "attempt", "iteration", "started_at", "ended_at",
    "output", "error", "error_type", "cache_hit",
)
LOG_READ_COLUMNS = ("id", "execution_id", "step_id", "level", "message", "timestamp", "metadata", "trace_id",
                    "seq")
_TIMES = frozenset({"start_time", "end_time", "heartbeat_at", "started_at", "ended_at", "timestamp"})
_JSON = frozenset({"parameters", "environment", "shared_config", "workflow_snapshot", "output", "metadata"})
_FLAGS = frozenset({"log_truncated", "cache_hit"})

Execute = Callable[[str, tuple[Any, ...]], Sequence[Sequence[Any]]]
"""Runs one statement with positional parameters and returns its rows."""


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (a naive value is taken to be UTC already)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def stored_time(value: Any) -> datetime | None:
    """A timestamp as the driver returns it (SQLite: ISO text; PostgreSQL: a datetime), aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return utc(value)


def _decode(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _TIMES:
        return stored_time(value)
    if name in _JSON:
        return json.loads(value) if isinstance(value, str | bytes) else value
    if name in _FLAGS:
        return bool(value)
    return value


def _select(columns: Sequence[str], table: str) -> str:
    quoted = ", ".join('"' + c + '"' for c in columns)  # "trigger", "timestamp": keywords on PostgreSQL
    return f"SELECT {quoted} FROM {table}"


class Reads:
    """The read statements for one placeholder style (``?`` for sqlite3, ``%s`` for psycopg),
    run through ``execute``."""

    def __init__(self, execute: Execute, *, postgres: bool) -> None:
        self._execute = execute
        p = "%s" if postgres else "?"
        self._p = p
        self.sql_record = f"{_select(RECORD_COLUMNS, 'executions')} WHERE id = {p}"
        self.sql_context = f"{_select(CONTEXT_COLUMNS, 'executions')} WHERE id = {p}"
        self.sql_start = f"SELECT start_time FROM executions WHERE id = {p}"
        self.sql_match = f"SELECT id FROM executions WHERE id LIKE {p} ESCAPE '/' ORDER BY id LIMIT {p}"
        self.sql_steps = (f"{_select(STEP_READ_COLUMNS, 'step_runs')} WHERE execution_id = {p} "
                          "ORDER BY created_at, step_id")
        self.sql_running = (f"{_select(RECORD_COLUMNS, 'executions')} "
                            f"WHERE status = 'running' AND owner_host = {p}")

    def _rows(self, sql: str, params: tuple[Any, ...], columns: Sequence[str]) -> list[dict[str, Any]]:
        return [{c: _decode(c, v) for c, v in zip(columns, row, strict=True)}
                for row in self._execute(sql, params)]

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        """The execution's row (context, workflow snapshot, log and owner columns)."""
        rows = self._rows(self.sql_record, (execution_id,), RECORD_COLUMNS)
        return rows[0] if rows else None

    def context(self, execution_id: str) -> dict[str, Any] | None:
        """The execution's context columns."""
        rows = self._rows(self.sql_context, (execution_id,), CONTEXT_COLUMNS)
        return rows[0] if rows else None

    def executions(
        self, *, status: str | None = None, workflow_id: str | None = None, limit: int = 50,
        before: str | None = None,
    ) -> list[dict[str, Any]] | None:
        """Contexts newest first; ``before`` is the id of the last one of the previous page
        (None when there is no such execution)."""
        p = self._p
        where: list[str] = []
        params: list[Any] = []
        if status is not None:
            where.append(f"status = {p}")
            params.append(status)
        if workflow_id is not None:
            where.append(f"workflow_id = {p}")
            params.append(workflow_id)
        if before is not None:
            found = self._execute(self.sql_start, (before,))
            if not found:
                return None
            where.append(f"(start_time < {p} OR (start_time = {p} AND id < {p}))")
            params.extend((found[0][0], found[0][0], before))
        sql = _select(CONTEXT_COLUMNS, "executions")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY start_time DESC, id DESC LIMIT {p}"
        return self._rows(sql, (*params, limit), CONTEXT_COLUMNS)

    def match_ids(self, prefix: str, limit: int) -> list[str]:
        """Ids that start with ``prefix`` (at most ``limit``), in order."""
        pattern = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        return [str(row[0]) for row in self._execute(self.sql_match, (pattern, limit))]

    def steps(self, execution_id: str) -> list[dict[str, Any]]:
        """The execution's step runs in the order they were first saved."""
        return self._rows(self.sql_steps, (execution_id,), STEP_READ_COLUMNS)

    def logs(
        self, execution_id: str, *, step_id: str | None = None, levels: Sequence[str] | None = None,
        after_seq: int | None = None, limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Log rows in ``seq`` order; ``levels``: only these; ``after_seq``: a cursor."""
        p = self._p
        sql = f"{_select(LOG_READ_COLUMNS, 'execution_logs')} WHERE execution_id = {p}"
        params: list[Any] = [execution_id]
        if step_id is not None:
            sql += f" AND step_id = {p}"
            params.append(step_id)
        if levels is not None:
            sql += f" AND level IN ({', '.join(p for _ in levels)})"
            params.extend(levels)
        if after_seq is not None:
            sql += f" AND seq > {p}"
            params.append(after_seq)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {p}"
            params.append(limit)
        return self._rows(sql, tuple(params), LOG_READ_COLUMNS)

    def running_on(self, host: str) -> list[dict[str, Any]]:
        """Rows of the RUNNING executions whose owner process is on ``host``."""
        return self._rows(self.sql_running, (host,), RECORD_COLUMNS)
