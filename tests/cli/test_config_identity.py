"""Item 8: every execution records the configuration it ran with (content hash and applied
version) in every view; ``global.require_applied_config`` refuses an unapplied edit in
``baton run``, the API and workers; ``config apply`` validates first and stores the
workflow files under ``.baton/workflows/`` too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton.api.server import open_for_service
from baton.config.versions import configuration_content, content_hash
from baton.engine.errors import ConfigNotApplied
from baton.workers.worker import Worker, WorkerSettings
from tests.cli.conftest import Baton


def _require(project: Path) -> None:
    path = project / "baton.yaml"
    path.write_text(path.read_text().replace(
        "  max_concurrent_executions: 10", "  max_concurrent_executions: 10\n  require_applied_config: true", 1))


def test_executions_record_the_configuration_in_every_view(project: Path, baton: Baton) -> None:
    first = json.loads(baton("run", "hello", "--json").stdout)
    digest = content_hash(configuration_content(project / "baton.yaml"))
    assert (first["config_hash"], first["config_version"]) == (digest, None)
    applied = json.loads(baton("config", "apply", "--json").stdout)
    assert applied["content_hash"] == digest
    second = json.loads(baton("run", "hello", "--json").stdout)
    assert (second["config_hash"], second["config_version"]) == (digest, "1.0.0")
    status = json.loads(baton("status", "--json").stdout)
    assert (status["config_hash"], status["config_version"]) == (digest, "1.0.0")
    assert f"config: version 1.0.0 ({digest[:12]})" in baton("status").stdout
    assert f"config: not applied ({digest[:12]})" in baton("status", first["execution_id"]).stdout
    history = {r["execution_id"]: r for r in json.loads(baton("history", "--json").stdout)}
    assert history[second["execution_id"]]["config_version"] == "1.0.0"


def test_apply_stores_workflow_files_and_validates_them_first(project: Path, baton: Baton) -> None:
    folder = project / ".baton" / "workflows"
    folder.mkdir(parents=True)
    (folder / "extra.yaml").write_text('steps:\n  - {id: a, agent_id: nobody, prompt_template: "x"}\n')
    refused = baton("config", "apply", code=2)
    assert "nobody" in refused.stderr
    assert "applied" not in refused.stdout
    (folder / "extra.yaml").write_text('steps:\n  - {id: a, agent_id: sh, prompt_template: "echo extra"}\n')
    baton("config", "apply")
    from baton.store import open_store

    store = open_store(None, base_dir=project)
    try:
        version = store.get_config_version("1.0.0")
    finally:
        store.close()
    assert version is not None
    assert "# ---- .baton/workflows/extra.yaml ----" in version.content and "echo extra" in version.content
    (folder / "extra.yaml").write_text('steps:\n  - {id: a, agent_id: sh, prompt_template: "echo changed"}\n')
    diff = baton("config", "diff").stdout
    assert "-  - {id: a, agent_id: sh, prompt_template: \"echo extra\"}" in diff
    assert "+  - {id: a, agent_id: sh, prompt_template: \"echo changed\"}" in diff


def test_require_applied_config_refuses_an_edit_in_run(project: Path, baton: Baton) -> None:
    _require(project)
    refused = baton("run", "hello", code=2)
    assert "edited since `baton config apply`" in refused.stderr and "baton config apply" in refused.stderr
    baton("config", "apply")
    ran = json.loads(baton("run", "hello", "--json").stdout)
    assert ran["status"] == "completed" and ran["config_version"] == "1.0.0"
    # a workflow file edited afterwards counts as an edit too
    folder = project / ".baton" / "workflows"
    folder.mkdir(parents=True)
    (folder / "late.yaml").write_text('steps:\n  - {id: a, agent_id: sh, prompt_template: "echo late"}\n')
    assert "edited since" in baton("run", "hello", code=2).stderr
    assert "edited since" in baton("resume", code=2).stderr


def test_require_applied_config_refuses_in_the_api_and_workers(
    project: Path, baton: Baton, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from baton.api.app import create_app
    from baton.api.service import ApiService

    _require(project)
    path = project / "baton.yaml"
    path.write_text(path.read_text() + '\napi:\n  tokens:\n    - {name: op, role: operator, token: "${T_OP}"}\n')
    monkeypatch.setenv("T_OP", "operator-token-0123456789abcdef")
    opened = open_for_service(None, cwd=project)
    try:
        settings = WorkerSettings(worker_id="w1", queue="default", concurrency=1, heartbeat_seconds=1,
                                  dead_after_seconds=5)
        with pytest.raises(ConfigNotApplied):
            Worker(opened.configuration, opened.store, opened.root, settings, opened.store_url,
                   config_path=opened.config_path)
        service = ApiService(opened.configuration, opened.store, opened.root, dispatcher=None,
                             config_path=opened.config_path)
        client = TestClient(create_app(service))
        resp = client.post("/api/v1/executions", json={"workflow_id": "hello"},
                           headers={"Authorization": "Bearer operator-token-0123456789abcdef"})
        assert resp.status_code == 409, resp.text
        assert resp.json()["type"] == "urn:baton:problem:config-not-applied"
        assert "baton config apply" in resp.json()["detail"]
    finally:
        opened.store.close()
