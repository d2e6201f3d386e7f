"""Item 7: `baton export` / `baton import` (idempotent) and `baton db copy` from SQLite to a
real PostgreSQL, then back into a fresh SQLite through export/import with identical `status`
and `logs` output; the admin API serves the same export."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.cli.conftest import Baton, add_workflow
from tests.store.conftest import postgres_base_url


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test (dropped afterwards)."""
    base = make_url(postgres_base_url()).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"baton_copy_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _history(project: Path, baton: Baton) -> None:
    """A store with a completed, a failed and a paused (langgraph) execution, usage, two
    applied configuration versions and their audit trail."""
    add_workflow(project, "priced", """\
  steps:
    - {id: ask, agent_id: bot, prompt_template: "price this"}
""")
    add_workflow(project, "broken", """\
  steps:
    - {id: boom, agent_id: sh, prompt_template: "echo failing; exit 3"}
""")
    add_workflow(project, "release", """\
  type: langgraph
  steps:
    - {id: build, agent_id: sh, prompt_template: "echo built"}
    - id: deploy
      agent_id: sh
      prompt_template: "echo deployed"
      approval: {message: "Deploy?"}
""")
    path = project / "baton.yaml"
    path.write_text(path.read_text().replace("agents:\n", (
        "agents:\n  bot: {provider: scripted, model: echo, capabilities: [chat], config: {script: "
        "[{reply: priced, usage: {input_tokens: 120, output_tokens: 30}, cost_usd: 0.0125}]}}\n"), 1))
    baton("config", "apply")
    baton("run", "hello")
    baton("run", "priced")
    path.write_text(path.read_text().replace('version: "1.0.0"', 'version: "1.0.1"', 1))
    baton("config", "apply")
    baton("run", "broken", code=1)
    baton("run", "release", code=3)


def _views(baton: Baton) -> dict[str, object]:
    """What a user sees of every execution: status (table and JSON) and logs. (JSON is
    compared parsed: PostgreSQL's jsonb keeps an object's keys in its own order.)"""
    ids = [r["execution_id"] for r in json.loads(baton("history", "--json").stdout)]
    views = {"history": baton("history").stdout}
    for eid in ids:
        views[f"status {eid}"] = baton("status", eid).stdout
        views[f"status --json {eid}"] = json.loads(baton("status", eid, "--json").stdout)
        views[f"logs {eid}"] = baton("logs", eid).stdout
    views["usage"] = json.loads(baton("usage", "--json").stdout)
    return views


def _differences(a: object, b: object, where: str = "") -> list[str]:
    """Paths where two views differ (empty when identical)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str) for d in _differences(a.get(k), b.get(k), f"{where}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _use_database(project: Path, url: str | None) -> None:
    path = project / "baton.yaml"
    lines = [line for line in path.read_text().splitlines() if "database_url:" not in line]
    text_ = "\n".join(lines) + "\n"
    if url is not None:
        text_ = text_.replace("global:\n", f"global:\n  database_url: {url}\n", 1)
    path.write_text(text_)


def test_sqlite_to_postgres_and_back_keeps_everything(
    project: Path, baton: Baton, fresh_postgres: str, tmp_path: Path
) -> None:
    _history(project, baton)
    before = _views(baton)
    assert "tokens: 120 in, 30 out   cost: $0.0125" in "".join(v for v in before.values() if isinstance(v, str))

    copied = json.loads(baton("db", "copy", "--to", fresh_postgres, "--json").stdout)
    assert copied["tables"]["executions"] == 4 and copied["tables"]["usage"] >= 1
    assert copied["tables"]["config_versions"] == 2 and copied["tables"]["config_audit"] == 2
    assert copied["checkpoints"] >= 1
    again = baton("db", "copy", "--to", fresh_postgres, code=2)
    assert "already holds executions" in again.stderr

    _use_database(project, fresh_postgres)
    on_postgres = _views(baton)
    assert _differences(before, on_postgres) == []

    export_file = tmp_path / "history.json"
    baton("export", "--all", "-o", str(export_file))
    document = json.loads(export_file.read_text())
    assert document["format"] == "baton.export" and document["format_version"] == 1
    assert [v["version"] for v in document["config_versions"]] == ["1.0.0", "1.0.1"]
    priced = next(e for e in document["executions"] if e["execution"]["workflow_id"] == "priced")
    assert priced["usage"][0]["input_tokens"] == 120
    hello = next(e for e in document["executions"] if e["execution"]["workflow_id"] == "hello")
    assert {a["path"] for a in hello["artifacts"]} >= {"prompts/greet.txt"}

    # a fresh SQLite store elsewhere: the same project, its store emptied
    _use_database(project, None)
    shutil.rmtree(project / ".baton")
    first = json.loads(baton("import", str(export_file), "--json").stdout)
    assert first == {"executions_added": 4, "executions_present": 0, "config_versions_added": 2,
                     "audit_rows_added": 2}
    second = json.loads(baton("import", str(export_file), "--json").stdout)
    assert second == {"executions_added": 0, "executions_present": 4, "config_versions_added": 0,
                      "audit_rows_added": 0}
    after = _views(baton)
    # an imported execution belongs to no process here: only its `owner` (host:pid) is not carried
    assert {d.split(": ")[0].rsplit("/", 1)[1] for d in _differences(before, after)} <= {"owner"}
    assert [d for d in _differences(before, after) if not d.split(": ")[0].endswith("/owner")] == []


def test_export_selects_by_prefix_and_since_and_the_api_serves_it(project: Path, baton: Baton) -> None:
    baton("run", "hello")
    newest = json.loads(baton("run", "hello", "--json").stdout)["execution_id"]
    one = json.loads(baton("export", newest[:-3]).stdout)
    assert [e["execution"]["id"] for e in one["executions"]] == [newest]
    recent = json.loads(baton("export", "--since", "1h").stdout)
    assert len(recent["executions"]) == 2
    assert json.loads(baton("export", "--since", "2000-01-01").stdout)["executions"][-1]["execution"]["id"] == newest
    assert "which executions?" in baton("export", code=2).stderr
    assert "give a span like 7d" in baton("export", "--since", "soon", code=2).stderr
    bad = project / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert "not a Baton export" in baton("import", str(bad), code=1).stderr


def test_admin_api_export(project: Path, baton: Baton, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from baton.api.app import create_app
    from baton.api.server import open_for_service
    from baton.api.service import ApiService

    eid = json.loads(baton("run", "hello", "--json").stdout)["execution_id"]
    path = project / "baton.yaml"
    path.write_text(path.read_text() + (
        '\napi:\n  tokens:\n    - {name: boss, role: admin, token: "${T_ADMIN}"}\n'
        '    - {name: op, role: operator, token: "${T_OP}"}\n'))
    monkeypatch.setenv("T_ADMIN", "admin-token-0123456789abcdef")
    monkeypatch.setenv("T_OP", "operator-token-0123456789abcdef")
    opened = open_for_service(None, cwd=project)
    try:
        client = TestClient(create_app(ApiService(opened.configuration, opened.store, opened.root, dispatcher=None)))
        denied = client.get("/api/v1/export", headers={"Authorization": "Bearer operator-token-0123456789abcdef"})
        assert denied.status_code == 403
        got = client.get("/api/v1/export", params={"execution_id": eid[:-2]},
                         headers={"Authorization": "Bearer admin-token-0123456789abcdef"})
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["format"] == "baton.export" and [e["execution"]["id"] for e in body["executions"]] == [eid]
        assert body["executions"][0]["logs"]
    finally:
        opened.store.close()


def test_import_of_a_missing_or_binary_file_is_a_clear_error(project: Path, baton: Baton) -> None:
    missing = baton("import", str(project / "nope.json"), code=2)
    assert missing.exception is None or isinstance(missing.exception, SystemExit)
    assert "nope.json: cannot read (No such file or directory)" in missing.stderr
    binary = project / "blob.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "blob.json: cannot read" in baton("import", str(binary), code=2).stderr
