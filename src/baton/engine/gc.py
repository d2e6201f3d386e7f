"""``baton gc``: prune what finished executions left behind.

An execution's leftovers are its artifacts folder (transcripts, call folders, kept agent
homes), its git worktree under ``.baton/worktrees/<id>`` and that worktree's branch
``baton/<workflow>/<id>``. They are pruned when the execution is finished (completed,
failed or cancelled) and ended before the cut-off; pending and running executions (and
those waiting for an approval) keep everything, whatever their age, and so do finished ones
inside the window, which ``baton resume`` may still continue. Leftovers whose execution is
not in the store at all are pruned once they are older than the cut-off.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from baton.models import ExecutionContext
from baton.store.base import Store

BRANCH_PREFIX = "baton/"


@dataclass(frozen=True, slots=True)
class Leftover:
    """One thing ``gc`` would remove."""

    kind: str  # "artifacts", "worktree" or "branch"
    target: str  # a path, or a branch name
    execution_id: str
    reason: str
    bytes: int = 0
    repo: str | None = None  # the repository a worktree or branch belongs to


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _why(ctx: ExecutionContext | None, path: Path, cutoff: datetime) -> str | None:
    """Why ``path`` of execution ``ctx`` may go, or None when it must stay."""
    if ctx is None:
        return "no such execution in the store" if _mtime(path) < cutoff else None
    if not ctx.status.is_terminal:
        return None
    ended = ctx.end_time or ctx.start_time
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=UTC)
    return f"{ctx.status.value} at {ended:%Y-%m-%d %H:%M}" if ended < cutoff else None


async def _git(repo: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "git", "-C", str(repo), *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace").strip()


async def _main_repo(worktree: Path) -> Path | None:
    code, out = await _git(worktree, "rev-parse", "--path-format=absolute", "--git-common-dir")
    return Path(out).parent if code == 0 and out else None


async def plan(store: Store, *, artifacts_root: Path, worktrees_root: Path, repos: list[Path],
               cutoff: datetime) -> list[Leftover]:
    """Everything that may be pruned, without removing anything."""
    found: list[Leftover] = []
    known: dict[str, ExecutionContext | None] = {}

    def execution(execution_id: str) -> ExecutionContext | None:
        if execution_id not in known:
            record = store.get_execution(execution_id)
            known[execution_id] = record.context if record is not None else None
        return known[execution_id]

    if artifacts_root.is_dir():
        for folder in sorted(artifacts_root.iterdir()):
            if folder.is_dir() and (reason := _why(execution(folder.name), folder, cutoff)):
                found.append(Leftover("artifacts", str(folder), folder.name, reason, _size(folder)))
    branches: set[tuple[str, str]] = set()
    if worktrees_root.is_dir():
        for folder in sorted(worktrees_root.iterdir()):
            if not folder.is_dir() or not (reason := _why(execution(folder.name), folder, cutoff)):
                continue
            repo = await _main_repo(folder)
            found.append(Leftover("worktree", str(folder), folder.name, reason, _size(folder),
                                  str(repo) if repo else None))
            code, branch = await _git(folder, "symbolic-ref", "--short", "-q", "HEAD")
            if code == 0 and branch.startswith(BRANCH_PREFIX) and repo is not None:
                branches.add((str(repo), branch))
                found.append(Leftover("branch", branch, folder.name, reason, 0, str(repo)))
    for repo in repos:
        code, out = await _git(repo, "for-each-ref", "--format=%(refname:short) %(committerdate:unix)",
                               f"refs/heads/{BRANCH_PREFIX}")
        if code != 0:
            continue
        top = await _main_repo(repo) or repo
        for line in out.splitlines():
            branch, _, stamp = line.partition(" ")
            execution_id = branch.rsplit("/", 1)[-1]
            if (str(top), branch) in branches:
                continue
            ctx = execution(execution_id)
            if ctx is None:
                old = stamp.isdigit() and datetime.fromtimestamp(int(stamp), UTC) < cutoff
                reason = "no such execution in the store" if old else None
            else:
                reason = _why(ctx, repo, cutoff)
            if reason:
                branches.add((str(top), branch))
                found.append(Leftover("branch", branch, execution_id, reason, 0, str(top)))
    return found


async def prune(items: list[Leftover]) -> list[str]:
    """Remove ``items`` (worktrees before their branches); the problems met, if any."""
    problems: list[str] = []
    order = {"worktree": 0, "artifacts": 1, "branch": 2}
    for item in sorted(items, key=lambda i: order[i.kind]):
        if item.kind == "artifacts":
            shutil.rmtree(item.target, ignore_errors=True)
        elif item.kind == "worktree":
            if item.repo is not None:
                code, out = await _git(Path(item.repo), "worktree", "remove", "--force", item.target)
                if code != 0 and Path(item.target).exists():
                    problems.append(f"worktree {item.target}: {out}")
                    continue
            shutil.rmtree(item.target, ignore_errors=True)
            if item.repo is not None:
                await _git(Path(item.repo), "worktree", "prune")
        elif item.repo is not None:
            code, out = await _git(Path(item.repo), "branch", "-D", item.target)
            if code != 0:
                problems.append(f"branch {item.target}: {out}")
    return problems
