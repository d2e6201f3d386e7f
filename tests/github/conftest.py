"""Fixtures for the GitHub tests: the fake GitHub API and a repository with a pull request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.fake_github import FakeGitHub, pull_files_from_git
from tests.fixtures.git_repos import PR_NUMBER, ReviewRepo, review_repo

TOKEN = "ghs_test_token_0123456789"
REPO = "octo/calc"


@dataclass
class PullRequest:
    """A real repository, its bare remote, and the fake GitHub's view of pull request 7."""

    repo: ReviewRepo
    gh: FakeGitHub

    def env(self, **extra: str) -> dict[str, str]:
        return {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": self.gh.url, "GITHUB_REPOSITORY": REPO, **extra}

    def refresh_files(self) -> None:
        pull = self.gh.repos[REPO].pulls[PR_NUMBER]
        pull["head"]["sha"] = self.repo.head_sha
        self.gh.repos[REPO].files[PR_NUMBER] = pull_files_from_git(self.repo.work, "main", self.repo.head_sha)


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, read_only_tokens=("ghs_read_only",)) as gh:
        yield gh


@pytest.fixture
def pull_request(tmp_path: Path, fake_github: FakeGitHub) -> PullRequest:
    repo = review_repo(tmp_path)
    fake_github.add_repo(REPO, clone_url=str(repo.bare))
    fake_github.add_pull(
        REPO,
        PR_NUMBER,
        head_sha=repo.head_sha,
        base="main",
        head_ref="feature",
        base_sha=repo.base_sha,
        files=pull_files_from_git(repo.work, "main", repo.head_sha),
    )
    return PullRequest(repo, fake_github)
