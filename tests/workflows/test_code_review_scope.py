"""``code-review`` never approves what it did not review (issue 12, item 4).

The user's path: a git repository on ``main`` with uncommitted edits, Baton's store inside
it, ``baton run code-review``. Nothing committed to review is a neutral result that says
why and how; ``--uncommitted`` reviews the working tree; ``--fail-on`` turns a verdict into
an exit code, as in the GitHub Action.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from baton.cli.main import app
from tests.fixtures.git_repos import CALC_BASE, git

from .support import calls, review_agents, write_config

APPROVE = {"verdict": "approve", "summary": "Fine.", "findings": []}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository on main, with baton.yaml committed and two uncommitted edits."""
    work = tmp_path / "repo"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "calc.py").write_text(CALC_BASE)
    write_config(work, review_agents(tmp_path / "calls.jsonl"), workspace=work)
    (work / ".gitignore").write_text(".baton/\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "init")
    (work / "calc.py").write_text(CALC_BASE.replace("return a + b", "return a - b"))
    (work / "notes.py").write_text("TODO = 'new file, not added yet'\n")
    return work


def baton(repo: Path, *args: str) -> Any:
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        os.chdir(cwd)


def test_nothing_committed_to_review_is_neutral_and_says_how(repo: Path, tmp_path: Path) -> None:
    ran = baton(repo, "run", "code-review")
    assert ran.exit_code == 0, ran.output
    out = ran.stdout
    assert "Approved" not in out and "Reviewed 0 files" not in out
    assert "Nothing to review" in out
    head = git(repo, "rev-parse", "HEAD").strip()
    assert f"`HEAD` (`{head[:12]}`) has no changes that are not in `main`" in out
    assert "uncommitted changes in 2 files" in out and "baton run code-review --uncommitted" in out
    assert "--base BRANCH" in out
    assert calls(tmp_path / "calls.jsonl") == []  # no reviewer was asked

    as_json = json.loads(baton(repo, "run", "code-review", "--json").stdout)
    assert as_json["published"]["verdict"] == "nothing_to_review"
    assert as_json["outputs"]["merge"]["json"]["nothing_to_review"] is True
    # a gate does not fail on an empty change, whatever it fails on
    for fail_on in ("request_changes", "comment"):
        assert baton(repo, "run", "code-review", "--fail-on", fail_on).exit_code == 0


def test_uncommitted_reviews_the_working_tree_without_touching_the_index(
    repo: Path, tmp_path: Path
) -> None:
    status_before = git(repo, "status", "--porcelain")
    ran = baton(repo, "run", "code-review", "--uncommitted", "--json")
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.stdout)
    diff = result["outputs"]["diff"]["json"]
    assert diff["uncommitted"] is True
    assert [f["path"] for f in diff["files"]] == ["calc.py", "notes.py"]  # .baton/ is not reviewed
    assert result["published"]["verdict"] == "request_changes"
    prompts = [c["prompt"] for c in calls(tmp_path / "calls.jsonl")]
    assert prompts and all("-    return a + b\n+    return a - b" in p for p in prompts)
    assert all("TODO = 'new file, not added yet'" in p for p in prompts)
    assert git(repo, "status", "--porcelain") == status_before  # the user's index is untouched


def test_fail_on_gates_a_push(repo: Path) -> None:
    gated = baton(repo, "run", "code-review", "--uncommitted", "--fail-on", "request_changes")
    assert gated.exit_code == 1, gated.output
    assert "verdict request changes: exit 1 (--fail-on request_changes)" in gated.stderr
    assert baton(repo, "run", "code-review", "--uncommitted", "--fail-on", "never").exit_code == 0


def test_fail_on_passes_an_approval_and_rejects_nonsense(repo: Path, tmp_path: Path) -> None:
    agents = review_agents()
    agents["claude"]["config"]["script"] = [{"json": APPROVE}]
    agents["codex"]["config"]["script"] = [{"json": APPROVE}]
    write_config(repo, agents, workspace=repo)
    approved = baton(repo, "run", "code-review", "--uncommitted", "--fail-on", "comment")
    assert approved.exit_code == 0, approved.output
    # calc.py, notes.py and the rewritten baton.yaml
    assert "✅ Approved" in approved.stdout and "Reviewed 3 files against `HEAD`" in approved.stdout
    bad = baton(repo, "run", "code-review", "--fail-on", "sometimes")
    assert bad.exit_code == 2 and "choose one of never, error, request_changes, comment" in bad.stderr
