"""A writing built-in workflow submitted through the API is published by the worker like
``baton run`` publishes it: Baton pushes the branch (no step holds a credential)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.api.conftest import wait_for
from tests.api.serverproc import serve_operator, service_root
from tests.fixtures.git_repos import git, init_remote
from tests.workflows.support import SHELL
from tests.workflows.test_issue_to_pr import GREET, TEST, agent_script


def test_issue_to_pr_through_the_api_is_pushed_by_baton(tmp_path: Path) -> None:
    root = service_root(tmp_path, {"sh": SHELL, "claude": agent_script(tmp_path / "calls.jsonl")})
    _, bare = init_remote(tmp_path, {"greet.py": GREET, "test_greet.py": TEST})
    proc, client = serve_operator(root)
    try:
        with client:
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
