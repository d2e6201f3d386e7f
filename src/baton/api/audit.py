"""The API audit trail: one ``api_audit`` row for every write request a known token made.

Routes add what they acted on (``request.state.audit_target``) and a few facts
(``request.state.audit_detail``); :class:`baton.api.middleware.ServiceMiddleware` queues
the row as the response starts (its status known), whatever the outcome (a 403 too). One
writer thread commits the queued rows, all the rows queued while it committed the previous
ones in one transaction, so the trail costs a request no thread hop and no commit of its own.
A row is committed right after its response goes out; reading the trail (:meth:`AuditLog.recent`)
and closing the log wait for every row queued before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from baton.store.engine import WRITE_OPTION
from baton.store.schema import api_audit


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audited write request."""

    id: int
    at: datetime
    actor: str
    role: str | None
    method: str
    path: str
    status_code: int
    target: str | None
    request_id: str
    client: str | None
    detail: dict[str, Any]


_INSERT = insert(api_audit)  # parameters bound per call: compiled once, cached
log = logging.getLogger("baton.api")


def _now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """Writes and reads ``api_audit`` rows.

    :meth:`record` queues a row for the writer thread (started on first use);
    :meth:`flush` waits until every row queued before it is written.
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock
        self._changed = threading.Condition()
        self._queue: list[dict[str, Any]] = []
        self._queued = 0  # rows queued since the start
        self._done = 0  # rows written (or reported unwritable) since the start
        self._thread: threading.Thread | None = None
        self._closed = False

    def record(
        self,
        *,
        actor: str,
        role: str | None,
        method: str,
        path: str,
        status_code: int,
        target: str | None,
        request_id: str,
        client: str | None,
        detail: dict[str, Any],
    ) -> None:
        """Queue one row (never blocks on the database); a closed log writes it at once."""
        row = {
            "at": self._clock(),
            "actor": actor,
            "role": role,
            "method": method,
            "path": path[:2000],
            "status_code": status_code,
            "target": target,
            "request_id": request_id,
            "client": client,
            "detail": detail,
        }
        with self._changed:
            if not self._closed:
                self._queue.append(row)
                self._queued += 1
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="baton-audit", daemon=True)
                    self._thread.start()
                self._changed.notify_all()
                return
        self._write([row])

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until the rows queued so far are written."""
        with self._changed:
            target = self._queued
            self._changed.wait_for(lambda: self._done >= target, timeout)

    def close(self) -> None:
        """Write what is queued and stop the writer thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30.0)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._queue) or self._closed)
                rows, self._queue = self._queue, []
                if not rows:  # closed, nothing left
                    return
            self._write(rows)
            with self._changed:
                self._done += len(rows)
                self._changed.notify_all()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self._writer.begin() as conn:
                conn.execute(_INSERT, rows)
        except Exception as exc:
            if len(rows) > 1:  # one bad row must not cost the others theirs
                for row in rows:
                    self._write([row])
                return
            row = rows[0]
            log.error(
                "could not write the audit row of %s %s (request %s): %s",
                row["method"],
                row["path"],
                row["request_id"],
                " ".join(str(exc).split()),
            )

    def recent(
        self, *, limit: int = 100, before: int | None = None, actor: str | None = None
    ) -> list[AuditRow]:
        """Rows newest first (queued rows written first); ``before`` is the id of the last
        row of the previous page."""
        self.flush()
        c = api_audit.c
        query = select(api_audit).order_by(c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(c.id < before)
        if actor is not None:
            query = query.where(c.actor == actor)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditRow(
                r.id,
                r.at,
                r.actor,
                r.role,
                r.method,
                r.path,
                r.status_code,
                r.target,
                r.request_id,
                r.client,
                dict(r.detail or {}),
            )
            for r in rows
        ]
