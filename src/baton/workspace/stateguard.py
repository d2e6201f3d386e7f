"""Baton's own state is not an agent's to change: capture it before a step, check it after.

Guarded are ``baton.yaml`` and the ``.baton/`` folder (workflows, prompts, MCP credentials,
secrets...) of the project and of the execution's workspace. Left out are the entries Baton
itself writes while steps run: the live database files (``baton.db``, ``-wal``, ``-shm``,
``-journal``), ``artifacts/`` and ``worktrees/``. :meth:`StateGuard.check` lists what
changed and puts every changed file back as it was (new files are deleted).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

LIVE_ENTRIES = ("artifacts", "worktrees")
LIVE_PREFIX = "baton.db"
# Larger files are compared by hash but cannot be put back.
MAX_RESTORE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _File:
    digest: str
    mode: int
    data: bytes | None


@dataclass(slots=True)
class StateGuard:
    """The guarded files as they were before a step."""

    files: dict[Path, _File] = field(default_factory=dict)
    roots: tuple[Path, ...] = ()

    @classmethod
    def capture(cls, paths: list[Path]) -> StateGuard:
        """Remember every guarded file under ``paths`` (files or ``.baton`` folders)."""
        roots = tuple(dict.fromkeys(p.absolute() for p in paths))
        return cls(files=_scan(roots), roots=roots)

    def check(self) -> list[str]:
        """The guarded files changed since :meth:`capture` (sorted); each one is restored."""
        now = _scan(self.roots)
        changed = sorted({p for p in self.files.keys() | now.keys() if self.files.get(p) != now.get(p)})
        for path in changed:
            before = self.files.get(path)
            if before is None:
                path.unlink(missing_ok=True)
            elif before.data is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                if path.is_symlink() or path.is_dir():
                    path.unlink()
                path.write_bytes(before.data)
                os.chmod(path, before.mode)
        return [str(p) for p in changed]


def _scan(roots: tuple[Path, ...]) -> dict[Path, _File]:
    found: dict[Path, _File] = {}
    for root in roots:
        if root.is_file():
            _add(found, root)
            continue
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            if Path(folder) == root:
                dirs[:] = [d for d in dirs if d not in LIVE_ENTRIES]
                files = [f for f in files if not f.startswith(LIVE_PREFIX)]
            for name in files:
                _add(found, Path(folder) / name)
    return found


def _add(found: dict[Path, _File], path: Path) -> None:
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            found[path] = _File("link:" + os.readlink(path), 0, None)
            return
        data = path.read_bytes()
    except OSError:
        return
    keep = data if len(data) <= MAX_RESTORE_BYTES else None
    found[path] = _File(hashlib.sha256(data).hexdigest(), stat.S_IMODE(st.st_mode), keep)
