"""Worker liveness in the ``workers`` table: who runs, who is dead, who recovers whom.

Every worker process has one row, keyed by its executor id (the same id DBOS records on
the workflows it dequeues and Baton records as the owner of the executions it runs). It
refreshes ``heartbeat_at`` every ``heartbeat_seconds``. Any other worker that finds a row
``alive`` (or ``draining``) with a heartbeat older than ``dead_after_seconds``, or
``stopped`` (a worker that exited on purpose), marks it ``dead`` in one conditional UPDATE:
of several workers that notice at once exactly one wins, and only the winner asks DBOS to
recover the dead executor's workflows.

A worker that finds its own row ``dead`` was presumed dead while it still ran (a long
pause, a partition): another worker has taken its executions over, so it must stop at
once without touching them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, Row, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from baton.store.engine import WRITE_OPTION
from baton.store.schema import workers

ALIVE, DRAINING, STOPPED, DEAD = "alive", "draining", "stopped", "dead"


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """A worker process as recorded."""

    id: str
    queue: str
    host: str
    pid: int
    concurrency: int
    status: str
    started_at: datetime
    heartbeat_at: datetime
    recovered_by: str | None
    recovered_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


class WorkerRegistry:
    """Registers workers, records their heartbeats and finds (and claims) the dead ones."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock
        self._dialect = engine.dialect.name

    def register(self, worker_id: str, *, queue: str, host: str, pid: int, concurrency: int) -> None:
        """Insert or revive this worker's row as ``alive``."""
        now = self._clock()
        values = {
            "id": worker_id,
            "queue": queue,
            "host": host,
            "pid": pid,
            "concurrency": concurrency,
            "status": ALIVE,
            "started_at": now,
            "heartbeat_at": now,
            "recovered_by": None,
            "recovered_at": None,
        }
        insert = (
            postgresql.insert(workers) if self._dialect == "postgresql" else sqlite.insert(workers)
        ).values(**values)
        stmt = insert.on_conflict_do_update(
            index_elements=[workers.c.id], set_={k: insert.excluded[k] for k in values if k != "id"}
        )
        with self._writer.begin() as conn:
            conn.execute(stmt)

    def beat(self, worker_id: str) -> bool:
        """Refresh the heartbeat; False if this worker has been declared dead."""
        c = workers.c
        with self._writer.begin() as conn:
            changed = conn.execute(
                update(workers)
                .where(c.id == worker_id, c.status.in_((ALIVE, DRAINING)))
                .values(heartbeat_at=self._clock())
            ).rowcount
        return bool(changed)

    def set_status(self, worker_id: str, status: str) -> None:
        c = workers.c
        with self._writer.begin() as conn:
            conn.execute(
                update(workers)
                .where(c.id == worker_id, c.status != DEAD)
                .values(status=status, heartbeat_at=self._clock())
            )

    def claim_dead(self, me: str, dead_after: timedelta) -> list[str]:
        """Mark every silent or stopped worker (other than ``me``) dead; return the ids this
        call won, whose workflows ``me`` must now recover."""
        now = self._clock()
        stale = now - dead_after
        c = workers.c
        silent = or_(c.status == STOPPED, (c.status.in_((ALIVE, DRAINING))) & (c.heartbeat_at < stale))
        with self.engine.connect() as conn:
            candidates = [row.id for row in conn.execute(select(c.id).where(silent, c.id != me))]
        won: list[str] = []
        for worker_id in candidates:
            with self._writer.begin() as conn:
                changed = conn.execute(
                    update(workers)
                    .where(c.id == worker_id, silent)
                    .values(status=DEAD, recovered_by=me, recovered_at=now)
                ).rowcount
            if changed:
                won.append(worker_id)
        return won

    def list(self) -> list[WorkerRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(workers).order_by(workers.c.started_at)).all()
        return [_row(r) for r in rows]

    def get(self, worker_id: str) -> WorkerRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(workers).where(workers.c.id == worker_id)).first()
        return None if row is None else _row(row)


def _row(r: Row[object]) -> WorkerRow:
    return WorkerRow(
        id=r.id,
        queue=r.queue,
        host=r.host,
        pid=r.pid,
        concurrency=r.concurrency,
        status=r.status,
        started_at=r.started_at,
        heartbeat_at=r.heartbeat_at,
        recovered_by=r.recovered_by,
        recovered_at=r.recovered_at,
    )
