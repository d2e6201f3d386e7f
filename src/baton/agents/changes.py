"""Which files an agent changed: compare the workspace before and after a call.

In a git work tree the snapshot is ``git status --porcelain=v2`` (dirty and untracked paths,
with their size and mtime, plus HEAD); a path whose entry appears, disappears or changes
counts, and so does every path of a commit the agent made. Outside git the snapshot is a
size/mtime map of the tree, capped at :data:`MAX_FILES` entries.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 20_000
_SKIP_DIRS = {".git", ".hg", ".svn"}
_GIT_TIMEOUT = 30.0

Stamp = tuple[str, int, int]


@dataclass(slots=True)
class Snapshot:
    """The state of a workspace at one moment."""

    entries: dict[str, Stamp] = field(default_factory=dict)
    head: str | None = None
    git_root: Path | None = None
    truncated: bool = False


def find_git_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` holding ``.git`` (a dir, or a worktree file)."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _stamp(path: Path, status: str) -> Stamp:
    try:
        st = path.stat()
    except OSError:
        return (status, -1, -1)
    return (status, st.st_size, st.st_mtime_ns)


async def _git(root: Path, *args: str) -> tuple[int, bytes]:
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(root),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": os.environ.get("HOME", "/"),
            "GIT_OPTIONAL_LOCKS": "0",
            "LC_ALL": "C",
        },
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), _GIT_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 1, b""
    return proc.returncode or 0, out


def _parse_status_v2(raw: bytes) -> tuple[str | None, list[tuple[str, str]]]:
    """HEAD and (status, path) pairs from ``git status --porcelain=v2 -z --branch``."""
    head: str | None = None
    pairs: list[tuple[str, str]] = []
    records = raw.decode("utf-8", "surrogateescape").split("\0")
    i = 0
    while i < len(records):
        rec = records[i]
        i += 1
        if not rec:
            continue
        if rec.startswith("# branch.oid "):
            oid = rec.split(" ", 2)[2]
            head = None if oid == "(initial)" else oid
        elif rec.startswith("1 "):
            fields = rec.split(" ", 8)
            pairs.append((fields[1], fields[8]))
        elif rec.startswith("2 "):
            fields = rec.split(" ", 9)
            pairs.append((fields[1], fields[9]))
            i += 1  # the rename's original path follows as its own record
        elif rec.startswith("u "):
            fields = rec.split(" ", 10)
            pairs.append(("UU", fields[10]))
        elif rec.startswith("? "):
            pairs.append(("??", rec[2:]))
    return head, pairs


async def _git_snapshot(workspace: Path, root: Path) -> Snapshot | None:
    code, out = await _git(
        root, "status", "--porcelain=v2", "-z", "--branch", "--untracked-files=all", "--ignore-submodules=all"
    )
    if code != 0:
        return None
    head, pairs = _parse_status_v2(out)
    entries = {path: _stamp(root / path, status) for status, path in pairs}
    return Snapshot(entries=entries, head=head, git_root=root)


def _walk(workspace: Path) -> Iterator[Path]:
    stack = [workspace]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in _SKIP_DIRS:
                            stack.append(Path(entry.path))
                    else:
                        yield Path(entry.path)
        except OSError:
            continue


def _tree_snapshot(workspace: Path) -> Snapshot:
    snap = Snapshot()
    for count, path in enumerate(_walk(workspace)):
        if count >= MAX_FILES:
            snap.truncated = True
            break
        snap.entries[path.relative_to(workspace).as_posix()] = _stamp(path, "")
    return snap


async def take_snapshot(workspace: Path) -> Snapshot:
    """Snapshot ``workspace`` (git status when it is in a work tree, else a capped walk)."""
    root = find_git_root(workspace)
    if root is not None:
        snap = await _git_snapshot(workspace, root)
        if snap is not None:
            return snap
    return await asyncio.to_thread(_tree_snapshot, workspace)


async def changed_files(workspace: Path, before: Snapshot) -> list[str]:
    """Paths (relative to ``workspace``) changed since ``before``, sorted."""
    after = await take_snapshot(workspace)
    changed = {
        path
        for path in before.entries.keys() | after.entries.keys()
        if before.entries.get(path) != after.entries.get(path)
    }
    root = after.git_root
    if root is not None and before.git_root == root and before.head != after.head and after.head:
        args = ["diff", "--name-only", "-z", after.head]
        if before.head:
            args.insert(3, before.head)
        else:
            args = ["show", "--name-only", "-z", "--format=", after.head]
        code, out = await _git(root, *args)
        if code == 0:
            changed.update(p for p in out.decode("utf-8", "surrogateescape").split("\0") if p)
    if root is None:
        return sorted(changed)
    ws = workspace.resolve()
    out_paths = []
    for path in changed:
        absolute = (root / path).resolve()
        try:
            out_paths.append(absolute.relative_to(ws).as_posix())
        except ValueError:
            out_paths.append(os.path.relpath(absolute, ws))
    return sorted(out_paths)
