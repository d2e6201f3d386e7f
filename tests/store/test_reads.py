"""The read statements through ``sqlite3`` (``baton status`` and co.) and through the store's
SQLAlchemy connection decode a SQLite store the same way."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from baton.models import ExecutionContext, LogLevel, StepRun, StepStatus
from baton.store.sql import SqlStore
from baton.store.sqlite_reader import sqlite_reads
from tests.store.helpers import log_row


def _path(store: SqlStore) -> Path:
    return Path(store.engine.url.database or "")


@pytest.mark.parametrize("backend", ["sqlite"])  # the sqlite3 path exists for SQLite only
def test_sqlite3_and_the_store_read_the_same_rows(store: SqlStore, new_execution: Callable[..., ExecutionContext]) -> None:
    ctx = new_execution()
    run = StepRun(execution_id=ctx.id, step_id="a", status=StepStatus.RUNNING, agent_id="sh")
    store.save_step(run, [log_row(ctx, "one"), log_row(ctx, "two", level=LogLevel.ERROR, step_id="a",
                                                     metadata={"k": [1, "é"]})])
    through_store = store.reader()
    with sqlite_reads(_path(store)) as reads:
        assert reads is not None
        for read in (lambda r: r.execution(ctx.id), lambda r: r.executions(limit=5), lambda r: r.steps(ctx.id),
                     lambda r: r.logs(ctx.id), lambda r: r.logs(ctx.id, levels=LogLevel.ERROR.and_above()),
                     lambda r: r.match_ids(ctx.id[:4], 3)):
            assert read(reads) == read(through_store)
        assert reads.logs(ctx.id)[1]["metadata"] == {"k": [1, "é"]}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite3_reads_only_a_store_at_the_current_revision(store: SqlStore, tmp_path: Path) -> None:
    with sqlite_reads(tmp_path / "missing.db") as reads:
        assert reads is None
    assert not (tmp_path / "missing.db").exists()
    with sqlite3.connect(_path(store)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    with sqlite_reads(_path(store)) as reads:
        assert reads is None
