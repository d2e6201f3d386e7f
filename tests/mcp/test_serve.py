"""Server side: ``baton mcp serve`` driven by the official MCP client, running workflows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult

from mcp import Client, StdioServerParameters
from tests.mcp.conftest import ROOT, free_port, wait_for_http

CONFIG = """\
version: "1.0.0"
agents:
  bot:
    provider: scripted
    model: echo
    capabilities: [test]
    config:
      script:
        hello: [{reply: "hello {name}", usage: {input_tokens: 10, output_tokens: 3}, cost_usd: 0.001}]
        shout: [{reply: "HELLO", usage: {input_tokens: 4, output_tokens: 2}}]
        wait: [{hang: true}]
workflows:
  greet:
    description: Say hello, then shout it.
    parameters: {name: {type: string, required: true}}
    steps:
      - {id: hello, agent_id: bot, prompt_template: "greet {{ params.name }}"}
      - {id: shout, agent_id: bot, prompt_template: "shout {{ outputs.hello.text }}"}
  forever:
    steps:
      - {id: wait, agent_id: bot, prompt_template: "wait", timeout_seconds: 600}
mcp_serve:
  tool_modules: [tests.fixtures.mcp_user_tools]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "baton.yaml").write_text(CONFIG)
    return root


def server_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": str(ROOT),
        "BATON_USER_CONFIG": str(tmp_path / "no-user.yaml"),
        "HOME": str(tmp_path),
    }


def payload(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    data = result.structured_content
    if data is None:
        return json.loads(result.content[0].text)  # type: ignore[union-attr]
    return data["result"] if set(data) == {"result"} else data


async def poll(client: Client, execution_id: str, until: set[str], timeout: float = 30) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status = payload(await client.call_tool("get_execution", {"execution_id": execution_id}))
        if status["status"] in until or loop.time() > deadline:
            return status  # type: ignore[no-any-return]
        await asyncio.sleep(0.2)


async def test_stdio_server_lists_runs_inspects_and_cancels(project: Path, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "baton", "mcp", "serve"],
        cwd=str(project),
        env=server_env(tmp_path),
    )
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == {
            "list_workflows",
            "run_workflow",
            "get_execution",
            "get_logs",
            "cancel_execution",
            "shout",
        }

        workflows = {w["id"]: w for w in payload(await client.call_tool("list_workflows"))}
        assert set(workflows) == {"greet", "forever"}
        assert workflows["greet"]["parameters"]["required"] == ["name"]
        assert [s["id"] for s in workflows["greet"]["steps"]] == ["hello", "shout"]

        progress: list[tuple[float, float | None, str | None]] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total, message))

        finished = payload(
            await client.call_tool(
                "run_workflow",
                {"workflow_id": "greet", "parameters": {"name": "ada"}, "wait": True},
                progress_callback=on_progress,
            )
        )
        assert finished["status"] == "completed"
        assert finished["outputs"]["shout"]["text"] == "HELLO"
        assert finished["usage"]["input_tokens"] == 14 and finished["cost_usd"] == pytest.approx(0.001)
        assert [(d, t) for d, t, _ in progress] == [(1, 2), (2, 2)]
        assert "step hello completed" in (progress[0][2] or "")

        started = payload(
            await client.call_tool("run_workflow", {"workflow_id": "greet", "parameters": {"name": "bob"}})
        )
        assert started["status"] == "running" and len(started["execution_id"]) == 32
        status = await poll(client, started["execution_id"], {"completed", "failed"})
        assert status["status"] == "completed" and status["trigger"] == "mcp"
        assert [s["step_id"] for s in status["steps"]] == ["hello", "shout"]
        logs = payload(await client.call_tool("get_logs", {"execution_id": started["execution_id"]}))
        messages = [line["message"] for line in logs]
        assert any("step shout completed" in m for m in messages)
        assert "execution completed" in messages[-1]

        hanging = payload(await client.call_tool("run_workflow", {"workflow_id": "forever"}))
        await poll(client, hanging["execution_id"], {"running"})
        cancelled = payload(
            await client.call_tool("cancel_execution", {"execution_id": hanging["execution_id"]})
        )
        assert cancelled["execution_id"] == hanging["execution_id"]
        assert (await poll(client, hanging["execution_id"], {"cancelled"}))["status"] == "cancelled"

        missing = await client.call_tool("run_workflow", {"workflow_id": "nope"})
        assert missing.is_error and "unknown workflow 'nope'" in missing.content[0].text  # type: ignore[union-attr]
        assert payload(await client.call_tool("shout", {"text": "quiet"})) == "QUIET"


@pytest.fixture
def http_server(project: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "baton", "mcp", "serve", "--http", "--port", str(port)],
        cwd=project,
        env={**server_env(tmp_path), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_for_http(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


async def test_streamable_http_server_runs_a_workflow(http_server: str) -> None:
    async with Client(http_server) as client:
        finished = payload(
            await client.call_tool(
                "run_workflow", {"workflow_id": "greet", "parameters": {"name": "http"}, "wait": True}
            )
        )
        assert finished["status"] == "completed"
        again = payload(await client.call_tool("get_execution", {"execution_id": finished["execution_id"]}))
        assert again["status"] == "completed" and again["usage"]["output_tokens"] == 5
