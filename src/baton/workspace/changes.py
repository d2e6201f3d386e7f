"""What each step changed in the workspace, kept so ``baton diff`` can show it later.

After a step that acts on the workspace, :func:`keep` writes, under the execution's
artifacts directory::

    changes/<step>.json        {"files": {path: [before_sha256 | null, after_sha256 | null]}}
    changes/blobs/<sha256>     the content of each file as the step left it

A file's content before the step comes from a blob an earlier step of the same execution
kept, else from the git ``HEAD`` of the workspace (read-only, checked against the recorded
hash). :func:`unified_diff` renders a step's changes, or the whole run's (first before,
last after), as a unified diff.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from baton.workspace.snapshot import Snapshot, changed

CHANGES_DIR = "changes"
# A single file larger than this is listed but its content is not kept.
MAX_BLOB_BYTES = 2 * 1024 * 1024


@dataclass(slots=True)
class FileChange:
    """One file a step added, removed or modified."""

    path: str
    before: str | None
    after: str | None


def keep(artifacts_dir: Path, step_id: str, before: Snapshot, after: Snapshot) -> list[str]:
    """Record what changed between two snapshots of a step; returns the changed paths."""
    paths = changed(before, after)
    if not paths:
        return []
    folder = artifacts_dir / CHANGES_DIR
    blobs = folder / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[str | None]] = {}
    for path in paths:
        old = before.files.get(path)
        new = after.files.get(path)
        files[path] = [old[0] if old else None, new[0] if new else None]
        if new is None or new[1] == 0o120000:
            continue
        target = blobs / new[0]
        if target.exists():
            continue
        try:
            data = (after.root / path).read_bytes()
        except OSError:
            continue
        if len(data) <= MAX_BLOB_BYTES and sha256(data).hexdigest() == new[0]:
            target.write_bytes(data)
    record = {"files": files, "workspace": str(after.root)}
    (folder / f"{_safe(step_id)}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return paths


def steps_with_changes(artifacts_dir: Path) -> list[str]:
    """Steps that recorded changes, in the order they were recorded."""
    folder = artifacts_dir / CHANGES_DIR
    if not folder.is_dir():
        return []
    found = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return [p.stem for p in found]


def step_changes(artifacts_dir: Path, step_id: str) -> list[FileChange]:
    """The files one step changed (empty when it changed none)."""
    path = artifacts_dir / CHANGES_DIR / f"{_safe(step_id)}.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [FileChange(p, pair[0], pair[1]) for p, pair in sorted(data["files"].items())]


def run_changes(artifacts_dir: Path) -> list[FileChange]:
    """The files the whole execution changed: each file's first before and last after."""
    merged: dict[str, FileChange] = {}
    for step in steps_with_changes(artifacts_dir):
        for change in step_changes(artifacts_dir, step):
            first = merged.get(change.path)
            merged[change.path] = FileChange(change.path, first.before if first else change.before,
                                             change.after)
    return [c for c in sorted(merged.values(), key=lambda c: c.path) if c.before != c.after]


def unified_diff(artifacts_dir: Path, workspace: Path, changes: list[FileChange]) -> str:
    """A unified diff of ``changes`` (``a/`` before, ``b/`` after)."""
    out: list[str] = []
    for change in changes:
        old = _content(artifacts_dir, workspace, change.path, change.before)
        new = _content(artifacts_dir, workspace, change.path, change.after)
        a = f"a/{change.path}" if change.before else "/dev/null"
        b = f"b/{change.path}" if change.after else "/dev/null"
        if old is None or new is None:
            out.append(f"--- {a}\n+++ {b}\n@@ content not kept (binary, too large or not in git) @@\n")
            continue
        lines = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                          fromfile=a, tofile=b))
        out.append("".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                           for line in lines))
    return "".join(out)


def _content(artifacts_dir: Path, workspace: Path, path: str, digest: str | None) -> str | None:
    if digest is None:
        return ""
    blob = artifacts_dir / CHANGES_DIR / "blobs" / digest
    data: bytes | None = None
    if blob.is_file():
        data = blob.read_bytes()
    else:
        data = _from_git_head(workspace, path)
        if data is not None and sha256(data).hexdigest() != digest:
            data = None
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _from_git_head(workspace: Path, path: str) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "show", f"HEAD:./{path}"], cwd=workspace, capture_output=True, timeout=30,
            check=False, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _safe(step_id: str) -> str:
    return step_id.replace("/", "_")
