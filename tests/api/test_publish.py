"""A writing built-in workflow submitted through the API is published by the worker like
``baton run`` publishes it: Baton pushes the branch (no step holds a credential)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import yaml

from tests.api.conftest import wait_for
from tests.api.serverproc import free_port, start_server
from tests.fixtures.git_repos import git, init_remote
from tests.workflows.support import SHELL
from tests.workflows.test_issue_to_pr import GREET, TEST, agent_script


def test_issue_to_pr_through_the_api_is_pushed_by_baton(tmp_path: Path) -> None:
    root = tmp_path / "service"
    root.mkdir()
    _, bare = init_remote(tmp_path, {"greet.py": GREET, "test_greet.py": TEST})
    config = {
        "version": "1.0.0",
        "global": {"cache": {"enabled": False}},
        "api": {
            "workspace_roots": [str(tmp_path)],
            "tokens": [{"name": "op", "role": "operator", "token": "${T_OP}"}],
        },
        "agents": {"sh": SHELL, "claude": agent_script(tmp_path / "calls.jsonl")},
    }
    (root / "baton.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = start_server(root, port, env={"T_OP": "op-token-0123456789"})
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": "Bearer op-token-0123456789"},
            timeout=30,
        ) as client:
            resp = client.post(
                "/api/v1/executions",
                json={
                    "workflow_id": "issue-to-pr",
                    "repo": str(bare),
                    "parameters": {
                        "repo": ".",
                        "issue": "Greet with a comma and an exclamation mark",
                        "test_command": "python3 test_greet.py",
                    },
                },
            )
            assert resp.status_code == 202, resp.text
            done = wait_for(client, resp.json()["execution_id"], {"completed", "failed"}, timeout=120)
            assert done["status"] == "completed", done
        # the worker publishes once the execution has completed
        branch = "baton/issue-greet-with-a-comma-and-an-exclamation"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if branch in git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads").split():
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"never pushed:\n{proc.output()[-3000:]}")
    finally:
        proc.stop()
    assert "Hello, {name}!" in git(bare, "show", f"{branch}:greet.py")
