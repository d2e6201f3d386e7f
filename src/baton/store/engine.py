"""Database URLs and engines: SQLite tuned for a local file, PostgreSQL through psycopg 3.

SQLite connections run with WAL journaling, ``synchronous=NORMAL``, foreign keys on and a
busy timeout. SQLAlchemy, not the sqlite3 module, emits ``BEGIN``: a connection marked
with the ``baton_write`` execution option starts with ``BEGIN IMMEDIATE`` so that a
read-then-write transaction holds the write lock from its first statement and two
processes cannot interleave (they queue on the busy timeout instead).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from baton.private import FILE_MODE, private_dir
from baton.store.errors import StoreUnavailable
from baton.store.sqlite_reader import BUSY_TIMEOUT_MS, DEFAULT_DB_PATH
from baton.store.types import dumps, loads

WAL_AUTOCHECKPOINT_PAGES = 10_000  # ~40 MB of WAL
WRITE_OPTION = "baton_write"


def default_url(base_dir: Path | None = None) -> str:
    """The SQLite URL of ``<base_dir or cwd>/.baton/baton.db``."""
    path = (base_dir or Path.cwd()) / DEFAULT_DB_PATH
    return f"sqlite+pysqlite:///{path.resolve()}"


def normalize_url(url: str) -> URL:
    """Parse ``url`` and pin the driver: psycopg 3 for PostgreSQL, pysqlite for SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailable(
            f"database URL {_safe(url)!r} is not valid; expected sqlite:///path/to/baton.db "
            "or postgresql://user@host:port/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise StoreUnavailable(
        f"database URL {_safe(url)!r} uses {backend!r}; Baton supports sqlite and postgresql"
    )


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite file or PostgreSQL), configured for the store."""
    parsed = normalize_url(url)
    common: dict[str, Any] = {"json_serializer": dumps, "json_deserializer": loads}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise StoreUnavailable(
                "an in-memory SQLite database cannot be shared between connections; "
                "use a file path such as sqlite:///.baton/baton.db"
            )
        path = Path(database).expanduser()
        if path.parent.name == ".baton" or not path.parent.exists():
            private_dir(path.parent)
        _create_sqlite_file(path)
        engine = create_engine(
            parsed,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_size=8,
            max_overflow=8,
            **common,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        raise StoreUnavailable(
            "a PostgreSQL store needs the psycopg driver: pip install 'baton[postgres]'"
        ) from None
    return create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=8, **common)


def _create_sqlite_file(path: Path) -> None:
    """Make ``path`` an owner-only SQLite database in WAL mode, unless it exists already.

    The database is made under a temporary name and linked into place, so that no other
    opener ever sees a file still in rollback mode (turning on WAL needs an exclusive lock
    that a concurrent reader makes fail at once, without the busy timeout) and no
    descriptor this process closes ever belongs to the live file (closing one drops every
    POSIX lock the process holds on it, SQLite's among them). SQLite gives its -wal and
    -shm files the database file's mode.
    """
    if path.exists():
        os.chmod(path, FILE_MODE)
        return
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    try:
        os.close(os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        db = sqlite3.connect(scratch)
        try:
            db.execute("PRAGMA journal_mode = WAL")
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):  # another opener won; its file is as good
            os.link(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # a no-op on files _create_sqlite_file made; converts a database made elsewhere
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # a backstop only: checkpoints normally run off the hot path (store/checkpoint.py)
        cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("")
        cursor.execute("")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _safe(url: str) -> str:
    """``url`` with any password hidden, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@", 1)[-1] if "@" in url else url
