"""Executions submitted through the API: the ``service_executions`` row beside each one.

The row is written *before* the execution (as a reservation): its unique
``(idempotency_scope, idempotency_key)`` makes a repeated key lose the race at the
database, so one key never starts a second execution. A reservation whose execution was
never created (the submit failed) is removed, or, after a crash, reclaimed by the next
request with that key.

Exception tree::

    BatonError
    └── IdempotencyContended    the same key is still being submitted by another request
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from baton.errors import BatonError
from baton.store.engine import WRITE_OPTION
from baton.store.schema import executions, service_executions


class IdempotencyContended(BatonError):
    """Another request with the same idempotency key is still being submitted."""


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


# a reservation whose execution is still missing after this long is from a crashed submit
ORPHAN_SECONDS = 60.0
# how long a request waits for another one with the same key to finish creating the execution
WAIT_SECONDS = 10.0
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

        While the holder's execution is being created (another request with the same key,
        a moment ahead), this waits for it. A reservation older than
        :data:`ORPHAN_SECONDS` whose execution never appeared (its submit crashed half-way)
        is taken over by ``sub``.
        """
        values = _values(sub, scope)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                with self._writer.begin() as conn:
                    conn.execute(_INSERT, values)
                return None
            except IntegrityError:
                pass
            holder = self.by_key(scope, sub.idempotency_key)
            if holder is None:
                continue  # released meanwhile (its submit failed): try again
            if self._execution_exists(holder.execution_id):
                return holder
            if (self._clock() - holder.created_at).total_seconds() > ORPHAN_SECONDS:
                with self._writer.begin() as conn:
                    conn.execute(
                        delete(service_executions).where(
                            service_executions.c.execution_id == holder.execution_id,
                            service_executions.c.created_at == holder.created_at,
                        )
                    )
                continue
            time.sleep(0.02)  # the holder's submit is in progress
        raise IdempotencyContended(f"idempotency key {sub.idempotency_key!r} is busy; retry the request")

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
