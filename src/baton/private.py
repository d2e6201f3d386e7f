"""Files and folders only their owner may read: Baton's state, artifacts and agent homes.

Baton never changes the process umask (agents inherit it and write the user's files);
instead the folders it owns are created 0700 and its own files 0600. :func:`scrub_tree`
masks secret values inside the files of a folder that is kept (an agent home with
``keep_home: true``, a call folder).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as an existing folder readable by its owner only (parents created as needed)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` as an existing file readable by its owner only (created empty if missing).

    An existing file is never opened: closing any descriptor of a file drops every POSIX
    lock this process holds on it, and SQLite's locks on an open database are such locks
    (a second store opened in a process that already has one would corrupt it).
    """
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def lock_down(tree: Path) -> None:
    """Make every folder under ``tree`` 0700 and every file 0600 (symlinks are left alone)."""
    if not tree.is_dir() or tree.is_symlink():
        return
    os.chmod(tree, DIR_MODE)
    for root, dirs, files in os.walk(tree):
        for name in dirs:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                os.chmod(full, DIR_MODE)
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                os.chmod(full, FILE_MODE)


def _forms(secrets: Iterable[str]) -> list[bytes]:
    forms = {s.encode("utf-8") for s in secrets if len(s) >= 4}
    return sorted(forms, key=len, reverse=True)


def scrub_file(path: Path, secrets: Iterable[str]) -> bool:
    """Overwrite each secret inside ``path`` with ``*`` of the same length; True if one was found.

    Same-length masking keeps binary formats (SQLite files, offsets) readable.
    """
    forms = _forms(secrets)
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return False
        data = path.read_bytes()
    except OSError:
        return False
    clean = data
    for form in forms:
        if form in clean:
            clean = clean.replace(form, b"*" * len(form))
    if clean == data:
        return False
    path.write_bytes(clean)
    return True


def scrub_tree(tree: Path, secrets: Iterable[str]) -> list[Path]:
    """Scrub every file under ``tree`` (see :func:`scrub_file`); the files that held a secret."""
    values = list(secrets)
    found: list[Path] = []
    if not values or not tree.is_dir():
        return found
    for root, _dirs, files in os.walk(tree):
        for name in files:
            full = Path(root) / name
            if scrub_file(full, values):
                found.append(full)
    return found
