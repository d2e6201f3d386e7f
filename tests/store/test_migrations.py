"""Migrations: linear history, fresh databases reach head, the schema matches schema.py."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

from baton.store import SchemaMismatch, StoreUnavailable, open_store
from baton.store.engine import normalize_url
from baton.store.migrate import HEAD_REVISION, MIGRATIONS_DIR, current_revision
from baton.store.schema import metadata
from tests.store.conftest import BACKENDS, PostgresDatabases, postgres_base_url


def scripts() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg)


def test_history_is_linear_and_head_matches_the_code() -> None:
    script = scripts()
    revisions = list(script.walk_revisions())  # head first

    assert script.get_heads() == [HEAD_REVISION]
    assert len(script.get_bases()) == 1
    for newer, older in itertools.pairwise(revisions):
        assert newer.down_revision == older.revision
        assert not newer.is_merge_point and not newer.is_branch_point
    assert revisions[-1].down_revision is None


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nobody has migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    dbs = PostgresDatabases(postgres_base_url())
    try:
        yield dbs.new()
    finally:
        dbs.drop_all()


def test_fresh_database_upgrades_to_head_matching_the_schema(fresh_url: str) -> None:
    store = open_store(fresh_url)
    store.close()
    engine = create_engine(normalize_url(fresh_url))
    try:
        assert current_revision(engine) == HEAD_REVISION
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in metadata.sorted_tables} <= tables
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def downgrade(engine: Engine, revision: str, then: str | None = None) -> None:
    """Downgrade to ``revision`` and run the SQL ``then``, in one transaction."""
    from alembic import command

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        if then is not None:
            conn.execute(text(then))


def test_downgrade_to_base_and_back(fresh_url: str) -> None:
    open_store(fresh_url).close()
    engine = create_engine(normalize_url(fresh_url))
    try:
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        open_store(fresh_url).close()
        assert current_revision(engine) == HEAD_REVISION
    finally:
        engine.dispose()


def test_two_first_opens_at_once_migrate_once(fresh_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def opener() -> None:
        barrier.wait()
        try:
            open_store(fresh_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    engine = create_engine(normalize_url(fresh_url))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_executions_from_before_0005_get_their_trigger_from_how_they_were_submitted(
    fresh_url: str, tmp_path: Path
) -> None:
    from baton.models import ExecutionContext, Trigger

    store = open_store(fresh_url)
    for name in ("by-api", "by-cli"):
        ctx = ExecutionContext(id=name, workflow_id="w", workspace_dir=str(tmp_path), trigger=Trigger.PYTHON)
        store.create_execution(ctx, workflow_snapshot={"steps": []})
    store.close()
    engine = create_engine(normalize_url(fresh_url))
    try:
        downgrade(engine, "0004", "INSERT INTO service_executions (execution_id, submitted_by, request_hash, "
                  "queue, priority, created_at) VALUES ('by-api', 'ops', 'h', 'default', 5, '2026-12-07 00:00:00')")
    finally:
        engine.dispose()
    store = open_store(fresh_url)  # upgrades to head
    try:
        assert {n: store.get_execution(n).context.trigger for n in ("by-api", "by-cli")} == {  # type: ignore[union-attr]
            "by-api": Trigger.API, "by-cli": Trigger.CLI}
    finally:
        store.close()


def test_unknown_newer_revision_is_reported(fresh_url: str) -> None:
    open_store(fresh_url).close()
    engine = create_engine(normalize_url(fresh_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    engine.dispose()

    with pytest.raises(SchemaMismatch, match="upgrade Baton"):
        open_store(fresh_url)


def test_opening_a_migrated_database_does_not_load_alembic(tmp_path: Path) -> None:
    open_store(None, base_dir=tmp_path).close()
    probe = (
        "import sys, pathlib\n"
        "from baton.store import open_store\n"
        f"open_store(None, base_dir=pathlib.Path({str(tmp_path)!r})).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


def test_default_location_and_sqlite_settings(tmp_path: Path) -> None:
    store = open_store(None, base_dir=tmp_path)
    try:
        assert (tmp_path / ".baton" / "baton.db").is_file()
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        store.close()
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30_000}


def test_urls_are_normalized_to_the_pinned_drivers() -> None:
    assert normalize_url("postgresql://u@127.0.0.1:5/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@127.0.0.1:5/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite+pysqlite"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not valid"),
        ("mysql://root@127.0.0.1/baton", "supports sqlite and postgresql"),
        ("sqlite://", "in-memory"),
        ("postgresql://baton:s3cret@127.0.0.1:1/baton", "cannot open the database"),
    ],
)
def test_bad_urls_give_one_line_errors_without_passwords(url: str, message: str) -> None:
    with pytest.raises(StoreUnavailable, match=message) as info:
        open_store(url)
    assert "\n" not in str(info.value)
    assert "s3cret" not in str(info.value)
