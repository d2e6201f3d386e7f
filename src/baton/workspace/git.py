"""Git plumbing for workspaces: is this a work tree, and worktrees per execution.

Workspace snapshots (the cache key, "files changed") live in :mod:`baton.workspace.snapshot`
and never write to the repository.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from baton.errors import BatonError


class GitError(BatonError):
    """A git command failed."""


async def _git(cwd: Path, *args: str, env: dict[str, str] | None = None,
               stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    full_env = dict(os.environ)
    full_env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"})
    if env:
        full_env.update(env)
    proc = await asyncio.create_subprocess_exec(
        "git", *args, cwd=str(cwd), env=full_env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin)
    return proc.returncode or 0, out, err


async def is_git_repo(path: Path) -> bool:
    code, out, _ = await _git(path, "rev-parse", "--is-inside-work-tree")
    return code == 0 and out.strip() == b"true"


async def head_info(path: Path) -> tuple[str, str] | None:
    """(branch, commit) of the work tree at ``path``; None outside git or without a commit."""
    code, out, _ = await _git(path, "rev-parse", "HEAD")
    if code != 0:
        return None
    commit = out.decode("utf-8", "replace").strip()
    code, out, _ = await _git(path, "rev-parse", "--abbrev-ref", "HEAD")
    branch = out.decode("utf-8", "replace").strip() if code == 0 else "HEAD"
    return ("(detached)" if branch == "HEAD" else branch), commit


async def persisted_credentials(path: Path) -> list[str]:
    """Keys of the repository's local git config (with the files it includes) that hold a
    token: ``http.<url>.extraheader`` entries with an Authorization header, as
    ``actions/checkout`` persists them. Worktrees share that config. Never the values."""
    code, out, _ = await _git(path, "config", "--local", "--includes", "--get-regexp",
                              r"^http\.(.*\.)?extraheader$")
    keys: list[str] = []
    for line in out.decode("utf-8", "replace").splitlines() if code == 0 else []:
        key, _, value = line.partition(" ")
        if "authorization" in value.lower() and key not in keys:
            keys.append(key)
    return keys


async def create_worktree(repo: Path, branch: str, target: Path, base: str = "HEAD") -> Path:
    """Create ``target`` as a worktree of ``repo`` on a new branch ``branch``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    code, _, err = await _git(repo, "worktree", "add", "-b", branch, str(target), base)
    if code != 0:
        raise GitError(f"git worktree add {target} failed: {err.decode(errors='replace').strip()}")
    return target
