"""Baton's durable state: a SQLite file by default, PostgreSQL by URL.

``open_store(None)`` opens ``.baton/baton.db`` under the current directory (or
``base_dir``), creating and migrating it as needed. The caller decides the URL (for
example from ``BATON_DATABASE_URL`` or ``global.database_url``); this package does not
read the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baton.lazy import lazy_names

if TYPE_CHECKING:
    from baton.store.base import (
        AuditEntry,
        CacheEntry,
        ConfigVersion,
        ExecutionRecord,
        Lease,
        OwnedGroup,
        OwnerProcess,
        Store,
        UsageRecord,
        UsageTotal,
    )
    from baton.store.errors import (
        AlreadyExists,
        ConfigVersionImmutable,
        IntegrityViolation,
        InvalidArgument,
        NotFound,
        SchemaMismatch,
        StoreError,
        StoreUnavailable,
    )

# The names below load on first use: the read statements (baton.store.reads) need neither the
# Store contract nor the models it speaks in.
_BASE = ("AuditEntry", "CacheEntry", "ConfigVersion", "ExecutionRecord", "Lease", "OwnedGroup",
         "OwnerProcess",
         "Store", "UsageRecord", "UsageTotal")
_ERRORS = ("AlreadyExists", "ConfigVersionImmutable", "IntegrityViolation", "InvalidArgument", "NotFound",
           "SchemaMismatch", "StoreError", "StoreUnavailable")
_WHERE = {**dict.fromkeys(_BASE, "baton.store.base"), **dict.fromkeys(_ERRORS, "baton.store.errors")}


__getattr__ = lazy_names(__name__, _WHERE)


def open_store(
    url: str | None,
    *,
    base_dir: Path | None = None,
    max_log_bytes: int | None = None,
    claim_timeout: timedelta | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Store:
    """Open (and migrate to the current schema) the store at ``url``.

    ``url=None`` means the SQLite file ``<base_dir or cwd>/.baton/baton.db``. PostgreSQL
    URLs may be written ``postgresql://...``; the psycopg 3 driver is always used.
    ``max_log_bytes`` (default 10 MB), ``claim_timeout`` (default 30 s) and ``clock`` are
    passed to :class:`baton.store.sql.SqlStore`.
    """
    # SQLAlchemy is imported here, not at package import, so that importing the Store
    # contract (baton.store.base) stays cheap for the CLI.
    from sqlalchemy.exc import DBAPIError

    from baton.store.engine import default_url, make_engine, normalize_url
    from baton.store.errors import StoreUnavailable
    from baton.store.migrate import upgrade_to_head
    from baton.store.sql import SqlStore

    options: dict[str, Any] = {}
    if max_log_bytes is not None:
        options["max_log_bytes"] = max_log_bytes
    if claim_timeout is not None:
        options["claim_timeout"] = claim_timeout
    if clock is not None:
        options["clock"] = clock
    target = url or default_url(base_dir)
    engine = make_engine(target)
    try:
        upgrade_to_head(engine)
    except DBAPIError as exc:
        engine.dispose()
        where = normalize_url(target).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StoreUnavailable(
            f"cannot open the database {where}: {reason}; check the URL and that the server is running"
        ) from None
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, **options)


__all__ = [
    "AlreadyExists",
    "AuditEntry",
    "CacheEntry",
    "ConfigVersion",
    "ConfigVersionImmutable",
    "ExecutionRecord",
    "IntegrityViolation",
    "InvalidArgument",
    "Lease",
    "NotFound",
    "OwnedGroup",
    "OwnerProcess",
    "SchemaMismatch",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UsageRecord",
    "UsageTotal",
    "open_store",
]
