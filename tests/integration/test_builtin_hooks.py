"""Built-in workflows started through the API or the MCP server run their GitHub hooks like
``baton run`` does (issue 12, item 10): the issue's text is read from GitHub before the run,
and the branch is pushed and the pull request opened after it. What cannot be prepared (an
issue number without GitHub credentials) is refused with a reason, never run without it.

Real `baton serve` (in-process worker) and real `baton mcp serve` (the official MCP client
over stdio), the fake GitHub API, real git remotes, scripted agents.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp import Client, StdioServerParameters
from tests.api.conftest import wait_for
from tests.api.serverproc import OPERATOR_TOKEN, serve_operator, service_root
from tests.fixtures.fake_github import FakeGitHub
from tests.fixtures.git_repos import git, init_remote
from tests.mcp.test_serve import payload
from tests.workflows.support import SHELL
from tests.workflows.test_issue_to_pr import GREET, TEST, TOKEN, agent_script

REPO = "octo/greet"
ISSUE_TITLE = "Greet with a comma and an exclamation mark"
BRANCH = "baton/issue-3-greet-with-a-comma-and-an-exclamation"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as gh:
        yield gh


def _project(tmp_path: Path, github: FakeGitHub) -> tuple[Path, Path, Path]:
    """(service root, working clone, bare remote) with issue #3 on the fake GitHub."""
    work, bare = init_remote(tmp_path, {"greet.py": GREET, "test_greet.py": TEST})
    github.add_repo(REPO, clone_url=str(bare))
    github.add_issue(REPO, 3, ISSUE_TITLE, "Say 'Hello, Ada!' not 'Hi Ada'.")
    root = service_root(tmp_path, {"sh": SHELL, "claude": agent_script(tmp_path / "calls.jsonl")})
    return root, work, bare


def _github_env(github: FakeGitHub) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": REPO}


def _no_github_env() -> dict[str, str]:
    """The test runner's environment without any GitHub credential or repository."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_", "BATON_GITHUB"))}


def _pulls(github: FakeGitHub) -> list[Any]:
    return [r.body for r in github.writes() if r.path == f"/repos/{REPO}/pulls"]


def _wait_for_pull(github: FakeGitHub, timeout: float = 30) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not _pulls(github):
        time.sleep(0.2)
    return _pulls(github)


ISSUE_BY_NUMBER = {"workflow_id": "issue-to-pr",
                   "parameters": {"issue": "3", "test_command": "python3 test_greet.py"}}


def test_api_reads_the_issue_from_github_and_the_worker_opens_the_pull_request(
    tmp_path: Path, github: FakeGitHub
) -> None:
    root, _, bare = _project(tmp_path, github)
    proc, client = serve_operator(root, {**_no_github_env(), **_github_env(github)})
    try:
        with client:
            body = {**ISSUE_BY_NUMBER, "parameters": {**ISSUE_BY_NUMBER["parameters"], "repo": str(bare)}}
            resp = client.post("/api/v1/executions", json=body)
            assert resp.status_code == 202, resp.text
            execution_id = resp.json()["execution_id"]
            done = wait_for(client, execution_id, {"completed", "failed"}, timeout=120)
            assert done["status"] == "completed", done
            # the prepare hook filled in the issue's text before the run
            detail = client.get(f"/api/v1/executions/{execution_id}").json()
            assert detail["parameters"]["issue_title"] == ISSUE_TITLE
        assert any(r.path == f"/repos/{REPO}/issues/3" for r in github.requests)
        # the worker's publish hook pushed the branch and opened the pull request
        pulls = _wait_for_pull(github)
        assert [(p["title"], p["head"]) for p in pulls] == [(f"Fix #3: {ISSUE_TITLE}", BRANCH)], \
            proc.output()[-3000:]
    finally:
        proc.stop()
    assert BRANCH in git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def test_api_refuses_an_issue_number_it_cannot_read(tmp_path: Path, github: FakeGitHub) -> None:
    root, _, bare = _project(tmp_path, github)
    proc, client = serve_operator(root, _no_github_env())
    try:
        with client:
            resp = client.post("/api/v1/executions", json={**ISSUE_BY_NUMBER, "repo": str(bare)})
            assert resp.status_code == 422, resp.text
            assert resp.headers["content-type"].startswith("application/problem+json")
            problem = resp.json()
            assert problem["type"].endswith("workflow-not-prepared")
            assert "issue-to-pr" in problem["detail"] and "needs GitHub" in problem["detail"]
            assert "GITHUB_TOKEN" in problem["detail"]
            assert client.get("/api/v1/executions").json()["items"] == []
    finally:
        proc.stop()
    assert github.requests == [] or all(r.method == "GET" for r in github.requests)


def _mcp(root: Path, tmp_path: Path, env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "baton", "mcp", "serve"], cwd=str(root),
        env={**env, "T_OP": OPERATOR_TOKEN, "PYTHONPATH": str(ROOT),
             "BATON_USER_CONFIG": str(tmp_path / "no-user.yaml"),
             "HOME": str(tmp_path)},
    )


async def test_mcp_run_workflow_prepares_and_publishes(tmp_path: Path, github: FakeGitHub) -> None:
    root, work, bare = _project(tmp_path, github)
    async with Client(_mcp(root, tmp_path, {**_no_github_env(), **_github_env(github)})) as client:
        params = {"repo": str(work), **ISSUE_BY_NUMBER["parameters"]}
        done = payload(await client.call_tool(
            "run_workflow", {"workflow_id": "issue-to-pr", "parameters": params, "wait": True}))
    assert done["status"] == "completed", done
    assert any("issue #3" in note for note in done["notes"])
    assert done["published"]["url"], done["published"]
    assert [(p["title"], p["head"]) for p in _pulls(github)] == [(f"Fix #3: {ISSUE_TITLE}", BRANCH)]
    assert BRANCH in git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


async def test_mcp_refuses_an_issue_number_it_cannot_read(tmp_path: Path, github: FakeGitHub) -> None:
    root, work, _ = _project(tmp_path, github)
    async with Client(_mcp(root, tmp_path, _no_github_env())) as client:
        params = {"repo": str(work), **ISSUE_BY_NUMBER["parameters"]}
        result = await client.call_tool("run_workflow", {"workflow_id": "issue-to-pr", "parameters": params})
        assert result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert "issue 3 is a number" in text and "issue-to-pr needs GitHub" in text
        assert payload(await client.call_tool("list_workflows"))  # the server is still serving
    assert _pulls(github) == []
