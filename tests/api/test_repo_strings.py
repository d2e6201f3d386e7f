"""Repository strings reach git only as https/ssh URLs or existing local repositories.

``"repo": "ext::sh -c touch% /tmp/x"`` used to pass the API's checks and reach
``git clone``; now it is a 422 problem, and every clone/fetch Baton runs forbids every
transport but https, ssh and (for local repositories) file on git's command line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from baton.integrations.hooks import HookError, checkout
from baton.workspace.remote import RepoNotAllowed, parse_repo, transport_args
from tests.api.conftest import Server


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _repo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "a.txt").write_text("a\n")
    _git(path, "init", "-q", "-b", "main")
    _git(path, "add", ".")
    _git(path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    return path


def test_the_api_refuses_transport_helpers_and_other_strings(
    server: Server, operator: httpx.Client, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    before = len(operator.get("/api/v1/executions", params={"limit": 200}).json()["items"])
    for repo in (
        f"ext::sh -c touch% {marker}",
        f"ext::sh -c 'touch {marker}'",
        "fd::3",
        "git://example.com/o/r.git",
        "http://example.com/o/r.git",
        "--upload-pack=touch /tmp/x",
        "-uhelper",
        "file:///etc",
        "/etc",
        "no/such/dir",
        "~no-such-user-baton/repo",
        "https://",
        "",
    ):
        resp = operator.post("/api/v1/executions", json={"workflow_id": "readme", "repo": repo})
        assert resp.status_code == 422, (repo, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["type"] == "urn:baton:problem:repo-not-allowed", (repo, resp.text)
    assert not marker.exists()
    after = len(operator.get("/api/v1/executions", params={"limit": 200}).json()["items"])
    assert after == before


def test_accepted_repository_strings() -> None:
    for url in (
        "https://github.com/octo/calc.git",
        "https://user@github.example:8443/octo/calc",
        "ssh://git@github.com/octo/calc.git",
        "git@github.com:octo/calc.git",
    ):
        assert parse_repo(url).url == url and not parse_repo(url).is_local
    with pytest.raises(RepoNotAllowed):
        parse_repo("git@github.com::octo/calc")  # transport-helper syntax


def test_clone_and_fetch_forbid_other_transports_even_when_the_repository_allows_them(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(HookError, match="not a git repository or an accepted URL"):
        checkout(f"ext::sh -c touch% {marker}", tmp_path / "cache")
    # a repository whose config was rewritten (by an agent, say) to fetch through ext::
    work = _repo(tmp_path / "work")
    _git(work, "remote", "add", "origin", f"ext::sh -c touch% {marker}")
    _git(work, "config", "protocol.ext.allow", "always")
    _git(work, "config", "protocol.allow", "always")
    with pytest.raises(HookError, match="fetch"):
        checkout(str(work), tmp_path / "cache")
    assert not marker.exists()
    # the same fetch without Baton's options runs the command: the options are what stop it
    subprocess.run(["git", "fetch", "-q", "origin"], cwd=work, capture_output=True, check=False)
    assert marker.exists()


def test_a_local_repository_is_cloned_over_file_only_when_it_is_local(tmp_path: Path) -> None:
    upstream = _repo(tmp_path / "upstream")
    target = tmp_path / "clone"
    denied = subprocess.run(
        ["git", *transport_args(local=False), "clone", "-q", "--", str(upstream), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert denied.returncode != 0 and "transport 'file' not allowed" in denied.stderr
    clone = checkout(f"file://{upstream}", tmp_path / "cache")
    assert (clone / "a.txt").read_text() == "a\n"
