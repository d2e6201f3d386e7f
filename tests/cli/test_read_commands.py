"""``baton status``, ``history`` and ``logs`` on the user's path: a SQLite store read through
``sqlite3`` gives what the store's models give, and every store the fast path does not take
(PostgreSQL, a schema this Baton does not know, a dead owner to mark interrupted) still goes
the full way."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from baton.store import open_store
from tests.cli.conftest import Baton, baton_process


def _db(project: Path) -> Path:
    return project / ".baton" / "baton.db"


def test_logs_json_is_the_stored_rows_as_the_models_serialize_them(project: Path, baton: Baton) -> None:
    baton("run", "hello")
    shown = json.loads(baton_process(project, "logs", "--json").stdout)
    store = open_store(None, base_dir=project)
    try:
        (latest,) = store.list_executions(limit=1)
        expected = [row.model_dump(mode="json") for row in store.list_logs(latest.id)]
    finally:
        store.close()
    assert shown == expected and len(expected) > 3
    assert all(item["timestamp"].endswith("Z") for item in shown)


def test_status_and_history_json_match_the_store(project: Path, baton: Baton) -> None:
    baton("run", "hello")
    status = json.loads(baton_process(project, "status", "--json").stdout)
    history = json.loads(baton_process(project, "history", "--json").stdout)
    store = open_store(None, base_dir=project)
    try:
        (ctx,) = store.list_executions(limit=5)
        steps = store.list_steps(ctx.id)
    finally:
        store.close()
    assert [h["execution_id"] for h in history] == [ctx.id] == [status["execution_id"]]
    assert history[0]["start_time"] == status["start_time"] == ctx.start_time.isoformat()
    assert history[0]["trigger"] == status["trigger"] == "cli"
    assert [(s["step_id"], s["status"], s["output"]) for s in status["steps"]] == [
        (r.step_id, r.status.value, r.output) for r in steps]


def test_a_store_at_an_unknown_revision_is_refused_as_before(project: Path, baton: Baton) -> None:
    baton("run", "hello")
    with sqlite3.connect(_db(project)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    result = baton_process(project, "status")
    assert result.returncode != 0
    assert "revision this Baton does not know" in result.stderr


def test_a_missing_store_is_created_by_the_full_path(project: Path) -> None:
    result = baton_process(project, "history", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [] and _db(project).is_file()


def test_an_execution_whose_process_died_is_marked_interrupted(project: Path, baton: Baton) -> None:
    baton("run", "hello")
    gone = subprocess.Popen(["true"])
    gone.wait()
    with sqlite3.connect(_db(project)) as conn:
        conn.execute("UPDATE executions SET status = 'running', end_time = NULL, owner = 'w', "
                     "owner_host = ?, owner_pid = ?, owner_start = 'boot:1'", (socket.gethostname(), gone.pid))
    result = baton_process(project, "status", "--json")
    assert result.returncode == 0, result.stderr
    assert "was interrupted" in result.stderr
    assert json.loads(result.stdout)["status"] == "failed"


@pytest.mark.postgres
def test_read_commands_on_postgresql(project: Path, baton: Baton, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.store.conftest import PostgresDatabases, postgres_base_url

    databases = PostgresDatabases(postgres_base_url())
    try:
        monkeypatch.setenv("BATON_DATABASE_URL", databases.new())
        baton("run", "hello")
        status = json.loads(baton_process(project, "status", "--json").stdout)
        history = json.loads(baton_process(project, "history", "--json").stdout)
        logs = json.loads(baton_process(project, "logs", "--json").stdout)
        assert status["status"] == "completed" and [h["execution_id"] for h in history] == [status["execution_id"]]
        assert logs and all(row["execution_id"] == status["execution_id"] for row in logs)
        assert not _db(project).exists()
        table = baton_process(project, "status")
        assert table.returncode == 0 and "greet" in table.stdout
    finally:
        databases.drop_all()
