"""Before a workflow runs, every agent it uses is validated; alternatives are named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from baton.agents.base import AgentUnavailable
from baton.cli.main import app
from baton.engine import Baton
from baton.models import Configuration, ExecutionStatus
from baton.models import events as ev
from baton.store import open_store

MISSING = "baton-missing-claude"


def agents() -> dict[str, Any]:
    return {
        "claude": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-6",
            "capabilities": ["code_review", "task_planning"],
            "config": {"command": MISSING},
        },
        "auditor": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-6",
            "capabilities": ["code_review", "security"],
            "config": {"command": MISSING},
        },
        "reviewer": {
            "provider": "scripted",
            "model": "echo",
            "capabilities": ["code_review", "task_planning"],
            "config": {"script": [{"reply": "reviewed by the scripted reviewer"}]},
        },
        "planner": {"provider": "scripted", "model": "echo", "capabilities": ["task_planning"]},
        "sh": {"provider": "shell", "model": "bash", "capabilities": ["command"]},
        "gemini": {
            "provider": "google",
            "model": "gemini-2.5-flash",
            "capabilities": ["code_review"],
            "config": {"command": "baton-missing-gemini"},
        },
    }


def config(tmp_path: Path, step: dict[str, Any]) -> dict[str, Any]:
    (tmp_path / "ws").mkdir(exist_ok=True)
    return {
        "version": "1.0.0",
        "global": {"workspace_dir": str(tmp_path / "ws")},
        "agents": agents(),
        "workflows": {
            "review": {
                "steps": [
                    {"id": "prep", "agent_id": "sh", "prompt_template": "echo prep"},
                    {"id": "review", "prompt_template": "review the diff", **step},
                ]
            }
        },
    }


def baton(tmp_path: Path, step: dict[str, Any]) -> Baton:
    cfg = Configuration.model_validate(config(tmp_path, step))
    return Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)


async def test_an_unavailable_agent_fails_fast_naming_alternatives(tmp_path: Path) -> None:
    b = baton(tmp_path, {"agent_id": "claude"})
    try:
        with pytest.raises(AgentUnavailable) as caught:
            b.run("review")
        message = str(caught.value)
        assert "step 'review'" in message and MISSING in message
        assert "npm install -g" in message  # the adapter's own install hint
        assert "with its capabilities (code_review, task_planning): reviewer;" in message
        assert "gemini" not in message.split("capabilities")[-1]  # unavailable, so not offered
        assert "\n" not in message
        assert b.store.list_executions() == []  # nothing was started
    finally:
        b.close()


async def test_partial_matches_are_offered_when_nothing_has_every_capability(tmp_path: Path) -> None:
    b = baton(tmp_path, {"agent_id": "auditor"})
    try:
        with pytest.raises(
            AgentUnavailable,
            match=r"some of its capabilities \(code_review, security\): "
            r"reviewer;",
        ):
            b.run("review")
    finally:
        b.close()


async def test_fallback_agents_cover_an_unavailable_agent(tmp_path: Path) -> None:
    b = baton(tmp_path, {"agent_id": "claude", "retry_policy": {"fallback_agents": ["gemini", "reviewer"]}})
    try:
        handle = b.run("review")
        seen = [e async for e in handle.events()]
        result = await handle.wait()
        assert result.status is ExecutionStatus.COMPLETED, result.error
        assert result.outputs["review"]["text"] == "reviewed by the scripted reviewer"
        assert result.outputs["review"]["agent_id"] == "reviewer"
        hops = [(e.from_agent, e.to_agent) for e in seen if isinstance(e, ev.FallbackAgent)]
        assert hops == [("claude", "gemini"), ("gemini", "reviewer")]
    finally:
        b.close()


async def test_unavailable_fallbacks_are_named_too(tmp_path: Path) -> None:
    b = baton(tmp_path, {"agent_id": "claude", "retry_policy": {"fallback_agents": ["gemini"]}})
    try:
        with pytest.raises(AgentUnavailable, match="fallbacks gemini are unavailable too"):
            b.run("review")
    finally:
        b.close()


def test_baton_run_prints_one_line_naming_the_alternatives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config(tmp_path, {"agent_id": "claude"})
    cfg["global"]["workspace_dir"] = "ws"
    (tmp_path / "baton.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "review"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "reviewer" in lines[0] and MISSING in lines[0]
