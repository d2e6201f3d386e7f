"""Git credentials that only Baton holds: removed from checkouts, passed to one push at a time.

``actions/checkout`` persists the job's token in the checkout (``persist-credentials``,
true by default): an ``http.<url>.extraheader`` in ``.git/config``, or an ``includeIf``
that pulls in a credentials file. Every agent working in that checkout — or in a worktree,
which shares the config — could read it and push. :func:`scrub_persisted_credentials`
removes those entries before any agent starts.

:func:`push_branch` is the one place Baton pushes. The token reaches only that ``git push``
subprocess (``GIT_CONFIG_*`` variables of that process, as an extra header scoped to the
GitHub server's URL, so it is never sent elsewhere); the command line turns off hooks,
credential helpers, proxies and every transport but https, ssh and file, so nothing an
agent planted in the repository's config or hooks runs with the token in reach.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path

from baton.config.masking import MASK
from baton.errors import BatonError
from baton.workspace.remote import RepoNotAllowed, parse_repo, transport_args

DEFAULT_SERVER_URL = "https://github.com"
# keys (lower-case, as ``git config --get-regexp`` prints them) that carry credentials
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,100}$")
_CREDENTIAL_KEYS = ("http.extraheader", "credential.helper", "credential.username")


class PushError(BatonError):
    """Baton's push of a branch failed (exit 1)."""


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env if env is not None else {**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )


def _is_credential(key: str) -> bool:
    if key.startswith("http.") and key.endswith(".extraheader"):
        return True
    scoped = key.startswith("credential.") and key.endswith((".helper", ".username"))
    return key in _CREDENTIAL_KEYS or scoped


def scrub_persisted_credentials(repo: Path) -> list[str]:
    """Remove credential entries from ``repo``'s local git config; the keys removed.

    Also drops ``includeIf``/``include`` entries whose file holds such entries (how newer
    ``actions/checkout`` versions persist the token).
    """
    if not (repo / ".git").exists():
        return []
    listed = _git(repo, "config", "--local", "--includes", "--show-origin", "--get-regexp", ".*")
    local = _git(repo, "config", "--local", "--no-includes", "--get-regexp", ".*")
    removed: list[str] = []
    include_files: dict[str, str] = {}
    for line in local.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key.startswith(("includeif.", "include.")) and key.endswith(".path"):
            include_files[key] = value
        elif _is_credential(key) and key not in removed:
            _git(repo, "config", "--local", "--unset-all", key)
            removed.append(key)
    credential_files = set()
    for line in listed.stdout.splitlines():
        origin, _, rest = line.partition("\t")
        key = rest.partition(" ")[0]
        if origin.startswith("file:") and _is_credential(key):
            credential_files.add(Path(origin[5:]).name)
    for key, path in include_files.items():
        if Path(path).name in credential_files:
            _git(repo, "config", "--local", "--unset-all", key)
            removed.append(key)
    return removed


def auth_header(token: str) -> str:
    """The header ``actions/checkout`` sends: basic auth as ``x-access-token``."""
    encoded = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"AUTHORIZATION: basic {encoded}"


def git_command(
    cwd: Path, verb: list[str], *, url: str, token: str | None, server_url: str = DEFAULT_SERVER_URL
) -> tuple[list[str], dict[str, str]]:
    """argv and environment of one of Baton's own network git commands against ``url``.

    ``verb`` is the subcommand with its options (``["push", "--no-verify"]``); the URL goes
    after ``--`` and the caller appends the refspecs. The token is only in the returned
    environment, as a header for URLs under ``server_url``.
    """
    try:
        source = parse_repo(url, base=cwd)
    except RepoNotAllowed as exc:
        raise PushError(f"cannot {verb[0]}: {exc}") from None
    argv = [
        "git",
        *transport_args(local=source.is_local),
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "credential.helper=",
        "-c",
        "http.proxy=",
        "-c",
        "core.askPass=",
        "-c",
        "http.sslVerify=true",
        *verb,
        "--",
        source.url,
    ]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    for name in [n for n in env if n.startswith("GIT_CONFIG_")]:
        del env[name]
    server = server_url.rstrip("/") + "/"
    if token and source.url.startswith(server):
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"http.{server}.extraheader",
                "GIT_CONFIG_VALUE_0": auth_header(token),
            }
        )
    return argv, env


def push_command(
    cwd: Path, *, url: str, sha: str, branch: str, token: str | None, server_url: str = DEFAULT_SERVER_URL
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of Baton's ``git push`` (the token only in that environment)."""
    argv, env = git_command(
        cwd, ["push", "--quiet", "--no-verify"], url=url, token=token, server_url=server_url
    )
    return [*argv, f"{sha}:refs/heads/{branch}"], env


def _remote_url(cwd: Path, remote: str, *, push: bool) -> str:
    if not _REMOTE_NAME.match(remote):
        raise PushError(f"{remote!r} is not a remote name")
    found = _git(cwd, "remote", "get-url", *(["--push"] if push else []), remote)
    if found.returncode != 0:
        raise PushError(f"no remote {remote!r} in {cwd}")
    return found.stdout.strip()


def fetch_refs(
    cwd: Path,
    refspecs: list[str],
    *,
    remote: str = "origin",
    token: str | None = None,
    server_url: str = DEFAULT_SERVER_URL,
) -> bool:
    """Fetch ``refspecs`` from ``remote`` with Baton's credential, before any agent runs.

    Steps fetch again without credentials; for a private repository they then find what
    Baton fetched here. False when the fetch failed (the steps report it).
    """
    url = _remote_url(cwd, remote, push=False)
    argv, env = git_command(
        cwd, ["fetch", "--quiet", "--no-tags"], url=url, token=token, server_url=server_url
    )
    proc = subprocess.run([*argv, *refspecs], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return proc.returncode == 0


def push_branch(
    cwd: Path,
    *,
    remote: str,
    sha: str,
    branch: str,
    token: str | None = None,
    server_url: str = DEFAULT_SERVER_URL,
) -> str:
    """Push commit ``sha`` to ``branch`` of ``remote`` (a remote name of ``cwd``); the URL pushed to."""
    url = _remote_url(cwd, remote, push=True)
    argv, env = push_command(cwd, url=url, sha=sha, branch=branch, token=token, server_url=server_url)
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.split())[:300]
        if token:
            detail = detail.replace(token, MASK)
        raise PushError(f"git push of {sha[:12]} to {branch} failed: {detail}")
    return url


__all__ = [
    "DEFAULT_SERVER_URL",
    "PushError",
    "auth_header",
    "fetch_refs",
    "git_command",
    "push_branch",
    "push_command",
    "scrub_persisted_credentials",
]
