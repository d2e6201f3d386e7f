"""``baton github action`` against sample event payloads, with the fake GitHub API.

Each test writes the event GitHub would deliver to ``GITHUB_EVENT_PATH`` and runs the
real entry point in a subprocess with the Actions environment (``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``, ``GITHUB_WORKSPACE``...), then checks what reached the API,
the outputs and the exit code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fixtures.git_repos import PR_NUMBER, add_commit
from tests.workflows.support import CLAUDE_REVIEW, SHELL, review_agents, scripted, write_config

from .conftest import REPO, PullRequest
from .test_review import baton_cli

FORK = "mallory/calc"


def pr_event(pull_request: PullRequest, action: str, *, head_repo: str = REPO) -> dict[str, Any]:
    repo = pull_request.repo
    return {
        "action": action,
        "number": PR_NUMBER,
        "pull_request": {
            "number": PR_NUMBER,
            "draft": False,
            "title": "feature",
            "user": {"login": "mallory" if head_repo != REPO else "contributor"},
            "author_association": "NONE" if head_repo != REPO else "MEMBER",
            "head": {"ref": "feature", "sha": repo.head_sha, "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "sha": repo.base_sha, "repo": {"full_name": REPO}},
        },
        "repository": {"full_name": REPO},
    }


def comment_event(body: str, association: str, *, on_pull: bool = True) -> dict[str, Any]:
    issue: dict[str, Any] = {"number": PR_NUMBER, "title": "feature"}
    if on_pull:
        issue["pull_request"] = {"url": "..."}
    return {
        "action": "created",
        "issue": issue,
        "repository": {"full_name": REPO},
        "comment": {"id": 1, "body": body, "author_association": association, "user": {"login": "someone"}},
    }


def run_action(
    pull_request: PullRequest,
    tmp_path: Path,
    event_name: str,
    event: dict[str, Any],
    *,
    agents: dict[str, Any] | None = None,
    **env: str,
) -> tuple[int, dict[str, str], str, str]:
    folder = tmp_path / f"action-{len(list(tmp_path.glob('action-*')))}"
    folder.mkdir()
    (folder / "event.json").write_text(json.dumps(event))
    cfg = write_config(folder, agents or review_agents(), workspace=pull_request.repo.work)
    full = pull_request.env(
        GITHUB_EVENT_NAME=event_name,
        GITHUB_EVENT_PATH=str(folder / "event.json"),
        GITHUB_WORKSPACE=str(pull_request.repo.work),
        GITHUB_OUTPUT=str(folder / "output"),
        GITHUB_STEP_SUMMARY=str(folder / "summary.md"),
        BATON_CONFIG=str(cfg),
    )
    full.update(env)
    proc = baton_cli(["github", "action"], full, pull_request.repo.work)
    outputs = {}
    if (folder / "output").exists():
        outputs = dict(line.split("=", 1) for line in (folder / "output").read_text().splitlines())
    summary = (folder / "summary.md").read_text() if (folder / "summary.md").exists() else ""
    return proc.returncode, outputs, summary, proc.stderr


def test_pull_request_opened_is_reviewed_posted_and_fails_the_job(
    pull_request: PullRequest, tmp_path: Path
) -> None:
    code, outputs, summary, stderr = run_action(
        pull_request, tmp_path, "pull_request", pr_event(pull_request, "opened")
    )
    assert code == 1, stderr  # fail-on request_changes (the default)
    assert outputs["verdict"] == "request_changes"
    assert len(outputs["execution-id"]) == 32 and float(outputs["cost-usd"]) == 0.0
    gh = pull_request.gh
    assert len(gh.reviews(REPO, PR_NUMBER)) == 1 and len(gh.comments(REPO, PR_NUMBER)) == 1
    runs = gh.repos[REPO].check_runs
    assert [(r["name"], r["head_sha"], r["conclusion"]) for r in runs] == [
        ("Baton code-review", pull_request.repo.head_sha, "failure")
    ]
    assert summary.startswith("## Baton code review: ❌ Changes requested")
    assert "posted a REQUEST_CHANGES review with 2 inline comments on #7" in summary
    # the execution remembers who started it
    cfg = str(tmp_path / "action-0" / "baton.yaml")
    shown = baton_cli(["status", outputs["execution-id"], "--json", "--config", cfg], pull_request.env(),
                      pull_request.repo.work)
    assert json.loads(shown.stdout).get("trigger") == "action", (shown.stdout, shown.stderr)


def test_synchronize_reviews_only_the_new_commits_and_edits_the_sticky(
    pull_request: PullRequest, tmp_path: Path
) -> None:
    run_action(
        pull_request, tmp_path, "pull_request", pr_event(pull_request, "opened"), BATON_FAIL_ON="never"
    )
    first_head = pull_request.repo.head_sha
    add_commit(pull_request.repo, "notes.py", "NOTE = 1\n", "notes")
    pull_request.refresh_files()
    code, _, summary, stderr = run_action(
        pull_request, tmp_path, "pull_request", pr_event(pull_request, "synchronize"), BATON_FAIL_ON="never"
    )
    assert code == 0, stderr
    assert f"incremental: reviewing the changes since {first_head[:12]}" in summary
    assert "Reviewed 1 file, changes since" in summary
    gh = pull_request.gh
    assert len(gh.comments(REPO, PR_NUMBER)) == 1 and gh.comments(REPO, PR_NUMBER)[0]["edits"] == 1
    assert len(gh.reviews(REPO, PR_NUMBER)) == 2


def test_a_fork_gets_a_read_only_run_without_secrets(pull_request: PullRequest, tmp_path: Path) -> None:
    leaky = dict(CLAUDE_REVIEW, summary="key=${ANTHROPIC_API_KEY:-absent}")
    agents = {"sh": SHELL, "claude": scripted(leaky)}
    pull_request.gh.add_repo(FORK)
    code, outputs, summary, stderr = run_action(
        pull_request,
        tmp_path,
        "pull_request_target",
        pr_event(pull_request, "opened", head_repo=FORK),
        agents=agents,
        ANTHROPIC_API_KEY="sk-ant-secret-value",
    )
    assert code == 1, stderr  # the verdict still counts
    assert "read-only run (no secrets, nothing written to GitHub); removed ANTHROPIC_API_KEY" in summary
    assert "key=absent" in summary and "sk-ant-secret-value" not in summary + stderr
    assert pull_request.gh.writes() == []
    assert outputs["verdict"] == "request_changes"


def test_a_fork_the_repository_opted_in_for_is_posted(pull_request: PullRequest, tmp_path: Path) -> None:
    pull_request.gh.add_repo(FORK)
    # the configuration comes from the base branch (contents API), never from the fork's checkout
    trusted = write_config(tmp_path, review_agents(), workspace=pull_request.repo.work).read_text()
    pull_request.gh.repos[REPO].contents[(".github/baton.yaml", "main")] = trusted
    (pull_request.repo.work / ".github").mkdir()
    (pull_request.repo.work / ".github" / "baton.yaml").write_text("version: '1.0.0'\nagents: {}\n")
    code, _, summary, stderr = run_action(
        pull_request,
        tmp_path,
        "pull_request_target",
        pr_event(pull_request, "opened", head_repo=FORK),
        BATON_ALLOW_FORKS="true",
        BATON_FAIL_ON="never",
        BATON_CONFIG=".github/baton.yaml",
    )
    assert code == 0, stderr
    assert len(pull_request.gh.reviews(REPO, PR_NUMBER)) == 1
    assert "read-only" not in summary
    fetched = [r for r in pull_request.gh.requests if r.path.endswith("/contents/.github/baton.yaml")]
    assert [r.query.get("ref") for r in fetched] == [["main"]]


def test_issue_comment_command_from_a_member_runs_the_review(
    pull_request: PullRequest, tmp_path: Path
) -> None:
    code, outputs, _, stderr = run_action(
        pull_request,
        tmp_path,
        "issue_comment",
        comment_event("/baton review", "MEMBER"),
        BATON_FAIL_ON="error",
    )
    assert code == 0, stderr
    assert outputs["verdict"] == "request_changes"
    assert len(pull_request.gh.reviews(REPO, PR_NUMBER)) == 1


def test_issue_comment_from_a_stranger_or_without_command_is_skipped(
    pull_request: PullRequest, tmp_path: Path
) -> None:
    code, outputs, summary, _ = run_action(
        pull_request, tmp_path, "issue_comment", comment_event("/baton review", "NONE")
    )
    assert (code, outputs["verdict"]) == (0, "skipped")
    assert "only taken from owners, members and collaborators, not NONE" in summary
    code, outputs, summary, _ = run_action(
        pull_request, tmp_path, "issue_comment", comment_event("looks good to me", "OWNER")
    )
    assert (code, outputs["verdict"]) == (0, "skipped") and "not a /baton command" in summary
    assert pull_request.gh.writes() == []


def test_workflow_dispatch_runs_the_named_workflow_with_its_inputs(
    pull_request: PullRequest, tmp_path: Path
) -> None:
    event = {
        "inputs": {"workflow": "code-review", "pr": str(PR_NUMBER), "focus": "security"},
        "ref": "refs/heads/main",
        "repository": {"full_name": REPO},
    }
    code, outputs, _, stderr = run_action(
        pull_request, tmp_path, "workflow_dispatch", event, BATON_FAIL_ON="comment"
    )
    assert code == 1, stderr
    assert outputs["verdict"] == "request_changes"
    assert len(pull_request.gh.reviews(REPO, PR_NUMBER)) == 1


def test_closed_pull_requests_and_bad_inputs(pull_request: PullRequest, tmp_path: Path) -> None:
    code, outputs, _, _ = run_action(pull_request, tmp_path, "pull_request", pr_event(pull_request, "closed"))
    assert (code, outputs["verdict"]) == (0, "skipped")
    code, _, _, stderr = run_action(
        pull_request, tmp_path, "pull_request", pr_event(pull_request, "opened"), BATON_FAIL_ON="sometimes"
    )
    assert code == 2 and stderr.strip() == (
        "error: fail-on 'sometimes' must be one of never, error, request_changes, comment"
    )
