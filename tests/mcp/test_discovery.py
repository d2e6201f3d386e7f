"""Client side: an MCP server started by the tests, its tools discovered and required."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from baton.engine import Baton
from baton.integrations.mcp.client import McpClient
from baton.integrations.mcp.errors import McpToolsMissing
from baton.integrations.mcp.preflight import check_required_tools
from baton.models import Configuration, ExecutionStatus, Workflow
from baton.models.mcp import McpServerConfig
from baton.store import open_store
from tests.mcp.conftest import FIXTURE, FIXTURE_TOOLS, stdio_server


def configuration(
    tmp_path: Path, required: list[str], servers: dict[str, Any] | None = None
) -> Configuration:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    return Configuration.model_validate(
        {
            "version": "1.0.0",
            "global": {"workspace_dir": str(ws)},
            "agents": {
                "bot": {
                    "provider": "scripted",
                    "model": "echo",
                    "capabilities": ["t"],
                    "config": {"script": [{"reply": "done"}]},
                }
            },
            "mcp_servers": servers
            if servers is not None
            else {"fixture": stdio_server().model_dump(exclude_defaults=True)},
            "workflows": {
                "uses-tools": {
                    "steps": [
                        {
                            "id": "work",
                            "agent_id": "bot",
                            "prompt_template": "use the tools",
                            "required_tools": required,
                        }
                    ]
                }
            },
        }
    )


async def test_tools_of_a_stdio_server_are_discovered() -> None:
    found = await McpClient().discover({"fixture": stdio_server()})
    discovery = found["fixture"]
    assert discovery.ok, discovery.error
    assert sorted(discovery.tools or []) == FIXTURE_TOOLS
    assert discovery.attempts == 1 and discovery.seconds > 0


async def test_tools_of_a_streamable_http_server_are_discovered(http_fixture_url: str) -> None:
    server = McpServerConfig(url=http_fixture_url, headers={"X-Test": "1"})
    found = await McpClient().discover({"remote": server})
    assert sorted(found["remote"].tools or []) == FIXTURE_TOOLS


async def test_a_workflow_whose_required_tools_exist_runs(tmp_path: Path) -> None:
    cfg = configuration(tmp_path, ["fixture:add", "echo"])
    baton = Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)
    try:
        result = await baton.run_to_end("uses-tools")
    finally:
        baton.store.close()
    assert result.status is ExecutionStatus.COMPLETED


async def test_a_missing_tool_fails_fast_naming_what_is_offered(tmp_path: Path) -> None:
    cfg = configuration(tmp_path, ["fixture:add", "fixture:multiply", "search"])
    baton = Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)
    try:
        with pytest.raises(McpToolsMissing) as raised:
            baton.run("uses-tools")
        assert baton.store.list_executions() == []  # nothing was started
    finally:
        baton.store.close()
    message = str(raised.value)
    assert "\n" not in message
    assert "step work needs fixture:multiply (server fixture offers: add, echo, note)" in message
    assert "search (no MCP server of agent bot offers it)" in message
    assert "fixture:add" not in message.replace("fixture:multiply", "")
    assert raised.value.missing == {
        "work": [
            "fixture:multiply (server fixture offers: add, echo, note)",
            "search (no MCP server of agent bot offers it)",
        ]
    }


async def test_an_unavailable_server_is_retried_then_its_tools_are_missing(tmp_path: Path) -> None:
    starts = tmp_path / "starts.log"
    broken = McpServerConfig(
        command="sh",
        args=["-c", f"echo start >> {starts}; echo 'cannot start' >&2; exit 3"],
        retries=2,
        connect_timeout_seconds=20,
    )
    cfg = configuration(tmp_path, ["broken:add"], {"broken": broken.model_dump(exclude_defaults=True)})
    workflow = Workflow.from_config("uses-tools", cfg.workflows["uses-tools"])
    now = [100.0]
    client = McpClient(clock=lambda: now[0], backoff_seconds=0.01, cooldown_seconds=30)
    with pytest.raises(McpToolsMissing, match=r"broken:add \(server broken unavailable: .*cannot start"):
        await check_required_tools(workflow, cfg, client)
    assert starts.read_text().count("start") == 3  # 1 try + 2 retries
    # the circuit is open: reported missing without another start
    with pytest.raises(McpToolsMissing, match="not retried for another 30s"):
        await check_required_tools(workflow, cfg, client)
    assert starts.read_text().count("start") == 3
    closed, last_error = client.health("broken", broken)
    assert not closed and "cannot start" in last_error
    # after the cooldown one try decides (half-open)
    now[0] += 31
    with pytest.raises(McpToolsMissing):
        await check_required_tools(workflow, cfg, client)
    assert starts.read_text().count("start") == 4


async def test_a_recovered_server_closes_the_circuit(tmp_path: Path) -> None:
    flag = tmp_path / "up"
    server = McpServerConfig(
        command="sh",
        args=["-c", f'test -e {flag} || exit 1; exec "{sys.executable}" {FIXTURE}'],
        retries=0,
        connect_timeout_seconds=60,
    )
    now = [0.0]
    client = McpClient(clock=lambda: now[0], cooldown_seconds=5)
    assert not (await client.tools("s", server)).ok
    flag.touch()
    assert "not retried" in ((await client.tools("s", server)).error or "")
    now[0] += 6
    recovered = await client.tools("s", server)
    assert recovered.ok and sorted(recovered.tools or []) == FIXTURE_TOOLS
    assert client.health("s", server) == (True, "")
    again = await client.tools("s", server)
    assert again.cached and again.tools == recovered.tools


def test_required_tools_are_validated_against_the_configuration(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="names MCP server 'nowhere', which is not in mcp_servers"):
        configuration(tmp_path, ["nowhere:add"])
    with pytest.raises(ValidationError, match="agent 'bot' has no MCP servers"):
        configuration(tmp_path, ["add"], servers={})
    with pytest.raises(ValidationError, match="is not given to agent 'bot'"):
        configuration(tmp_path, ["only:add"], servers={"only": {"command": "x", "agents": []}})
    with pytest.raises(ValidationError, match="either command"):
        configuration(tmp_path, [], servers={"both": {"command": "x", "url": "http://h/mcp"}})
    with pytest.raises(ValidationError, match='must be "tool" or "server:tool"'):
        configuration(tmp_path, ["a b"])


def test_baton_mcp_tools_reports_each_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from baton.cli.main import app

    monkeypatch.setenv("BATON_USER_CONFIG", str(tmp_path / "none.yaml"))
    config = tmp_path / "baton.yaml"
    config.write_text(
        'version: "1.0.0"\n'
        "mcp_servers:\n"
        f"  fixture: {{command: {json.dumps(sys.executable)}, args: [{json.dumps(str(FIXTURE))}], "
        "connect_timeout_seconds: 60}\n"
        "  broken: {command: /nonexistent/mcp-server, retries: 0}\n"
    )
    result = CliRunner().invoke(app, ["mcp", "tools", "--json", "-c", str(config)])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["fixture"]["ok"] and sorted(report["fixture"]["tools"]) == FIXTURE_TOOLS
    assert not report["broken"]["ok"] and "No such file" in report["broken"]["error"]


def test_configuration_errors_are_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from baton.config import load_configuration
    from baton.config.errors import ConfigError

    monkeypatch.setenv("BATON_USER_CONFIG", str(tmp_path / "none.yaml"))
    config = tmp_path / "baton.yaml"
    config.write_text(
        'version: "1.0.0"\n'
        "agents:\n"
        "  bot: {provider: scripted, model: echo, capabilities: [t]}\n"
        "global:\n"
        "  quotas:\n"
        "    agents:\n"
        "      nobody: {max_tokens_per_day: 10}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_configuration(config)
    message = str(raised.value)
    assert "baton.yaml:7" in message and "unknown agent 'nobody'" in message
