"""A real ``claude`` run (against the fake model server) that gets Baton's MCP config and calls a tool."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from baton.agents.scripted import scripted_factory
from baton.engine import Baton
from baton.models import Configuration, ExecutionStatus
from baton.models import events as ev
from baton.store import open_store
from tests.agents.support import API_KEY, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text, ToolCall
from tests.mcp.conftest import FIXTURE

pytestmark = pytest.mark.cli_agents


@pytest.fixture
def fake_model_server() -> FakeModelServer:
    with FakeModelServer() as server:
        yield server  # type: ignore[misc]


async def test_claude_calls_a_tool_of_batons_mcp_server(
    fake_model_server: FakeModelServer, tmp_path: Path
) -> None:
    require_cli("claude")
    notes = tmp_path / "notes.log"
    ws = tmp_path / "ws"
    ws.mkdir()
    cfg = Configuration.model_validate(
        {
            "version": "1.0.0",
            "global": {"workspace_dir": str(ws)},
            "agents": {
                "claude": {
                    "provider": "anthropic",
                    "model": "claude-sonnet-4-5",
                    "capabilities": ["code_review"],
                    "config": {
                        "base_url": fake_model_server.url,
                        "api_key": API_KEY,
                        "allowed_tools": ["mcp__fixture__note"],
                        "env": {"CLAUDE_CODE_MAX_RETRIES": "0", "MCP_TIMEOUT": "60000"},
                    },
                }
            },
            "mcp_servers": {
                "fixture": {
                    "command": sys.executable,
                    "args": [str(FIXTURE)],
                    "env": {"MCP_FIXTURE_LOG": str(notes)},
                    "connect_timeout_seconds": 60,
                }
            },
            "workflows": {
                "note-it": {
                    "steps": [
                        {
                            # claude refuses MCP tools in plan mode (a read-only step): this step may act
                            "id": "note",
                            "agent_id": "claude",
                            "prompt_template": "Write a note saying hello.",
                            "required_tools": ["fixture:note"],
                            "timeout_seconds": 180,
                            "writes_workspace": True,
                        }
                    ]
                }
            },
        }
    )
    fake_model_server.script(
        "anthropic", ToolCall("mcp__fixture__note", {"text": "hello from claude"}), Text("I left the note.")
    )
    seen: list[ev.Event] = []
    baton = Baton(
        cfg,
        open_store(None, base_dir=tmp_path),
        root=tmp_path,
        observers=[seen.append],
        adapter_factory=scripted_factory({}),
    )
    try:
        result = await baton.run_to_end("note-it")
    finally:
        baton.store.close()
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.outputs["note"]["text"] == "I left the note."

    # Baton wrote claude's MCP config, and claude was started with it
    mcp_config = json.loads((tmp_path / ".baton" / "mcp" / "claude.json").read_text())
    assert mcp_config["mcpServers"]["fixture"]["command"] == sys.executable
    first = fake_model_server.requests_for("anthropic")[0].text()
    assert all(f"mcp__fixture__{tool}" in first for tool in ("add", "echo", "note"))  # claude listed them

    # the tool really ran in the MCP server, and its answer went back to the model
    assert notes.read_text() == "hello from claude\n"
    followup = fake_model_server.requests_for("anthropic")[1].text()
    assert "noted: hello from claude" in followup
    tool_uses = [e for e in seen if isinstance(e, ev.AgentOutput) and e.event_kind == "tool_use"]
    assert [e.text for e in tool_uses] == ["mcp__fixture__note"]
