"""``baton db copy``: move a whole store to another database (SQLite → PostgreSQL) and prove
every row arrived by counting both sides.

The target is migrated first and must hold no executions. Rows are copied table by table
in foreign-key order, in batches, keeping their ids; PostgreSQL sequences of the
auto-numbered tables are then moved past the copied ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Integer, func, insert, select, text

from baton.store.errors import StoreError
from baton.store.schema import executions, metadata
from baton.store.sql import SqlStore

_BATCH = 1000


@dataclass(slots=True)
class TableCount:
    """Rows of one table in the source and in the target after the copy."""

    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


class TargetNotEmpty(StoreError):
    """``baton db copy`` into a database that already holds executions."""

    cli_exit_code = 2


class CopyMismatch(StoreError):
    """After a copy, a table of the target holds a different number of rows than the source."""


def copy_store(source: SqlStore, target: SqlStore) -> list[TableCount]:
    """Copy every table of ``source`` into the empty ``target``; raise CopyMismatch if any
    row count differs afterwards."""
    with target.engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(executions)).scalar_one():
            raise TargetNotEmpty("the target database already holds executions; copy into an empty database "
                             "(or use `baton export` / `baton import` to merge)")
    tables = list(metadata.sorted_tables)
    with source.engine.connect() as src, target.engine.begin() as dst:
        for table in tables:
            dst.execute(table.delete())  # workers/tokens rows a fresh target may have made
        for table in tables:
            result = src.execution_options(stream_results=True).execute(select(table))
            while batch := result.fetchmany(_BATCH):
                dst.execute(insert(table), [dict(row._mapping) for row in batch])
        if target.engine.dialect.name == "postgresql":
            _advance_sequences(dst)
    counts = [TableCount(t.name, _count(source.engine, t.name), _count(target.engine, t.name))
              for t in tables]
    wrong = [c for c in counts if not c.ok]
    if wrong:
        detail = ", ".join(f"{c.table} {c.source} → {c.target}" for c in wrong)
        raise CopyMismatch(f"row counts differ after the copy: {detail}")
    return counts


def _advance_sequences(conn: object) -> None:
    from sqlalchemy.engine import Connection

    assert isinstance(conn, Connection)
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                ))


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one())
