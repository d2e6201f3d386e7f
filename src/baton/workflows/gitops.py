"""Git steps of ``issue-to-pr`` and ``pr-fix``: set the branch up, detect the tests, commit, push.

Run by the workflows' shell steps inside the execution's worktree as
``python -m baton.workflows.gitops COMMAND ...``; each command prints one JSON object.

- ``setup``: name the worktree's branch after the issue (``baton/issue-12-fix-the-parser``),
  start it from ``origin/BASE`` when the repository has a remote, and pick the test
  command (given, or detected from the project's files).
- ``setup-pr``: fetch pull request N's head and put the worktree on it; with ``--head-sha``,
  refuse when the head is no longer the commit Baton read from GitHub before the run.
- ``commit``: commit every change except Baton's own ``.baton/`` files, with a message that
  names the issue; fails when the agents changed nothing.
- ``ready``: check what is to be pushed, refusing changes under ``.github/workflows/`` (a
  token that can push workflows can do anything; such changes need a human) unless allowed,
  and print the commit, branch and remote. The workflows end with it; **Baton** then pushes
  (:func:`baton.integrations.hooks.publish`), so no step ever holds the push credential.
- ``push``: ``ready``, then push with the user's own git credentials (by hand).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from baton.integrations.git_credentials import PushError, push_branch
from baton.workflows.diff import DiffError, default_branch, git, pr_head
from baton.workspace.remote import fetch_args

_SLUG = re.compile(r"[^a-z0-9]+")
WORKFLOW_DIR = ".github/workflows/"
BOT_NAME = "Baton"
BOT_EMAIL = "baton@users.noreply.github.com"


def slug(text: str, limit: int = 40) -> str:
    """``text`` as a branch-name fragment, cut at a word boundary."""
    full = _SLUG.sub("-", text.lower()).strip("-")
    cut = full[:limit]
    if len(full) > limit and "-" in cut:
        cut = cut.rsplit("-", 1)[0]
    return cut.strip("-") or "change"


def issue_number(issue: str) -> int | None:
    text = issue.strip().lstrip("#")
    return int(text) if text.isdigit() else None


def _has_remote(cwd: Path, remote: str) -> bool:
    return remote in git(cwd, "remote", check=False).split()


def detect_test_command(cwd: Path) -> str:
    """The project's test command, guessed from its files ('' when there is no clue)."""
    if (
        (cwd / "pyproject.toml").is_file()
        or (cwd / "pytest.ini").is_file()
        or (cwd / "setup.py").is_file()
        or (cwd / "tests").is_dir()
    ):
        return "python -m pytest -q"
    if (cwd / "package.json").is_file():
        return "npm test"
    if (cwd / "go.mod").is_file():
        return "go test ./..."
    if (cwd / "Cargo.toml").is_file():
        return "cargo test"
    makefile = cwd / "Makefile"
    if makefile.is_file() and re.search(r"^test:", makefile.read_text(errors="replace"), re.M):
        return "make test"
    return ""


def setup(
    cwd: Path,
    *,
    issue: str,
    title: str,
    body: str,
    base: str,
    test_command: str,
    remote: str = "origin",
    prefix: str = "baton/issue",
) -> dict[str, Any]:
    number = issue_number(issue)
    if not title:
        first = issue.strip().splitlines()[0] if issue.strip() else ""
        title = f"#{number}" if number is not None else first[:120]
    if not body and number is None:
        body = issue.strip()
    has_remote = _has_remote(cwd, remote)
    if has_remote:
        git(cwd, *fetch_args(cwd, remote), "fetch", "-q", remote, check=False)  # Baton fetched before
    base = base or (default_branch(cwd, remote) if has_remote else "")
    if has_remote and base:
        found = git(cwd, "rev-parse", "--verify", "-q", f"{remote}/{base}^{{commit}}", check=False).strip()
        if found:
            git(cwd, "reset", "-q", "--hard", found)
    if not base:
        base = default_branch(cwd, remote)
    name = f"{prefix}-{number}-{slug(title)}" if number is not None else f"{prefix}-{slug(title)}"
    current = git(cwd, "rev-parse", "--abbrev-ref", "HEAD").strip()
    if current != name:
        taken = git(cwd, "rev-parse", "--verify", "-q", f"refs/heads/{name}", check=False).strip()
        if taken:
            name = f"{name}-{current.rsplit('/', 1)[-1][:8]}"
        git(cwd, "branch", "-m", name)
    return {
        "branch": name,
        "base": base,
        "remote": remote if has_remote else "",
        "head": git(cwd, "rev-parse", "HEAD").strip(),
        "test_command": test_command.strip() or detect_test_command(cwd),
        "issue": {"number": number, "title": title, "body": body},
    }


def setup_pr(
    cwd: Path, *, pr: int, head_ref: str, test_command: str, remote: str = "origin", head_sha: str = ""
) -> dict[str, Any]:
    head = pr_head(cwd, pr, remote)
    if head_sha and head != head_sha:
        raise DiffError(
            f"pull request {pr} moved: its head is {head[:12]}, Baton read {head_sha[:12]} from GitHub "
            "before the run; nothing was changed. Run pr-fix again."
        )
    git(cwd, "reset", "-q", "--hard", head)
    return {
        "branch": head_ref,
        "remote": remote,
        "head": git(cwd, "rev-parse", "HEAD").strip(),
        "test_command": test_command.strip() or detect_test_command(cwd),
    }


def _identity(cwd: Path) -> list[str]:
    have = git(cwd, "config", "user.email", check=False).strip()
    return [] if have else ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]


def commit(cwd: Path, *, message: str) -> dict[str, Any]:
    git(cwd, "add", "-A", "--", ".", ":(exclude).baton", ":(exclude).baton/**")
    staged = git(cwd, "diff", "--cached", "--name-only").split()
    if not staged:
        raise DiffError("nothing to commit: the agents changed no file")
    git(cwd, *_identity(cwd), "commit", "-q", "-m", message)
    return {
        "sha": git(cwd, "rev-parse", "HEAD").strip(),
        "files": staged,
        "stat": git(cwd, "show", "--stat", "--format=", "HEAD").strip(),
        "message": message,
    }


def changed_since(cwd: Path, base: str) -> list[str]:
    return [p for p in git(cwd, "diff", "--name-only", f"{base}...HEAD", check=False).split() if p]


def ready(
    cwd: Path, *, branch: str, remote: str = "origin", base: str = "", allow_workflow_changes: bool = False
) -> dict[str, Any]:
    """What Baton will push (the commit, the branch, the remote), after the checks a push needs."""
    if not _has_remote(cwd, remote):
        raise DiffError(f"no remote {remote!r} to push to")
    if base and not allow_workflow_changes:
        start = (
            git(cwd, "rev-parse", "--verify", "-q", f"{remote}/{base}^{{commit}}", check=False).strip()
            or base
        )
        touched = [p for p in changed_since(cwd, start) if p.startswith(WORKFLOW_DIR)]
        if touched:
            raise DiffError(
                f"refusing to push changes to GitHub workflow files ({', '.join(touched)}); "
                "a human must make those (or set allow_workflow_changes)"
            )
    return {
        "remote": remote,
        "branch": branch,
        "sha": git(cwd, "rev-parse", "HEAD").strip(),
        "remote_url": git(cwd, "remote", "get-url", remote, check=False).strip(),
    }


def push(
    cwd: Path, *, branch: str, remote: str = "origin", base: str = "", allow_workflow_changes: bool = False
) -> dict[str, Any]:
    """:func:`ready`, then push with the user's own git credentials (by hand, outside workflows)."""
    data = ready(cwd, branch=branch, remote=remote, base=base, allow_workflow_changes=allow_workflow_changes)
    try:
        push_branch(cwd, remote=remote, sha=data["sha"], branch=branch)
    except PushError as exc:
        raise DiffError(str(exc)) from None
    return data


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m baton.workflows.gitops")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup")
    p.add_argument("--issue", default="")
    p.add_argument("--title", default="")
    p.add_argument("--body", default="")
    p.add_argument("--base", default="")
    p.add_argument("--test-command", default="")
    p.add_argument("--remote", default="origin")
    p = sub.add_parser("setup-pr")
    p.add_argument("--pr", type=int, required=True)
    p.add_argument("--head-ref", required=True)
    p.add_argument("--head-sha", default="")
    p.add_argument("--test-command", default="")
    p.add_argument("--remote", default="origin")
    p = sub.add_parser("commit")
    p.add_argument("--message", required=True)
    for name in ("ready", "push"):
        p = sub.add_parser(name)
        p.add_argument("--branch", required=True)
        p.add_argument("--remote", default="origin")
        p.add_argument("--base", default="")
        p.add_argument("--allow-workflow-changes", default="false")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cwd = Path.cwd()
    try:
        if args.command == "setup":
            data = setup(
                cwd,
                issue=args.issue,
                title=args.title,
                body=args.body,
                base=args.base,
                test_command=args.test_command,
                remote=args.remote,
            )
        elif args.command == "setup-pr":
            data = setup_pr(
                cwd,
                pr=args.pr,
                head_ref=args.head_ref,
                test_command=args.test_command,
                remote=args.remote,
                head_sha=args.head_sha,
            )
        elif args.command == "commit":
            data = commit(cwd, message=args.message)
        else:
            data = (ready if args.command == "ready" else push)(
                cwd,
                branch=args.branch,
                remote=args.remote or "origin",
                base=args.base,
                allow_workflow_changes=args.allow_workflow_changes.lower() in ("1", "true", "yes"),
            )
    except (DiffError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(data) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
