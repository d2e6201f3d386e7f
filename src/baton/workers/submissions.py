"""Executions submitted through the API: the ``service_executions`` row beside each one.

The row is written *before* the execution (as a reservation): its unique
``(idempotency_scope, idempotency_key)`` makes a repeated key lose the race at the
database, so one key never starts a second execution. A reservation whose execution was
never created (the submit failed) is removed, or, after a crash, reclaimed by the next
request with that key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from baton.store.engine import WRITE_OPTION
from baton.store.schema import executions, service_executions


@dataclass(frozen=True, slots=True)
class Submission:
    """How an execution was submitted, and the limits the worker applies to it."""

    execution_id: str
    submitted_by: str
    idempotency_key: str | None
    request_hash: str
    queue: str
    priority: int
    timeout_seconds: int | None
    repo: str | None
    ref: str | None
    first_started_at: datetime | None
    created_at: datetime


_INSERT = insert(service_executions)  # parameters bound per call: compiled once, cached


def _now() -> datetime:
    return datetime.now(UTC)


class SubmissionStore:
    """Reads and writes ``service_executions``."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock

    def reserve(self, sub: Submission, scope: str | None) -> Submission | None:
        """Insert ``sub``; None if it went in, else the submission that holds its key.

        A held key whose execution does not exist (a submit that crashed half-way) is
        taken over by ``sub``.
        """
        values = _values(sub, scope)
        for _ in range(3):
            try:
                with self._writer.begin() as conn:
                    conn.execute(_INSERT, values)
                return None
            except IntegrityError:
                pass
            holder = self.by_key(scope, sub.idempotency_key)
            if holder is None:
                continue  # released meanwhile: try again
            if self._execution_exists(holder.execution_id):
                return holder
            with self._writer.begin() as conn:  # an orphaned reservation: drop it and retry
                conn.execute(
                    delete(service_executions).where(service_executions.c.execution_id == holder.execution_id)
                )
        raise RuntimeError(f"idempotency key {sub.idempotency_key!r} is contended; retry")

    def release(self, execution_id: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(delete(service_executions).where(service_executions.c.execution_id == execution_id))

    def get(self, execution_id: str) -> Submission | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(service_executions).where(service_executions.c.execution_id == execution_id)
            ).first()
        return None if row is None else _submission(row)

    def by_key(self, scope: str | None, key: str | None) -> Submission | None:
        if key is None:
            return None
        c = service_executions.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(service_executions).where(c.idempotency_scope == scope, c.idempotency_key == key)
            ).first()
        return None if row is None else _submission(row)

    def mark_started(self, execution_id: str) -> datetime | None:
        """Record when a worker first started the execution; returns that time (None: not an
        API submission)."""
        c = service_executions.c
        with self._writer.begin() as conn:
            conn.execute(
                update(service_executions)
                .where(c.execution_id == execution_id, c.first_started_at.is_(None))
                .values(first_started_at=self._clock())
            )
            value: datetime | None = conn.execute(
                select(c.first_started_at).where(c.execution_id == execution_id)
            ).scalar()
        return value

    def _execution_exists(self, execution_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(select(executions.c.id).where(executions.c.id == execution_id)).first()
                is not None
            )


def _values(sub: Submission, scope: str | None) -> dict[str, Any]:
    return {
        "execution_id": sub.execution_id,
        "submitted_by": sub.submitted_by,
        "idempotency_scope": scope if sub.idempotency_key is not None else None,
        "idempotency_key": sub.idempotency_key,
        "request_hash": sub.request_hash,
        "queue": sub.queue,
        "priority": sub.priority,
        "timeout_seconds": sub.timeout_seconds,
        "repo": sub.repo,
        "ref": sub.ref,
        "first_started_at": None,
        "created_at": sub.created_at,
    }


def _submission(r: Row[Any]) -> Submission:
    return Submission(
        execution_id=r.execution_id,
        submitted_by=r.submitted_by,
        idempotency_key=r.idempotency_key,
        request_hash=r.request_hash,
        queue=r.queue,
        priority=r.priority,
        timeout_seconds=r.timeout_seconds,
        repo=r.repo,
        ref=r.ref,
        first_started_at=r.first_started_at,
        created_at=r.created_at,
    )
