"""The Function Compute entry (`python -m baton.api.fc`): FC_SERVER_PORT, PostgreSQL only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.serverproc import free_port
from tests.store.conftest import PostgresDatabases, postgres_base_url

CONFIG = """
version: "1.0.0"
global: {{workspace_dir: ws{db}}}
api:
  tokens: [{{name: ops, role: operator, token: "fc-operator-token-0123456789"}}]
agents:
  bot: {{provider: scripted, model: echo, capabilities: [test]}}
workflows:
  code-review:
    parameters: {{diff: {{type: string, required: true}}}}
    steps:
      - {{id: review, agent_id: bot, prompt_template: "review {{{{ params.diff }}}}"}}
"""


def _project(tmp_path: Path, url: str | None) -> None:
    (tmp_path / "ws").mkdir()
    db = f', database_url: "{url}"' if url else ""
    (tmp_path / "baton.yaml").write_text(CONFIG.format(db=db))


def test_function_compute_refuses_sqlite(tmp_path: Path) -> None:
    _project(tmp_path, None)
    proc = subprocess.run(
        [sys.executable, "-m", "baton.api.fc"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FC_SERVER_PORT": str(free_port())},
    )
    assert proc.returncode == 2
    assert "needs a PostgreSQL database" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    serve = subprocess.run(
        [sys.executable, "-m", "baton", "serve"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BATON_DEPLOYMENT__MODE": "function_compute"},
    )
    assert serve.returncode == 2 and "PostgreSQL" in serve.stderr and "Traceback" not in serve.stderr


@pytest.mark.postgres
def test_function_compute_serves_on_fc_server_port_and_runs_after_202(tmp_path: Path) -> None:
    dbs = PostgresDatabases(postgres_base_url())
    try:
        _project(tmp_path, dbs.new())
        port = free_port()
        env = {
            **os.environ,
            "FC_SERVER_PORT": str(port),
            "BATON_FC_HOST": "127.0.0.1",
            "BATON_QUEUE_POLL_SECONDS": "0.1",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "baton.api.fc"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            headers = {"Authorization": "Bearer fc-operator-token-0123456789"}
            t0 = time.monotonic()
            resp = httpx.post(
                f"{base}/api/v1/executions",
                headers=headers,
                json={"workflow_id": "code-review", "parameters": {"diff": "+x"}},
            )
            assert resp.status_code == 202 and time.monotonic() - t0 < 2, resp.text
            url = f"{base}{resp.json()['links']['self']}"
            status = None
            while time.monotonic() < deadline:
                status = httpx.get(url, headers=headers).json()["status"]
                if status == "completed":
                    break
                time.sleep(0.1)
            assert status == "completed"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        dbs.drop_all()
