"""Alembic environment for the store.

Baton passes an open connection (already inside a transaction that holds the migration
lock) through ``config.attributes["connection"]``; see :mod:`baton.store.migrate`. When
run from the ``alembic`` command line, the URL comes from ``BATON_DATABASE_URL`` or
defaults to ``.baton/baton.db`` in the current directory.
"""

from __future__ import annotations

import os

from alembic import context

from baton.store.engine import default_url, make_engine
from baton.store.schema import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite can only ALTER tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if context.is_offline_mode():
    context.configure(
        url=os.environ.get("BATON_DATABASE_URL") or default_url(),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    _run(connection)
else:
    engine = make_engine(os.environ.get("BATON_DATABASE_URL") or default_url())
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()
