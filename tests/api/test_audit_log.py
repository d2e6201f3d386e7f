"""The audit log's writer thread: rows are queued by requests and committed together.

What the trail promises: every queued row is in the table once :meth:`AuditLog.flush`,
:meth:`AuditLog.recent` or :meth:`AuditLog.close` returns, rows queued from many threads at
once all arrive, and a row the database refuses costs no other row its place.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from baton.api.audit import AuditLog
from baton.store import open_store
from baton.store.schema import api_audit
from baton.store.sql import SqlStore


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    opened = open_store(f"sqlite:///{tmp_path / 'baton.db'}", base_dir=tmp_path)
    assert isinstance(opened, SqlStore)
    return opened


def _row(request_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "actor": "operator",
        "role": "operator",
        "method": "POST",
        "path": "/api/v1/executions",
        "status_code": 202,
        "target": None,
        "request_id": request_id,
        "client": "127.0.0.1",
        "detail": {"workflow_id": "hello"},
    }
    return {**row, **changes}


def _stored_ids(store: SqlStore) -> list[str]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(api_audit.c.request_id).order_by(api_audit.c.id))]


def test_rows_queued_from_many_threads_are_all_written_by_close(store: SqlStore) -> None:
    audit = AuditLog(store.engine)

    def burst(n: int) -> None:
        for i in range(50):
            audit.record(**_row(f"t{n}-{i}"))

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    audit.close()
    stored = _stored_ids(store)
    assert sorted(stored) == sorted(f"t{n}-{i}" for n in range(4) for i in range(50))
    for n in range(4):  # one thread's rows keep their order
        mine = [s for s in stored if s.startswith(f"t{n}-")]
        assert mine == [f"t{n}-{i}" for i in range(50)]
    # a row recorded after close is written at once, not lost
    audit.record(**_row("late"))
    assert _stored_ids(store)[-1] == "late"


def test_recent_sees_every_row_queued_before_it(store: SqlStore) -> None:
    audit = AuditLog(store.engine)
    for i in range(20):
        audit.record(**_row(f"r{i}", target=f"exec-{i}"))
    rows = audit.recent(limit=100)
    assert [r.request_id for r in rows] == [f"r{i}" for i in reversed(range(20))]
    assert rows[0].target == "exec-19" and rows[0].detail == {"workflow_id": "hello"}
    audit.close()


def test_a_refused_row_costs_no_other_row_its_place(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    audit = AuditLog(store.engine)
    with caplog.at_level(logging.ERROR, logger="baton.api"):
        with store.engine.begin() as conn:  # hold the write lock: the rows queue up behind it
            conn.execute(api_audit.insert(), _row("first", at=datetime.now(UTC)))
            audit.record(**_row("a"))
            audit.record(**_row("bad", actor=None))  # NOT NULL: the database refuses it
            audit.record(**_row("b"))
        audit.flush()
    assert _stored_ids(store) == ["first", "a", "b"]
    assert "could not write the audit row of POST /api/v1/executions (request bad)" in caplog.text
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(api_audit)).scalar_one() == 3
    audit.close()
