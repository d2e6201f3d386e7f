"""Bring a database up to the schema this Baton expects, cheaply when it already is.

Opening a store reads ``alembic_version`` with one query; only when it differs from
:data:`baton.store.reads.HEAD_REVISION` is Alembic imported and run. The upgrade runs in one transaction that
first takes a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so two
processes opening a fresh database at once migrate it once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from baton.store.engine import WRITE_OPTION
from baton.store.errors import SchemaMismatch
from baton.store.reads import HEAD_REVISION

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x62A70_0001  # an arbitrary constant naming "baton migrations"


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None


def upgrade_to_head(engine: Engine) -> None:
    """Migrate the database to :data:`baton.store.reads.HEAD_REVISION` unless it is there already."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            try:
                command.upgrade(cfg, "head")
            except CommandError as exc:
                raise SchemaMismatch(
                    f"the database schema is at a revision this Baton does not know ({exc}); "
                    "upgrade Baton to the version that last wrote this database"
                ) from None
