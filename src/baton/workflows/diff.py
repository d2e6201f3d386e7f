"""Collect a change for review and split it into file groups that fit an agent's context.

Run by the ``diff`` step of ``code-review`` as
``python -m baton.workflows.diff --base main [--pr 12] [--since SHA] [--uncommitted]`` inside
the repository; prints one JSON object::

    {"base": "main", "head": "<sha>", "from": "<sha>", "incremental": false,
     "files": [{"path": "app.py", "additions": 3, "deletions": 1}],
     "groups": [{"files": ["app.py"], "diff": "diff --git ...", "bytes": 812}],
     "omitted": []}

``from`` is the merge base of ``base`` and the head, or ``since`` when it is an ancestor
of the head (an incremental review). With ``--uncommitted`` the change is the working tree
(staged, unstaged and untracked files, as ``git add -A`` would take them; the user's index
is not touched) against ``HEAD`` (or ``--base``). ``pending_files`` counts uncommitted
changes a commit review leaves out. Files are packed in path order into groups of at
most ``--max-group-bytes`` of diff; a file larger than that gets a group of its own,
cut at the limit with a note; files beyond ``--max-groups`` groups are listed in
``omitted``. Binary files are listed, never sent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.workspace.remote import fetch_args

DEFAULT_MAX_GROUP_BYTES = 80_000
DEFAULT_MAX_GROUPS = 3


class DiffError(Exception):
    """The change cannot be collected (unknown ref, not a git repository...)."""


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",
        env=None if env is None else {**os.environ, **env},
        check=False,
    )
    if check and proc.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _ok(cwd: Path, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False).returncode == 0


def default_branch(cwd: Path, remote: str = "origin") -> str:
    """The remote's default branch, else ``main`` or ``master`` (whichever exists), else ``main``."""
    ref = git(cwd, "symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD", check=False).strip()
    if ref:
        return ref.rsplit("/", 1)[-1]
    for name in ("main", "master"):
        if _ok(cwd, "rev-parse", "--verify", "-q", f"{name}^{{commit}}") or _ok(
            cwd, "rev-parse", "--verify", "-q", f"{remote}/{name}^{{commit}}"
        ):
            return name
    return "main"


def resolve(cwd: Path, ref: str, remote: str = "origin") -> str:
    """The commit of ``ref``, trying ``REMOTE/ref`` too, and fetching that branch if need be."""
    candidates = (ref, f"{remote}/{ref}")
    for attempt in range(2):
        for candidate in candidates:
            if _ok(cwd, "rev-parse", "--verify", "-q", f"{candidate}^{{commit}}"):
                return git(cwd, "rev-parse", f"{candidate}^{{commit}}").strip()
        # a CI checkout may hold only the head: fetch the branch once
        if attempt == 0 and not (
            remote in git(cwd, "remote", check=False).split()
            and _ok(
                cwd,
                *fetch_args(cwd, remote),
                "fetch",
                "-q",
                remote,
                f"+refs/heads/{ref}:refs/remotes/{remote}/{ref}",
            )
        ):
            break
    raise DiffError(f"unknown ref {ref!r}: not a branch, tag or commit here (nor {remote}/{ref})")


def deepen(cwd: Path, remote: str) -> None:
    """Fetch the full history of a shallow clone, so that merge bases can be found."""
    if git(cwd, "rev-parse", "--is-shallow-repository", check=False).strip() == "true":
        _ok(cwd, *fetch_args(cwd, remote), "fetch", "-q", "--unshallow", remote)


# Baton's own state folder in the workspace is never part of a change under review.
_NOT_REVIEWED = ":(exclude).baton"


def working_tree(cwd: Path) -> str:
    """A tree object of the working tree as ``git add -A`` would stage it (untracked files
    included, ignored ones not), built in a private index: the user's index is not touched."""
    with tempfile.TemporaryDirectory(prefix="baton-diff-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(cwd, "read-tree", "HEAD", env=index)
        git(cwd, "add", "-A", env=index)
        git(cwd, "rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", ".baton", env=index)
        return git(cwd, "write-tree", env=index).strip()


def uncommitted_files(cwd: Path) -> int:
    """How many paths have changes that are not committed (staged, unstaged or untracked)."""
    out = git(cwd, "status", "--porcelain", "-z", "--no-renames", "--untracked-files=all", "--", ".",
              _NOT_REVIEWED,
              check=False)
    return len([entry for entry in out.split("\0") if entry[2:3] == " "])


def pr_head(cwd: Path, number: int, remote: str = "origin") -> str:
    """Fetch pull request ``number``'s head from ``remote`` and return its commit.

    When the fetch fails (a private repository: steps hold no credential), the head Baton
    fetched before the run is used.
    """
    ref = f"refs/remotes/{remote}/pr/{number}"
    fetched = _ok(cwd, *fetch_args(cwd, remote), "fetch", "-q", remote, f"+refs/pull/{number}/head:{ref}")
    head = git(cwd, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False).strip()
    if not head:
        raise DiffError(
            f"cannot fetch pull request {number} from {remote}"
            + ("" if fetched else " (the fetch failed: no access to the remote?)")
        )
    return head


@dataclass
class Group:
    """Files reviewed together in one agent call."""

    files: list[str] = field(default_factory=list)
    diff: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "diff": self.diff, "bytes": len(self.diff.encode())}


def file_stats(cwd: Path, start: str, head: str) -> list[dict[str, Any]]:
    stats = []
    for line in git(cwd, "diff", "--numstat", "-z", "--no-renames", start, head).split("\0"):
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        added, deleted, path = parts
        binary = added == "-"
        stats.append(
            {
                "path": path,
                "additions": 0 if binary else int(added),
                "deletions": 0 if binary else int(deleted),
                "binary": binary,
            }
        )
    return stats


def group_files(
    cwd: Path, start: str, head: str, stats: list[dict[str, Any]], *, max_bytes: int, max_groups: int
) -> tuple[list[Group], list[str]]:
    """Pack the files' diffs into at most ``max_groups`` groups of at most ``max_bytes`` each."""
    groups: list[Group] = []
    omitted: list[str] = []
    for stat in sorted(stats, key=lambda s: s["path"]):
        path = stat["path"]
        if stat["binary"]:
            continue
        text = git(cwd, "diff", "--no-color", "--no-renames", "-U3", start, head, "--", path)
        if len(text.encode()) > max_bytes:
            cut = text.encode()[:max_bytes].decode(errors="ignore")
            text = cut + f"\n[... diff of {path} cut at {max_bytes} bytes ...]\n"
        current = groups[-1] if groups else None
        if current is not None and len((current.diff + text).encode()) <= max_bytes:
            current.files.append(path)
            current.diff += text
        elif len(groups) < max_groups:
            groups.append(Group([path], text))
        else:
            omitted.append(path)
    return groups, omitted


def collect(
    cwd: Path,
    *,
    base: str = "",
    pr: int | None = None,
    since: str = "",
    remote: str = "origin",
    max_bytes: int = DEFAULT_MAX_GROUP_BYTES,
    max_groups: int = DEFAULT_MAX_GROUPS,
    uncommitted: bool = False,
) -> dict[str, Any]:
    """The change to review as a JSON-ready dict (see the module doc)."""
    if not _ok(cwd, "rev-parse", "--is-inside-work-tree"):
        raise DiffError(f"{cwd} is not a git repository")
    if uncommitted:
        if pr or since:
            raise DiffError("--uncommitted reviews the working tree; it does not go with --pr or --since")
        head = git(cwd, "rev-parse", "HEAD").strip()
        start, incremental, target = head, False, working_tree(cwd)
        base = base or "HEAD"
        if base != "HEAD":
            start = resolve(cwd, base, remote)
    else:
        base = base or default_branch(cwd, remote)
        head = pr_head(cwd, pr, remote) if pr else git(cwd, "rev-parse", "HEAD").strip()
        base_sha = resolve(cwd, base, remote)
        deepen(cwd, remote)
        merge_base = git(cwd, "merge-base", base_sha, head, check=False).strip() or base_sha
        start, incremental, target = merge_base, False, head
        known = bool(since) and _ok(cwd, "cat-file", "-e", f"{since}^{{commit}}")
        if known and _ok(cwd, "merge-base", "--is-ancestor", since, head):
            start, incremental = git(cwd, "rev-parse", f"{since}^{{commit}}").strip(), True
    stats = file_stats(cwd, start, target)
    groups, omitted = group_files(cwd, start, target, stats, max_bytes=max_bytes, max_groups=max_groups)
    return {
        "base": base,
        "head": head,
        "from": start,
        "incremental": incremental,
        "uncommitted": uncommitted,
        # changes the review does not cover because they are not committed
        "pending_files": 0 if uncommitted or pr else uncommitted_files(cwd),
        "pr": pr,
        "files": [{k: s[k] for k in ("path", "additions", "deletions", "binary")} for s in stats],
        "groups": [g.as_json() for g in groups],
        "omitted": omitted,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m baton.workflows.diff", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--base", default="")
    parser.add_argument("--pr", default="")
    parser.add_argument("--since", default="")
    parser.add_argument("--remote", default="origin")
    parser.add_argument("--uncommitted", action="store_true",
                        help="review the working tree (staged, unstaged, untracked) against HEAD")
    parser.add_argument("--max-group-bytes", type=int, default=DEFAULT_MAX_GROUP_BYTES)
    parser.add_argument("--max-groups", type=int, default=DEFAULT_MAX_GROUPS)
    args = parser.parse_args(argv)
    pr = str(args.pr).strip().lstrip("#")
    if pr and not pr.isdigit():
        print(f"error: --pr {args.pr!r} is not a pull request number", file=sys.stderr)
        return 2
    try:
        data = collect(
            Path.cwd(),
            base=args.base.strip(),
            pr=int(pr) if pr else None,
            since=args.since.strip(),
            remote=args.remote,
            max_bytes=max(1000, args.max_group_bytes),
            max_groups=max(1, args.max_groups),
            uncommitted=args.uncommitted,
        )
    except DiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(data) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
