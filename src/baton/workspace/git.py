"""Git plumbing for workspaces: tree state, diffs between states, worktrees per execution.

Tree states are computed with a throw-away index (``GIT_INDEX_FILE``), so tracked and
untracked files (minus ignored ones) are captured without touching the user's index.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
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


async def tree_state(path: Path) -> str | None:
    """A git tree id for the workspace's current files (tracked + untracked), or None."""
    if not (path / ".git").exists() and not await is_git_repo(path):
        return None
    with tempfile.TemporaryDirectory(prefix="baton-idx-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        code, _, err = await _git(path, "add", "-A", ".", env=env)
        if code != 0:
            raise GitError(f"git add failed in {path}: {err.decode(errors='replace').strip()}")
        code, out, err = await _git(path, "write-tree", env=env)
        if code != 0:
            raise GitError(f"git write-tree failed in {path}: {err.decode(errors='replace').strip()}")
        return out.decode().strip()


def directory_fingerprint(path: Path, limit: int = 20_000) -> str:
    """A cheap fingerprint of a non-git directory: relative paths, sizes and mtimes."""
    digest = hashlib.sha256()
    count = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in {".git", ".baton", "node_modules", ".venv"})
        for name in sorted(files):
            full = os.path.join(root, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            digest.update(f"{os.path.relpath(full, path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            count += 1
            if count >= limit:
                return digest.hexdigest()
    return digest.hexdigest()


async def diff_trees(path: Path, before: str, after: str) -> str:
    """A binary-safe patch turning tree ``before`` into tree ``after``."""
    if before == after:
        return ""
    code, out, err = await _git(path, "diff", "--binary", "--no-color", before, after)
    if code != 0:
        raise GitError(f"git diff failed: {err.decode(errors='replace').strip()}")
    return out.decode("utf-8", errors="surrogateescape")


async def changed_files(path: Path, before: str, after: str) -> list[str]:
    if before == after:
        return []
    code, out, _ = await _git(path, "diff", "--name-only", before, after)
    return [line for line in out.decode().splitlines() if line] if code == 0 else []


async def apply_patch(path: Path, patch: str) -> None:
    """Apply a patch made by :func:`diff_trees` to the workspace's files."""
    if not patch:
        return
    code, _, err = await _git(path, "apply", "--binary", "--whitespace=nowarn", "-",
                              stdin=patch.encode("utf-8", errors="surrogateescape"))
    if code != 0:
        raise GitError(f"could not re-apply the cached diff: {err.decode(errors='replace').strip()}")


async def create_worktree(repo: Path, branch: str, target: Path, base: str = "HEAD") -> Path:
    """Create ``target`` as a worktree of ``repo`` on a new branch ``branch``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    code, _, err = await _git(repo, "worktree", "add", "-b", branch, str(target), base)
    if code != 0:
        raise GitError(f"git worktree add {target} failed: {err.decode(errors='replace').strip()}")
    return target
