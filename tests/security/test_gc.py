"""``baton gc`` (issue 11, item 7): finished executions' artifacts, worktrees and branches go;
what a waiting or recent (resumable) execution needs stays."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .project import baton, baton_json, configure, git, new_project

FUTURE = "2100-01-01"


def test_gc_prunes_finished_executions_and_keeps_waiting_ones(tmp_path: Path) -> None:
    repo = new_project(tmp_path / "project")
    configure(repo, {}, {
        "build": {"config": {"worktree": True},
                  "steps": [{"id": "make", "agent_id": "sh", "prompt_template": "echo built > out.txt"}]},
        "broken": {"config": {"worktree": True},
                   "steps": [{"id": "fail", "agent_id": "sh", "prompt_template": "exit 3"}]},
        "release": {"type": "langgraph", "config": {"worktree": True}, "steps": [
            {"id": "prep", "agent_id": "sh", "prompt_template": "echo prep"},
            {"id": "ship", "agent_id": "sh", "prompt_template": "echo ship", "approval": {"message": "Ship?"}},
        ]},
    })
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "configure")
    done = baton_json(repo, "run", "build")
    failed = baton(repo, "run", "broken", "--json")
    assert failed.returncode != 0
    waiting = baton(repo, "run", "release", "--json")
    ids = {"done": done["execution_id"]}
    for name in ("broken", "release"):
        rows = baton_json(repo, "history")
        ids[name] = next(r["execution_id"] for r in rows if r["workflow_id"] == name)
    assert baton_json(repo, "status", ids["release"])["status"] == "pending", waiting.stdout
    orphan = repo / ".baton" / "artifacts" / "01-orphan"
    orphan.mkdir()
    (orphan / "t.jsonl").write_text("x")
    old = time.time() - 30 * 86400
    os.utime(orphan, (old, old))
    worktrees = repo / ".baton" / "worktrees"
    assert {p.name for p in worktrees.iterdir()} == set(ids.values())

    # the default window keeps every recent execution (a failed one may still be resumed)
    recent = baton_json(repo, "gc")
    assert [(i["kind"], i["execution_id"]) for i in recent["removed"]] == [("artifacts", "01-orphan")]
    assert not orphan.exists()

    dry = baton_json(repo, "gc", "--older-than", FUTURE, "--dry-run")
    planned = {(i["kind"], i["execution_id"]) for i in dry["would_remove"]}
    assert planned == {(kind, ids[name]) for kind in ("artifacts", "worktree", "branch")
                       for name in ("done", "broken")}
    assert {p.name for p in worktrees.iterdir()} == set(ids.values())  # nothing removed yet

    real = baton_json(repo, "gc", "--older-than", FUTURE)
    assert {(i["kind"], i["execution_id"]) for i in real["removed"]} == planned
    assert real["problems"] == []
    assert {p.name for p in worktrees.iterdir()} == {ids["release"]}
    assert {p.name for p in (repo / ".baton" / "artifacts").iterdir()} == {ids["release"]}
    branches = sorted(git(repo, "branch", "--format=%(refname:short)").split())
    assert branches == [f"baton/release/{ids['release']}", "main"]
    listed = git(repo, "worktree", "list", "--porcelain")
    assert ids["release"] in listed and ids["done"] not in listed and ids["broken"] not in listed
    # the waiting execution can still be approved and finish in its worktree
    approved = baton(repo, "approve", ids["release"], "--json")
    assert approved.returncode == 0, approved.stderr
    assert baton_json(repo, "status", ids["release"])["status"] == "completed"
    assert baton_json(repo, "gc", "--older-than", FUTURE)["problems"] == []
    assert list(worktrees.iterdir()) == []
