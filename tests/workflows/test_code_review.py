"""``code-review`` end to end on a real repository with two planted bugs and scripted reviewers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from baton.engine import Baton, ExecutionResult
from baton.integrations.hooks import prepare
from baton.models import ExecutionStatus, StepStatus
from tests.fixtures.git_repos import BUG_LINES, PR_NUMBER, add_commit, git, review_repo

from .support import CLAUDE_REVIEW, CODEX_REVIEW, SHELL, calls, review_agents, scripted, write_config


async def run_review(cfg: Path, params: dict[str, Any]) -> tuple[Baton, ExecutionResult]:
    baton = Baton.from_config(cfg)
    result = await baton.run_to_end("code-review", params)
    return baton, result


async def test_two_planted_bugs_are_found_merged_and_deduplicated(tmp_path: Path) -> None:
    repo = review_repo(tmp_path)
    record = tmp_path / "calls.jsonl"
    agents = review_agents(record)
    for name in ("claude", "codex"):
        agents[name]["config"]["script"][0]["delay"] = 0.5
    cfg = write_config(tmp_path, agents, workspace=repo.work)
    baton, result = await run_review(cfg, {"base": "main"})
    try:
        assert result.status is ExecutionStatus.COMPLETED, result.error
        assert result.steps["review-claude-1"] is StepStatus.COMPLETED
        assert result.steps["review-codex-1"] is StepStatus.COMPLETED
        assert result.steps["review-claude-2"] is StepStatus.SKIPPED  # the diff fits in one group
        merged = result.outputs["merge"]["json"]
        assert merged["head"] == repo.head_sha
        assert merged["verdict"] == "request_changes"
        assert merged["reviewers"] == {"claude": "request_changes", "codex": "request_changes"}
        located = [(f["file"], f["line"], f["severity"], f["agents"]) for f in merged["findings"]]
        assert located == [
            ("db.py", BUG_LINES["db.py"], "critical", ["claude"]),
            ("calc.py", BUG_LINES["calc.py"], "high", ["claude", "codex"]),
            ("README.md", 1, "low", ["codex"]),
        ]
        assert merged["raw_findings"] == 4
        assert (
            "| 🔴 | high | `calc.py:5` | add() subtracts b instead of adding it. | claude, codex |"
            in merged["report"]
        )
    finally:
        baton.close()
    made = calls(record)
    assert sorted(c["agent"] for c in made) == ["claude", "codex"]
    # both reviewers got the whole diff, with both bugs, and ran at the same time
    for call in made:
        assert "-    return a + b\n+    return a - b" in call["prompt"]
        assert '"SELECT * FROM users WHERE name = \'" + name + "\'"' in call["prompt"]
        assert "Files in this part of the change (1 of 1)" in call["prompt"]
    assert abs(made[0]["at"] - made[1]["at"]) < 0.4


async def test_a_large_diff_is_split_into_file_groups(tmp_path: Path) -> None:
    repo = review_repo(tmp_path)
    for name in ("big_a.py", "big_b.py"):
        add_commit(
            repo,
            name,
            "".join(f"VALUE_{i} = {i}  # {name} padding padding padding\n" for i in range(40)),
            f"add {name}",
        )
    record = tmp_path / "calls.jsonl"
    agents = {"sh": SHELL, "claude": scripted(CLAUDE_REVIEW, record=record)}
    cfg = write_config(tmp_path, agents, workspace=repo.work)
    baton, result = await run_review(cfg, {"base": "main", "max_group_bytes": 2500})
    try:
        assert result.status is ExecutionStatus.COMPLETED, result.error
        groups = result.outputs["diff"]["json"]["groups"]
        assert [g["files"] for g in groups] == [["big_a.py"], ["big_b.py", "calc.py"], ["db.py"]]
        assert all(g["bytes"] <= 2500 for g in groups)
        assert [result.steps[f"review-claude-{k}"] for k in (1, 2, 3)] == [StepStatus.COMPLETED] * 3
    finally:
        baton.close()
    prompts = {c["step"]: c["prompt"] for c in calls(record)}
    assert (
        "big_b.py" not in prompts["review-claude-1"]
        and "VALUE_3 = 3  # big_a.py" in prompts["review-claude-1"]
    )
    assert "Files in this part of the change (2 of 3)" in prompts["review-claude-2"]
    assert "return a - b" in prompts["review-claude-2"] and "big_a.py" not in prompts["review-claude-3"]
    assert "SELECT * FROM users" in prompts["review-claude-3"]


async def test_incremental_review_covers_only_commits_since_the_last_review(tmp_path: Path) -> None:
    repo = review_repo(tmp_path)
    record = tmp_path / "calls.jsonl"
    cfg = write_config(tmp_path, review_agents(record), workspace=repo.work)
    first_head = repo.head_sha
    baton, first = await run_review(cfg, {"pr": str(PR_NUMBER)})
    try:
        assert first.status is ExecutionStatus.COMPLETED, first.error
        assert first.outputs["merge"]["json"]["head"] == first_head
        add_commit(repo, "notes.py", "NOTE = 'later'\n", "a later commit")
        workflow = baton.workflow("code-review")
        prepared = await prepare(baton, workflow, {"pr": str(PR_NUMBER), "incremental": True}, None, env={})
        assert prepared.params["since"] == first_head
        second = await baton.run_to_end("code-review", prepared.params)
        assert second.status is ExecutionStatus.COMPLETED, second.error
        diff = second.outputs["diff"]["json"]
        assert diff["incremental"] is True and diff["from"] == first_head and diff["head"] == repo.head_sha
        assert [f["path"] for f in diff["files"]] == ["notes.py"]
        assert "changes since" in second.outputs["merge"]["json"]["report"]
    finally:
        baton.close()
    last = [c for c in calls(record) if c["agent"] == "claude"][-1]
    assert "notes.py" in last["prompt"] and "return a - b" not in last["prompt"]
    assert "This is an incremental review" in last["prompt"]


async def test_one_failing_reviewer_leaves_a_review_from_the_others(tmp_path: Path) -> None:
    repo = review_repo(tmp_path)
    agents = review_agents()
    agents["codex"] = scripted([{"fail": "auth", "message": "invalid api key"}])
    cfg = write_config(tmp_path, agents, workspace=repo.work)
    baton, result = await run_review(cfg, {"base": "main"})
    try:
        assert result.status is ExecutionStatus.COMPLETED, result.error
        assert result.steps["review-codex-1"] is StepStatus.FAILED
        merged = result.outputs["merge"]["json"]
        assert merged["reviewers"] == {"claude": "request_changes"} and merged["failed"] == ["codex"]
    finally:
        baton.close()


async def test_every_reviewer_failing_fails_the_review(tmp_path: Path) -> None:
    repo = review_repo(tmp_path)
    agents = {"sh": SHELL, "claude": scripted([{"fail": "auth"}])}
    baton, result = await run_review(write_config(tmp_path, agents, workspace=repo.work), {"base": "main"})
    baton.close()
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and "step merge failed" in result.error


async def test_nothing_to_review_calls_no_agent(tmp_path: Path) -> None:
    repo = review_repo(tmp_path)
    record = tmp_path / "calls.jsonl"
    cfg = write_config(tmp_path, review_agents(record), workspace=repo.work)
    baton, result = await run_review(cfg, {"base": "feature"})
    baton.close()
    assert result.status is ExecutionStatus.COMPLETED, result.error
    merged = result.outputs["merge"]["json"]
    assert merged["nothing_to_review"] is True and merged["verdict"] == "comment"  # never an approval
    assert "Nothing to review" in merged["report"] and "Approved" not in merged["report"]
    assert calls(record) == []


async def test_an_unknown_base_fails_with_the_reason(tmp_path: Path) -> None:
    repo = review_repo(tmp_path)
    baton, result = await run_review(
        write_config(tmp_path, review_agents(), workspace=repo.work), {"base": "no-such-branch"}
    )
    baton.close()
    assert result.status is ExecutionStatus.FAILED
    assert "unknown ref 'no-such-branch'" in str(result.error)


@pytest.mark.parametrize("answer", [CLAUDE_REVIEW, CODEX_REVIEW])
def test_scripted_answers_match_the_findings_schema(answer: dict[str, Any]) -> None:
    import jsonschema

    from baton.workflows.schemas import FINDINGS

    jsonschema.validate(answer, FINDINGS)


async def test_a_shallow_ci_checkout_fetches_what_the_diff_needs(tmp_path: Path) -> None:
    repo = review_repo(tmp_path)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo.bare}", str(shallow))
    baton, result = await run_review(
        write_config(tmp_path, review_agents(), workspace=shallow), {"base": "main"}
    )
    baton.close()
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert [f["path"] for f in result.outputs["diff"]["json"]["files"]] == ["calc.py", "db.py"]
    assert result.outputs["diff"]["json"]["from"] == repo.base_sha
