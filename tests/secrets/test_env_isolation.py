"""The allow-listed environment: one agent's secret never reaches another agent's process."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.engine import Baton
from baton.models import Configuration, ExecutionStatus
from baton.observability.redact import MASK
from baton.store import open_store

A_SECRET = "agent-a-only-6d1f3b9c27"
PARENT_SECRET = "parent-env-secret-40ac8e"


def _env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


async def test_agent_b_never_sees_agent_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_TEST_PARENT_TOKEN", PARENT_SECRET)  # in Baton's own environment
    (tmp_path / "ws").mkdir()
    cfg = Configuration.model_validate(
        {
            "version": "1.0.0",
            "global": {"workspace_dir": str(tmp_path / "ws")},
            "agents": {
                "agent-a": {
                    "provider": "shell",
                    "model": "bash",
                    "capabilities": ["command"],
                    "config": {"env": {"A_DEPLOY_TOKEN": A_SECRET, "A_MODE": "fast"}},
                },
                "agent-b": {
                    "provider": "shell",
                    "model": "bash",
                    "capabilities": ["command"],
                    "config": {"env": {"B_MODE": "slow"}, "env_allow": ["BATON_TEST_PARENT_TOKEN"]},
                },
            },
            "workflows": {
                "dump": {
                    "steps": [
                        {"id": "a", "agent_id": "agent-a", "prompt_template": "env"},
                        {
                            "id": "b",
                            "agent_id": "agent-b",
                            "prompt_template": "env; cat /proc/$$/environ | tr '\\0' '\\n'",
                        },
                    ]
                }
            },
        }
    )
    baton = Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)
    try:
        result = await baton.run_to_end("dump")
    finally:
        baton.close()
    assert result.status is ExecutionStatus.COMPLETED, result.error
    a_env = _env_lines(result.outputs["a"]["text"])
    b_text = result.outputs["b"]["text"]
    b_env = _env_lines(b_text)

    # A sees its own variables (its token masked in what Baton records), not B's
    assert a_env["A_DEPLOY_TOKEN"] == MASK and a_env["A_MODE"] == "fast"
    assert "B_MODE" not in a_env
    # B sees its own, nothing of A's, and the parent's token only because it allowed it
    assert b_env["B_MODE"] == "slow"
    assert "A_DEPLOY_TOKEN" not in b_text and "A_MODE" not in b_text and A_SECRET not in b_text
    assert b_env["BATON_TEST_PARENT_TOKEN"] == PARENT_SECRET
    # A did not allow the parent's token, so it never had it
    assert "BATON_TEST_PARENT_TOKEN" not in a_env
    # both got only allow-listed names (plus Baton's own)
    for env in (a_env, b_env):
        assert "PATH" in env and "HOME" in env
        assert not {k for k in env if k.startswith(("PYTEST_", "VIRTUAL_ENV", "COV_"))}
