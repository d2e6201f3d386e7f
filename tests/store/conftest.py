"""Fixtures for the store conformance suite: every test runs against SQLite and PostgreSQL.

PostgreSQL comes from ``BATON_TEST_POSTGRES_URL`` (``source .ci/postgres.sh`` starts one).
Each test module gets its own freshly created databases; every test starts from empty
tables. Without the variable the PostgreSQL variants are skipped, except under ``CI=true``,
where they fail: CI must exercise PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from baton.models import ExecutionContext, ExecutionStatus
from baton.store import open_store
from baton.store.schema import metadata
from baton.store.sql import SqlStore
from tests.store.helpers import FakeClock

PG_ENV = "BATON_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_base_url() -> str:
    """The server URL from the environment, or skip (fail under CI=true)."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"{PG_ENV} is unset but CI=true: CI must run the PostgreSQL store tests "
            "(source .ci/postgres.sh first)"
        )
    pytest.skip(f"{PG_ENV} is unset; source .ci/postgres.sh to run the PostgreSQL variants")


class PostgresDatabases:
    """Creates uniquely named databases on the test server and drops them at the end."""

    def __init__(self, base_url: str) -> None:
        self.base = make_url(base_url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def new(self) -> str:
        name = f"baton_t_{uuid.uuid4().hex[:16]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="module")
def pg_databases() -> Iterator[PostgresDatabases]:
    dbs = PostgresDatabases(postgres_base_url())
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="module")
def pg_urls(pg_databases: PostgresDatabases) -> Iterator[tuple[str, str]]:
    """Two migrated databases for this module: the main one and an "other" one (import
    targets); emptied before every test by ``store_urls``."""
    urls = pg_databases.new(), pg_databases.new()
    for url in urls:
        open_store(url).close()
    yield urls


@pytest.fixture(scope="module")
def pg_cleaner(pg_urls: tuple[str, str]) -> Iterator[Callable[[], None]]:
    engines = [create_engine(url) for url in pg_urls]

    def empty() -> None:  # DELETE beats TRUNCATE on tables this small
        for engine in engines:
            with engine.begin() as conn:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())

    yield empty
    for engine in engines:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_urls(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str]:
    """(main, other) database URLs of the backend under test, both migrated and empty."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/main.db", f"sqlite:///{tmp_path}/other.db"
    request.getfixturevalue("pg_cleaner")()
    urls: tuple[str, str] = request.getfixturevalue("pg_urls")
    return urls


@pytest.fixture
def make_store(store_urls: tuple[str, str]) -> Iterator[Callable[..., SqlStore]]:
    """Open a store on the main database (``other=True``: the other one) with options."""
    opened: list[SqlStore] = []

    def factory(*, other: bool = False, **options: Any) -> SqlStore:
        store = open_store(store_urls[1] if other else store_urls[0], **options)
        assert isinstance(store, SqlStore)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., SqlStore]) -> SqlStore:
    return make_store()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def new_execution(store: SqlStore, tmp_path: Path) -> Callable[..., ExecutionContext]:
    """Create an execution in ``store`` (or the store passed as ``into``) and return it."""

    def factory(
        *,
        into: SqlStore | None = None,
        status: ExecutionStatus = ExecutionStatus.PENDING,
        **fields: Any,
    ) -> ExecutionContext:
        fields.setdefault("workflow_id", "review")
        ctx = ExecutionContext(workspace_dir=str(tmp_path), status=status, **fields)
        (into or store).create_execution(ctx, workflow_snapshot={"id": ctx.workflow_id})
        return ctx

    return factory
