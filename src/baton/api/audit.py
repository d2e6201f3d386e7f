"""The API audit trail: one ``api_audit`` row for every write request a known token made.

Routes add what they acted on (``request.state.audit_target``) and a few facts
(``request.state.audit_detail``); :class:`baton.api.middleware.ServiceMiddleware` writes
the row once the response status is known, whatever the outcome (a 403 too).
"""

from __future__ import annotations

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


def _now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """Writes and reads ``api_audit`` rows."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock

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
        with self._writer.begin() as conn:
            conn.execute(_INSERT, row)

    def recent(
        self, *, limit: int = 100, before: int | None = None, actor: str | None = None
    ) -> list[AuditRow]:
        """Rows newest first; ``before`` is the id of the last row of the previous page."""
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
