"""Baton leaves the user's repository as it found it (issue 11, item 4).

From the user's path: a fresh repository, ``baton init``, a two-step workflow (the real
``claude`` CLI against the fake model server, then a shell step) run three times. The
object store, the index, the branches and the worktrees are exactly as before; the second
run answers the agent step from the cache, as ``baton run --json`` shows.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.support import API_KEY, FAST_FAIL, MODELS, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text

from .project import baton, baton_json, configure, git, new_project

pytestmark = pytest.mark.cli_agents


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


def _objects(repo: Path) -> list[str]:
    root = repo / ".git" / "objects"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _repo_state(repo: Path) -> dict[str, object]:
    return {
        "objects": _objects(repo),
        "index": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
        "branches": git(repo, "branch", "--all", "--format=%(refname)"),
        "worktrees": git(repo, "worktree", "list", "--porcelain"),
        "stash": git(repo, "stash", "list"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
    }


def test_three_runs_leave_the_repository_as_found(server: FakeModelServer, tmp_path: Path) -> None:
    require_cli("claude")
    repo = new_project(tmp_path / "project")
    assert ".baton/" in (repo / ".gitignore").read_text().splitlines()
    git(repo, "add", ".gitignore", "baton.yaml")
    git(repo, "commit", "-q", "-m", "baton init")
    provider, model = MODELS["claude"]
    configure(
        repo,
        {"claude": {"provider": provider, "model": model, "capabilities": ["code_review"],
                    "config": {"base_url": server.url, "api_key": API_KEY, **FAST_FAIL["claude"]}}},
        {"two": {"steps": [
            {"id": "ask", "agent_id": "claude", "prompt_template": "Say hello."},
            {"id": "show", "agent_id": "sh", "dependencies": ["ask"],
             "prompt_template": "echo {{ outputs.ask.text }}"},
        ]}},
    )
    git(repo, "commit", "-q", "-am", "configure")
    server.default("anthropic", Text("hello from claude"))
    before = _repo_state(repo)

    runs, calls = [], []
    for _ in range(3):
        runs.append(baton_json(repo, "run", "two"))
        calls.append(len(server.requests_for("anthropic")))

    assert [r["status"] for r in runs] == ["completed"] * 3
    assert [r["outputs"]["ask"]["cache_hit"] for r in runs] == [False, True, True]
    assert runs[1]["outputs"]["show"]["text"].strip() == "hello from claude"
    assert calls[0] >= 1 and calls[2] == calls[0]  # the model was asked during the first run only
    after = _repo_state(repo)
    assert after == before
    # the store and artifacts live in .baton/, which git ignores
    assert (repo / ".baton" / "baton.db").is_file()
    assert git(repo, "check-ignore", ".baton/baton.db").strip() == ".baton/baton.db"


def test_a_writing_step_is_replayed_from_the_cache_without_git_objects(tmp_path: Path) -> None:
    """A scripted writing agent: its change is recorded once and written back on a cache hit."""
    repo = new_project(tmp_path / "project")
    record = tmp_path / "calls.jsonl"
    configure(
        repo,
        {"coder": {"provider": "scripted", "model": "echo", "capabilities": ["coding"],
                   "config": {"record": str(record), "acts_on_workspace": True,
                              "script": [{"reply": "done", "write": {"src/app.py": "print(1)\n"}}]}}},
        {"impl": {"steps": [{"id": "code", "agent_id": "coder", "prompt_template": "write it",
                             "writes_workspace": True}]}},
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "configure")
    objects = _objects(repo)
    first = baton_json(repo, "run", "impl")
    assert first["outputs"]["code"]["files_changed"] == ["src/app.py"]
    os.remove(repo / "src" / "app.py")
    second = baton_json(repo, "run", "impl")
    assert second["outputs"]["code"]["cache_hit"] is True
    assert (repo / "src" / "app.py").read_text() == "print(1)\n"
    assert len(record.read_text().splitlines()) == 1
    assert _objects(repo) == objects
    done = baton(repo, "status", second["execution_id"])
    assert done.returncode == 0 and "cache hit" in done.stdout
