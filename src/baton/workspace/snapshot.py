"""One picture of a workspace's files: the prompt cache's key and replay, and "files changed".

A :class:`Snapshot` maps each file's path (relative to the workspace) to its content hash
and mode. In a git work tree the files are the tracked and the untracked-but-not-ignored
ones, listed with ``git ls-files`` (which reads the index and never writes it, nor the
object store); outside git a walk of the tree, capped at :data:`MAX_FILES`. Baton's own
``.baton/`` folder and VCS folders are never part of a snapshot, nor any folder passed as
``exclude`` (an artifacts directory inside the workspace).

Nothing here writes to the user's repository: hashes are computed in-process (memoised
by size, mtime, inode and ctime, so an unchanged file is read once per process).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 20_000
# Replays larger than this are not cached (the agent is asked again instead).
MAX_REPLAY_BYTES = 10 * 1024 * 1024
STATE_DIR = ".baton"
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", STATE_DIR})
_WALK_SKIP_DIRS = _SKIP_DIRS | {"node_modules", ".venv", "__pycache__"}
_GIT_TIMEOUT = 60.0
_RACY_SECONDS = 2.0
_REPLAY_FORMAT = "baton-replay/1"

FileState = tuple[str, int]
"""(content digest, mode): mode is 0o100644, 0o100755 or 0o120000 (a symlink)."""

_memo: dict[str, tuple[tuple[int, int, int, int], FileState]] = {}


@dataclass(slots=True)
class Snapshot:
    """The files of a workspace at one moment."""

    root: Path
    files: dict[str, FileState] = field(default_factory=dict)
    in_git: bool = False
    truncated: bool = False

    @property
    def fingerprint(self) -> str:
        """A digest of every path, mode and content: equal snapshots have equal fingerprints."""
        digest = hashlib.sha256()
        for path in sorted(self.files):
            sha, mode = self.files[path]
            digest.update(f"{path}\0{mode:o}\0{sha}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()


def find_git_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` holding ``.git`` (a dir, or a worktree file)."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _file_state(path: str) -> FileState | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            return None
        return hashlib.sha256(os.fsencode(target)).hexdigest(), 0o120000
    if not stat.S_ISREG(st.st_mode):
        return None  # folders (submodules), sockets, fifos
    key = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    known = _memo.get(path)
    if known is not None and known[0] == key:
        return known[1]
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    state = (digest.hexdigest(), 0o100755 if st.st_mode & 0o111 else 0o100644)
    # A file written in the last moments could change again within the same mtime tick.
    if time.time() - st.st_mtime_ns / 1e9 > _RACY_SECONDS:
        _memo[path] = (key, state)
    return state


async def _git_ls_files(workspace: Path) -> list[str] | None:
    proc = await asyncio.create_subprocess_exec(
        "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
        cwd=str(workspace),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": os.environ.get("HOME", "/"),
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        },
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), _GIT_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    if proc.returncode != 0:
        return None
    return list(dict.fromkeys(p for p in out.decode("utf-8", "surrogateescape").split("\0") if p))


def _walk(workspace: Path) -> Iterator[str]:
    stack = [workspace]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in _WALK_SKIP_DIRS:
                            stack.append(Path(entry.path))
                    else:
                        yield Path(entry.path).relative_to(workspace).as_posix()
        except OSError:
            continue


def _excluded_prefixes(workspace: Path, exclude: Iterable[Path]) -> tuple[str, ...]:
    prefixes = []
    for path in exclude:
        try:
            rel = Path(path).resolve().relative_to(workspace).as_posix()
        except ValueError:
            continue
        prefixes.append("" if rel == "." else f"{rel}/")
    return tuple(prefixes)


def _keep(rel: str, prefixes: tuple[str, ...]) -> bool:
    parts = rel.split("/")
    if any(part in _SKIP_DIRS for part in parts[:-1]):
        return False
    return not any(rel.startswith(p) for p in prefixes)


def _build(workspace: Path, paths: Iterable[str], in_git: bool, prefixes: tuple[str, ...]) -> Snapshot:
    snap = Snapshot(root=workspace, in_git=in_git)
    base = str(workspace)
    for count, rel in enumerate(p for p in paths if _keep(p, prefixes)):
        if count >= MAX_FILES and not in_git:
            snap.truncated = True
            break
        state = _file_state(os.path.join(base, rel))
        if state is not None:
            snap.files[rel] = state
    return snap


async def take(workspace: Path, exclude: Iterable[Path] = ()) -> Snapshot:
    """Snapshot ``workspace`` without writing anything (see the module docstring)."""
    ws = Path(workspace).resolve()
    prefixes = _excluded_prefixes(ws, exclude)
    listed = await _git_ls_files(ws) if find_git_root(ws) is not None else None
    if listed is not None:
        return await asyncio.to_thread(_build, ws, listed, True, prefixes)
    return await asyncio.to_thread(lambda: _build(ws, list(_walk(ws)), False, prefixes))


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """Paths (relative to the workspace) added, removed or changed between two snapshots."""
    return sorted(
        path
        for path in before.files.keys() | after.files.keys()
        if before.files.get(path) != after.files.get(path)
    )


async def changed_since(workspace: Path, before: Snapshot, exclude: Iterable[Path] = ()) -> list[str]:
    """Paths changed in ``workspace`` since ``before`` was taken."""
    return changed(before, await take(workspace, exclude))


def replay(before: Snapshot, after: Snapshot) -> str | None:
    """A text that turns a workspace looking like ``before`` into ``after`` (see :func:`restore`).

    None when nothing changed or the changed files are too large to keep.
    """
    entries: dict[str, dict[str, object] | None] = {}
    size = 0
    for path in changed(before, after):
        state = after.files.get(path)
        if state is None:
            entries[path] = None
            continue
        full = after.root / path
        if state[1] == 0o120000:
            entries[path] = {"link": os.readlink(full)}
            continue
        try:
            data = full.read_bytes()
        except OSError:
            return None
        size += len(data)
        if size > MAX_REPLAY_BYTES:
            return None
        try:
            entries[path] = {"mode": state[1], "text": data.decode("utf-8")}
        except UnicodeDecodeError:
            entries[path] = {"mode": state[1], "base64": base64.b64encode(data).decode("ascii")}
    if not entries:
        return None
    return json.dumps({"format": _REPLAY_FORMAT, "files": entries}, ensure_ascii=False)


class ReplayError(ValueError):
    """A stored replay cannot be applied."""


def restore(workspace: Path, text: str) -> None:
    """Write what :func:`replay` recorded into ``workspace``; check every path before writing."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ReplayError("the cached change is not a Baton replay") from None
    if not isinstance(data, dict) or data.get("format") != _REPLAY_FORMAT:
        raise ReplayError("the cached change was recorded by another Baton version")
    ws = Path(workspace).resolve()
    plan: list[tuple[Path, dict[str, object] | None]] = []
    for rel, entry in data["files"].items():
        target = ws / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute() or not _inside(target.parent, ws):
            raise ReplayError(f"the cached change names a path outside the workspace: {rel!r}")
        if target.is_dir() and not target.is_symlink():
            raise ReplayError(f"the cached change would replace the folder {rel!r}")
        plan.append((target, entry))
    for target, entry in plan:
        if target.is_symlink() or target.exists():
            target.unlink()
        if entry is None:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if "link" in entry:
            os.symlink(str(entry["link"]), target)
            continue
        raw = (str(entry["text"]).encode("utf-8") if "text" in entry
               else base64.b64decode(str(entry["base64"])))
        target.write_bytes(raw)
        os.chmod(target, 0o755 if entry.get("mode") == 0o100755 else 0o644)


def _inside(folder: Path, root: Path) -> bool:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    resolved = probe.resolve()
    return resolved == root or root in resolved.parents
