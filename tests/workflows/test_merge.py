"""The deterministic merge of reviewer answers: duplicates, verdicts, the report."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from baton.workflows.merge import merge_reviews


def finding(
    file: str,
    line: int,
    severity: str = "high",
    category: str = "bug",
    message: str = "wrong",
    suggestion: str = "",
) -> dict[str, Any]:
    return {
        "file": file,
        "line": line,
        "severity": severity,
        "category": category,
        "message": message,
        "suggestion": suggestion,
    }


def answer(agent: str, verdict: str, *findings: dict[str, Any]) -> dict[str, Any]:
    return {
        "step": f"review_{agent}_1",
        "agent": agent,
        "status": "completed",
        "json": {"verdict": verdict, "summary": f"{agent} says {verdict}", "findings": list(findings)},
    }


def test_same_problem_from_two_agents_is_one_finding_naming_both() -> None:
    merged = merge_reviews(
        [
            answer(
                "claude", "comment", finding("a.py", 10, "medium", message="off by one in the loop bound")
            ),
            answer(
                "codex",
                "comment",
                finding("./a.py", 12, "high", "correctness", "loop bound is off by one", "use <"),
            ),
        ],
        {"files": ["a.py"]},
    )
    assert len(merged["findings"]) == 1
    only = merged["findings"][0]
    assert only["agents"] == ["claude", "codex"]
    assert (only["severity"], only["line"], only["suggestion"]) == ("high", 12, "use <")
    assert merged["raw_findings"] == 2


def test_distant_or_unrelated_findings_stay_apart() -> None:
    merged = merge_reviews(
        [
            answer("claude", "comment", finding("a.py", 10, message="null pointer"), finding("a.py", 30)),
            answer(
                "codex",
                "comment",
                finding("a.py", 11, "low", "style", "naming is inconsistent"),
                finding("b.py", 10),
            ),
        ],
        {"files": ["a.py", "b.py"]},
    )
    assert len(merged["findings"]) == 4


def test_majority_requesting_changes_decides() -> None:
    merged = merge_reviews(
        [
            answer("a", "request_changes", finding("x.py", 1, "medium")),
            answer("b", "request_changes"),
            answer("c", "approve"),
        ],
        {"files": ["x.py"]},
    )
    assert merged["verdict"] == "request_changes"
    assert merged["agreement"] == "a and b requested changes (2 of 3 reviewers)"


def test_a_high_finding_confirmed_by_two_outweighs_their_votes() -> None:
    merged = merge_reviews(
        [
            answer("a", "comment", finding("x.py", 3, "high", message="crash on empty input")),
            answer("b", "approve", finding("x.py", 4, "high", message="crashes on empty input")),
            answer("c", "approve"),
        ],
        {"files": ["x.py"]},
    )
    assert merged["verdict"] == "request_changes"
    assert merged["agreement"].startswith("a and b agreed on a high finding (x.py:3)")


def test_unanimous_approval_without_serious_findings_approves() -> None:
    merged = merge_reviews(
        [answer("a", "approve", finding("x.py", 1, "low", "style")), answer("b", "approve")],
        {"files": ["x.py"]},
    )
    assert merged["verdict"] == "approve"


def test_split_votes_comment_and_say_who_thought_what() -> None:
    merged = merge_reviews([answer("a", "request_changes"), answer("b", "approve")], {"files": ["x.py"]})
    assert merged["verdict"] == "comment"
    assert merged["agreement"] == "reviewers differ or left comments (b: approve; a: request changes)"


def test_a_failed_reviewer_is_named_and_does_not_vote() -> None:
    failed = {
        "step": "review_codex_1",
        "agent": "codex",
        "status": "failed",
        "json": None,
        "error": "timeout",
    }
    merged = merge_reviews([answer("claude", "approve"), failed], {"files": ["x.py"]})
    assert merged["reviewers"] == {"claude": "approve"} and merged["failed"] == ["codex"]
    assert "No answer from codex" in merged["report"]


def test_a_reviewer_s_worst_verdict_across_diff_groups_counts() -> None:
    second = answer("a", "request_changes", finding("y.py", 2, "high"))
    second["step"] = "review_a_2"
    merged = merge_reviews([answer("a", "approve"), second], {"files": ["x.py", "y.py"]})
    assert merged["reviewers"] == {"a": "request_changes"}


def test_command_line_prints_json_and_fails_when_nobody_answered() -> None:
    context = json.dumps({"head": "abc", "files": [{"path": "x.py"}], "groups": 1})
    failed = json.dumps({"step": "review_a_1", "agent": "a", "status": "failed", "json": None})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "baton.workflows.merge",
            "--require-review",
            "--context",
            context,
            "--review",
            failed,
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "every reviewer failed" in proc.stderr
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "baton.workflows.merge",
            "--context",
            context,
            "--review",
            json.dumps(answer("a", "approve")),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(ok.stdout)
    assert data["verdict"] == "approve" and data["head"] == "abc"
    assert data["report"].startswith("## Baton code review: ✅ Approved")
