"""A SQLite store read through the ``sqlite3`` module: the statements of
:mod:`baton.store.reads` without SQLAlchemy, for the commands that only read.

Only a store that exists and is at :data:`~baton.store.reads.HEAD_REVISION` is opened this
way; anything else (no file yet, a schema to migrate) is for :func:`baton.store.open_store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from baton.store.reads import HEAD_REVISION, Reads

DEFAULT_DB_PATH = Path(".baton") / "baton.db"
BUSY_TIMEOUT_MS = 30_000


@contextmanager
def sqlite_reads(path: Path) -> Iterator[Reads | None]:
    """The read statements on the SQLite file ``path``; None if it is missing or not at the
    current schema revision. Each statement sees the latest committed state."""
    if not path.is_file():
        yield None
        return
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
        try:
            found = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.Error:
            found = []
        if [row[0] for row in found] != [HEAD_REVISION]:
            yield None
            return

        def execute(sql: str, params: tuple[Any, ...]) -> list[Any]:
            return conn.execute(sql, params).fetchall()

        yield Reads(execute, postgres=False)
