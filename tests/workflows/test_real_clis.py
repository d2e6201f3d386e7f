"""``code-review`` with the real ``claude`` and ``codex`` binaries as reviewers, against the
fake model server (no internet): both review in parallel, read-only, and their answers are
merged like scripted ones."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.engine import Baton
from baton.models import ExecutionStatus, StepStatus
from tests.agents.support import API_KEY, FAST_FAIL, MODELS, TOOLS_BIN, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text, ToolCall
from tests.fixtures.git_repos import BUG_LINES, git, review_repo

from .support import CLAUDE_REVIEW, CODEX_REVIEW, SHELL, write_config

pytestmark = pytest.mark.cli_agents


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    if TOOLS_BIN.is_dir() and str(TOOLS_BIN) not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = f"{TOOLS_BIN}:{os.environ.get('PATH', os.defpath)}"
    with FakeModelServer() as fake:
        yield fake


def cli_agent(name: str, server: FakeModelServer) -> dict[str, Any]:
    provider, model = MODELS[name]
    return {
        "provider": provider,
        "model": model,
        "capabilities": ["code_review"],
        "config": {"base_url": server.url, "api_key": API_KEY, **FAST_FAIL[name]},
    }


async def test_code_review_with_claude_and_codex(server: FakeModelServer, tmp_path: Path) -> None:
    require_cli("claude")
    require_cli("codex")
    repo = review_repo(tmp_path)
    server.script("anthropic", ToolCall("StructuredOutput", CLAUDE_REVIEW), Text("done"))
    server.script("responses", Text(json.dumps(CODEX_REVIEW)))
    agents = {"sh": SHELL, "claude": cli_agent("claude", server), "codex": cli_agent("codex", server)}
    baton = Baton.from_config(write_config(tmp_path, agents, workspace=repo.work))
    try:
        result = await baton.run_to_end("code-review", {"base": "main"})
    finally:
        baton.close()
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.steps["review-claude-1"] is StepStatus.COMPLETED
    assert result.steps["review-codex-1"] is StepStatus.COMPLETED
    merged = result.outputs["merge"]["json"]
    assert merged["reviewers"] == {"claude": "request_changes", "codex": "request_changes"}
    calc = next(f for f in merged["findings"] if f["file"] == "calc.py")
    assert calc["agents"] == ["claude", "codex"] and calc["line"] == BUG_LINES["calc.py"]
    assert {f["file"] for f in merged["findings"]} == {"calc.py", "db.py", "README.md"}

    # each CLI got the diff with both bugs and the one findings schema
    anthropic = server.requests_for("anthropic")[0]
    assert "return a - b" in anthropic.text() and "SELECT * FROM users" in anthropic.text()
    tool = next(t for t in anthropic.body["tools"] if t["name"] == "StructuredOutput")
    assert set(tool["input_schema"]["properties"]) == {"verdict", "summary", "findings"}
    responses = server.requests_for("responses")[0]
    assert "return a - b" in responses.text()
    assert responses.body["text"]["format"]["schema"]["required"] == ["verdict", "summary", "findings"]
    # reviewers are read-only: nothing in the repository changed
    assert git(repo.work, "status", "--porcelain") == ""
