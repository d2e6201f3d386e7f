"""``pr-fix`` end to end: review comments and a failing check read from the fake GitHub API,
a scripted fix, real tests, a push to the pull request's branch, replies to the comments."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.git_repos import BUG_LINES, PR_NUMBER, git
from tests.workflows.support import SHELL, write_config

from .conftest import REPO, PullRequest
from .test_review import baton_cli

FIXED = '''"""Arithmetic helpers."""


def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)


def clamp(value, low, high):
    return max(low, min(value, high))
'''


def test_pr_fix_addresses_comments_pushes_and_replies(pull_request: PullRequest, tmp_path: Path) -> None:
    gh, repo = pull_request.gh, pull_request.repo
    comment = gh.add_review_comment(
        REPO, PR_NUMBER, path="calc.py", line=BUG_LINES["calc.py"], body="add() subtracts, please fix"
    )
    gh.add_review_comment(REPO, PR_NUMBER, path="calc.py", line=5, body="+1", in_reply_to=comment["id"])
    gh.repos[REPO].check_runs.append(
        {
            "id": 77,
            "name": "tests",
            "head_sha": repo.head_sha,
            "status": "completed",
            "conclusion": "failure",
            "output": {"title": "1 failed"},
        }
    )
    gh.repos[REPO].job_logs[77] = "FAILED test_calc.py::test_add - assert -1 == 5"
    record = tmp_path / "calls.jsonl"
    answer = {
        "summary": "add() adds again.",
        "addressed": [
            {"comment_id": comment["id"], "reply": "Fixed: add() returns a + b."},
            {"comment_id": 424242, "reply": "not a comment of this pull request"},
        ],
    }
    coder = {
        "provider": "scripted",
        "model": "echo",
        "capabilities": ["coding"],
        "config": {"record": str(record), "script": {"fix": [{"write": {"calc.py": FIXED}, "json": answer}]}},
    }
    project = tmp_path / "project"
    project.mkdir()
    write_config(project, {"sh": SHELL, "coder": coder}, workspace=repo.work)
    old_head = repo.head_sha
    result = baton_cli(
        [
            "run",
            "pr-fix",
            "--pr",
            str(PR_NUMBER),
            "--json",
            "--test-command",
            "python3 -c 'import calc; assert calc.add(2, 3) == 5'",
        ],
        pull_request.env(),
        project,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    data = json.loads(result.stdout)
    assert data["status"] == "completed"

    prompt = json.loads(record.read_text().splitlines()[0])["prompt"]
    assert "add() subtracts, please fix" in prompt and f'"id": {comment["id"]}' in prompt
    assert "FAILED test_calc.py::test_add" in prompt
    # the reply is part of its thread, not a comment of its own
    assert '"replies": [{"author": "maintainer", "association": "OWNER", "body": "+1"}]' in prompt

    # the fix sits on top of the pull request's branch on the remote
    assert git(repo.bare, "show", "feature:calc.py") == FIXED
    assert git(repo.bare, "rev-parse", "feature~1").strip() == old_head
    assert (
        git(repo.bare, "log", "-1", "--format=%s", "feature").strip()
        == f"Address review comments on #{PR_NUMBER}"
    )

    replies = [
        c for c in gh.repos[REPO].review_comments[PR_NUMBER] if c.get("user", {}).get("login") == gh.login
    ]
    assert [(r["in_reply_to_id"], r["body"].splitlines()[0]) for r in replies] == [
        (comment["id"], "Fixed: add() returns a + b.")
    ]
    sticky = gh.comments(REPO, PR_NUMBER)
    assert len(sticky) == 1 and "Addressed 1 comment." in sticky[0]["body"]


def test_pr_fix_refuses_fork_pull_requests(pull_request: PullRequest, tmp_path: Path) -> None:
    pull_request.gh.add_repo("mallory/calc")
    pull_request.gh.repos[REPO].pulls[PR_NUMBER]["head"]["repo"]["full_name"] = "mallory/calc"
    project = tmp_path / "project"
    project.mkdir()
    coder = {"provider": "scripted", "model": "echo", "capabilities": ["coding"]}
    write_config(project, {"sh": SHELL, "coder": coder}, workspace=pull_request.repo.work)
    result = baton_cli(["run", "pr-fix", "--pr", str(PR_NUMBER)], pull_request.env(), project)
    assert result.returncode == 2
    assert "comes from a fork; pr-fix only pushes to branches of octo/calc" in result.stderr
