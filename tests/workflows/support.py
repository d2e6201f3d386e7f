"""Scripted reviewers and configuration files for the built-in workflow tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.git_repos import BUG_LINES

SHELL = {"provider": "shell", "model": "bash", "capabilities": ["command"]}

# claude finds both planted bugs; codex finds the first in other words, plus one
# finding in a file the change does not touch (it cannot be an inline comment).
CLAUDE_REVIEW = {
    "verdict": "request_changes",
    "summary": "add() is broken and find_user is injectable.",
    "findings": [
        {
            "file": "calc.py",
            "line": BUG_LINES["calc.py"],
            "severity": "high",
            "category": "bug",
            "message": "add() subtracts b instead of adding it.",
            "suggestion": "return a + b",
        },
        {
            "file": "db.py",
            "line": BUG_LINES["db.py"],
            "severity": "critical",
            "category": "security",
            "message": "SQL built by string concatenation: injection through name.",
            "suggestion": "cursor.execute('SELECT * FROM users WHERE name = ?', (name,))",
        },
    ],
}
CODEX_REVIEW = {
    "verdict": "request_changes",
    "summary": "The add function is wrong.",
    "findings": [
        {
            "file": "./calc.py",
            "line": BUG_LINES["calc.py"] + 1,
            "severity": "high",
            "category": "bug",
            "message": "The add function subtracts instead of adding.",
            "suggestion": "",
        },
        {
            "file": "README.md",
            "line": 1,
            "severity": "low",
            "category": "documentation",
            "message": "Document clamp() in the README.",
            "suggestion": "",
        },
    ],
}


def scripted(
    answer: Any, *, record: Path | None = None, capabilities: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "script": answer
        if isinstance(answer, (list, dict)) and not _is_answer(answer)
        else [{"json": answer}],
        **extra,
    }
    if record is not None:
        cfg["record"] = str(record)
    return {
        "provider": "scripted",
        "model": "echo",
        "capabilities": capabilities or ["code_review"],
        "config": cfg,
    }


def _is_answer(value: Any) -> bool:
    return isinstance(value, dict) and "verdict" in value


def write_config(folder: Path, agents: dict[str, Any], *, workspace: Path, **global_: Any) -> Path:
    """A baton.yaml in ``folder`` with these agents; the workspace is ``workspace``."""
    data = {
        "version": "1.0.0",
        "global": {"workspace_dir": str(workspace), "cache": {"enabled": False}, **global_},
        "agents": agents,
    }
    path = folder / "baton.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def review_agents(record: Path | None = None) -> dict[str, Any]:
    return {
        "sh": SHELL,
        "claude": scripted(CLAUDE_REVIEW, record=record),
        "codex": scripted(CODEX_REVIEW, record=record),
    }


def calls(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
