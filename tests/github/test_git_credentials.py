"""Credentials persisted by actions/checkout are removed; Baton's push holds the token alone."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from baton.integrations.git_credentials import push_branch, push_command, scrub_persisted_credentials
from tests.fixtures.git_repos import git, init_remote

TOKEN = "ghs_persisted_token_0123456789"
HEADER = "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def _config(repo: Path) -> str:
    return subprocess.run(
        ["git", "config", "--local", "--includes", "--list"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_what_actions_checkout_persists_is_removed(tmp_path: Path) -> None:
    work, _ = init_remote(tmp_path, {"a.txt": "a\n"})
    # actions/checkout v4: a header in .git/config; newer versions: an includeIf'd credentials file
    git(work, "config", "--local", "http.https://github.com/.extraheader", HEADER)
    git(work, "config", "--local", "credential.helper", "store")
    creds = tmp_path / "runner-temp" / "git-credentials-1234.config"
    creds.parent.mkdir()
    creds.write_text(f'[http "https://github.com/"]\n\textraheader = {HEADER}\n')
    git(work, "config", "--local", f"includeIf.gitdir:{work}/.git.path", str(creds))
    git(work, "config", "--local", "core.autocrlf", "false")
    assert base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode() in _config(work)

    removed = scrub_persisted_credentials(work)
    assert removed == [
        "http.https://github.com/.extraheader",
        "credential.helper",
        f"includeif.gitdir:{work}/.git.path",
    ]
    after = _config(work)
    assert "extraheader" not in after and "credential" not in after and "includeif" not in after
    assert "core.autocrlf=false" in after  # nothing else touched
    assert scrub_persisted_credentials(work) == []


def test_the_token_is_in_the_push_process_only_scoped_to_the_github_server(tmp_path: Path) -> None:
    argv, env = push_command(
        tmp_path, url="https://github.com/octo/calc.git", sha="a" * 40, branch="baton/x", token=TOKEN
    )
    assert not any(TOKEN in a or "extraheader" in a for a in argv)
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    assert env["GIT_CONFIG_VALUE_0"] == HEADER
    for option in ("core.hooksPath=/dev/null", "credential.helper=", "http.proxy=", "protocol.allow=never"):
        assert option in argv
    # any other server gets no header
    _, other = push_command(
        tmp_path, url="https://evil.example/octo/calc.git", sha="a" * 40, branch="baton/x", token=TOKEN
    )
    assert TOKEN not in str(other) and not any(k.startswith("GIT_CONFIG_KEY") for k in other)


def test_a_hook_or_helper_planted_in_the_repository_never_runs_during_the_push(tmp_path: Path) -> None:
    work, bare = init_remote(tmp_path, {"a.txt": "a\n"})
    spy = tmp_path / "spy.txt"
    hook = work / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\nenv > {spy}\n")
    hook.chmod(0o755)
    git(work, "config", "--local", "credential.helper", f"!f() {{ env > {spy}; }}; f")
    (work / "b.txt").write_text("b\n")
    git(work, "add", "b.txt")
    git(work, "commit", "-q", "-m", "b")
    sha = git(work, "rev-parse", "HEAD").strip()
    push_branch(work, remote="origin", sha=sha, branch="baton/change", token=TOKEN)
    assert git(bare, "rev-parse", "baton/change").strip() == sha
    assert not spy.exists()


def test_baton_fetches_before_the_run_and_steps_use_it_when_their_own_fetch_fails(tmp_path: Path) -> None:
    """A private repository: Baton fetches with its credential; a step's fetch without one fails."""
    from baton.integrations.git_credentials import fetch_refs
    from baton.workflows.diff import DiffError, pr_head

    work, bare = init_remote(tmp_path, {"a.txt": "a\n"})
    (work / "b.txt").write_text("b\n")
    git(work, "add", "b.txt")
    git(work, "commit", "-q", "-m", "pr")
    head = git(work, "rev-parse", "HEAD").strip()
    git(work, "push", "-q", "origin", "HEAD:refs/pull/7/head")
    git(work, "reset", "-q", "--hard", "HEAD~1")
    assert fetch_refs(work, ["+refs/pull/7/head:refs/remotes/origin/pr/7"], token=TOKEN)
    git(work, "remote", "set-url", "origin", str(tmp_path / "unreachable.git"))
    assert pr_head(work, 7) == head
    try:
        pr_head(work, 8)
    except DiffError as exc:
        assert "cannot fetch pull request 8 from origin (the fetch failed" in str(exc)
    else:
        raise AssertionError("pull request 8 does not exist")
    assert bare.exists()
