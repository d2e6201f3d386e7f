"""Posting a merged review to a pull request on the fake GitHub API: one formal review with
inline comments on the right lines, one sticky comment that later runs edit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baton.integrations.github import GitHubApiError, GitHubClient, GitHubSettings
from baton.integrations.github_review import (
    commentable_lines,
    plan_review,
    post_review,
    sanitize,
    sticky_marker,
    validate_review,
)
from tests.fixtures.git_repos import BUG_LINES, PR_NUMBER, add_commit
from tests.workflows.support import SHELL, review_agents, scripted, write_config

from .conftest import REPO, TOKEN, PullRequest


def baton_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "baton", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=240
    )


def test_code_review_posts_one_review_with_inline_comments_then_updates_the_sticky_comment(
    pull_request: PullRequest, tmp_path: Path
) -> None:
    gh, repo = pull_request.gh, pull_request.repo
    cfg = write_config(tmp_path, review_agents(), workspace=repo.work)
    first = baton_cli(
        ["github", "review", "--pr", str(PR_NUMBER), "--config", str(cfg)], pull_request.env(), tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert "posted a REQUEST_CHANGES review on #7: 2 inline comments, 1 in the body" in first.stderr
    assert "## Baton code review: ❌ Changes requested" in first.stdout

    reviews = gh.reviews(REPO, PR_NUMBER)
    assert len(reviews) == 1
    review = reviews[0]
    assert review["event"] == "REQUEST_CHANGES" and review["commit_id"] == repo.head_sha
    inline = sorted((c["path"], c["line"], c["side"]) for c in review["comments"])
    assert inline == [("calc.py", BUG_LINES["calc.py"], "RIGHT"), ("db.py", BUG_LINES["db.py"], "RIGHT")]
    calc = next(c for c in review["comments"] if c["path"] == "calc.py")
    assert calc["body"].startswith("**high · bug** — found by claude, codex")
    # README.md is not part of the change: its finding is in the review body
    assert "`README.md:1` **low** Document clamp() in the README." in review["body"]

    comments = gh.comments(REPO, PR_NUMBER)
    assert len(comments) == 1
    assert comments[0]["body"].startswith(sticky_marker("code-review"))
    assert f'"head":"{repo.head_sha}"' in comments[0]["body"]

    # a new commit, an incremental run: the sticky comment is edited, not duplicated
    add_commit(repo, "notes.py", "NOTE = 1\n", "notes")
    pull_request.refresh_files()
    second = baton_cli(
        ["github", "review", "--pr", str(PR_NUMBER), "--incremental", "--config", str(cfg)],
        pull_request.env(),
        tmp_path,
    )
    assert second.returncode == 0, second.stderr
    assert "incremental: reviewing the changes since" in second.stderr
    comments = gh.comments(REPO, PR_NUMBER)
    assert len(comments) == 1 and comments[0]["edits"] == 1
    assert f'"head":"{repo.head_sha}"' in comments[0]["body"]
    assert "changes since" in comments[0]["body"]
    assert len(gh.reviews(REPO, PR_NUMBER)) == 2
    # every request carried the token; nothing was written without it
    assert all(r.authorized for r in gh.requests)


async def test_an_approval_is_only_posted_when_the_workflow_allows_it(pull_request: PullRequest) -> None:
    client = GitHubClient(GitHubSettings.from_env(pull_request.env()))
    merged = {
        "verdict": "approve",
        "summary": "fine",
        "report": "## ok",
        "findings": [],
        "reviewers": {"a": "approve"},
    }
    posted = await post_review(client, PR_NUMBER, merged)
    assert posted.event == "COMMENT"
    assert "not allowed to approve" in pull_request.gh.reviews(REPO, PR_NUMBER)[-1]["body"]
    posted = await post_review(client, PR_NUMBER, merged, allow_approve=True)
    assert posted.event == "APPROVE"
    assert [r["state"] for r in pull_request.gh.reviews(REPO, PR_NUMBER)] == ["COMMENTED", "APPROVED"]
    assert len(pull_request.gh.comments(REPO, PR_NUMBER)) == 1


async def test_refused_inline_comments_fall_back_to_the_review_body(pull_request: PullRequest) -> None:
    pull_request.gh.reject_inline = True
    client = GitHubClient(GitHubSettings.from_env(pull_request.env()))
    finding = {
        "file": "calc.py",
        "line": 5,
        "severity": "high",
        "category": "bug",
        "message": "broken",
        "suggestion": "",
        "agents": ["a"],
    }
    merged = {"verdict": "comment", "summary": "s", "report": "r", "findings": [finding], "reviewers": {}}
    posted = await post_review(client, PR_NUMBER, merged)
    assert posted.inline == 0
    review = pull_request.gh.reviews(REPO, PR_NUMBER)[0]
    assert review["comments"] == [] and "`calc.py:5` **high** broken" in review["body"]


async def test_enterprise_base_url_and_errors(pull_request: PullRequest) -> None:
    ghe = GitHubClient(
        GitHubSettings.from_env(pull_request.env(GITHUB_API_URL=pull_request.gh.url + "/api/v3"))
    )
    assert (await ghe.pull(PR_NUMBER))["head"]["sha"] == pull_request.repo.head_sha
    bad = GitHubClient(GitHubSettings.from_env(pull_request.env(GITHUB_TOKEN="wrong")))
    with pytest.raises(GitHubApiError) as err:
        await bad.pull(PR_NUMBER)
    assert err.value.status == 401 and "\n" not in str(err.value)
    assert TOKEN not in str(err.value)
    read_only = GitHubClient(GitHubSettings.from_env(pull_request.env(GITHUB_TOKEN="ghs_read_only")))
    with pytest.raises(GitHubApiError, match="403"):
        await read_only.create_comment(PR_NUMBER, "hi")


async def test_a_planted_marker_by_someone_else_is_not_trusted(pull_request: PullRequest) -> None:
    gh = pull_request.gh
    gh.repos[REPO].comments[PR_NUMBER] = [
        {
            "id": 5,
            "user": {"login": "mallory"},
            "body": sticky_marker("code-review") + '\n<!-- baton:meta {"head":"0"} -->',
        }
    ]
    client = GitHubClient(GitHubSettings.from_env(pull_request.env()))
    merged = {"verdict": "comment", "summary": "s", "report": "r", "findings": [], "reviewers": {}}
    await post_review(client, PR_NUMBER, merged)
    bodies = [c["user"]["login"] for c in gh.comments(REPO, PR_NUMBER)]
    assert bodies == ["mallory", "baton-bot[bot]"]


def test_commentable_lines_follow_the_hunks() -> None:
    patch = "@@ -1,3 +1,4 @@\n a\n-b\n+c\n+d\n e\n@@ -10,2 +11,2 @@\n x\n+y"
    assert commentable_lines(patch) == {1, 2, 3, 4, 11, 12}


def test_agent_text_is_validated_and_made_safe() -> None:
    with pytest.raises(ValueError, match="verdict"):
        validate_review({"verdict": "merge it", "findings": []})
    with pytest.raises(ValueError, match=r"findings\[0\]"):
        validate_review({"verdict": "comment", "findings": [{"file": "", "line": 0, "severity": "high"}]})
    assert sanitize("ping @octocat <!-- baton:sticky -->") == "ping @\u200boctocat &lt;!-- baton:sticky -->"
    review = validate_review({"verdict": "approve", "summary": "x", "findings": [], "reviewers": {}})
    files = [{"filename": "a.py", "patch": "@@ -1 +1 @@\n-a\n+b"}]
    assert plan_review(review, files, allow_approve=False).event == "COMMENT"


def test_review_without_credentials_is_a_one_line_error(pull_request: PullRequest, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        {"sh": SHELL, "claude": scripted({"verdict": "approve", "summary": "", "findings": []})},
        workspace=pull_request.repo.work,
    )
    result = baton_cli(
        ["github", "review", "--pr", "7", "--config", str(cfg)],
        {"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": pull_request.gh.url},
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: no GitHub credentials: set GITHUB_TOKEN")


async def test_github_app_authentication_gets_an_installation_token(pull_request: PullRequest) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    gh = pull_request.gh
    gh.app_id = "1234"
    gh.app_public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    env = {
        "GITHUB_API_URL": gh.url,
        "GITHUB_REPOSITORY": REPO,
        "BATON_GITHUB_APP_ID": "1234",
        "BATON_GITHUB_APP_PRIVATE_KEY": pem,
    }
    client = GitHubClient(GitHubSettings.from_env(env))
    await client.create_comment(PR_NUMBER, "hello from the app")
    assert [c["body"] for c in gh.comments(REPO, PR_NUMBER)] == ["hello from the app"]
    paths = [(r.method, r.path, r.authorized) for r in gh.requests]
    assert paths == [
        ("GET", f"/repos/{REPO}/installation", True),
        ("POST", "/app/installations/55/access_tokens", True),
        ("POST", f"/repos/{REPO}/issues/{PR_NUMBER}/comments", True),
    ]
    # what Baton's git push gets: a fresh installation token
    assert await client.git_token() == gh.token
