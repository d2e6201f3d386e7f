"""The gemini adapter, running the real ``gemini`` binary against the fake Gemini API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agents import scenarios
from tests.agents.scenarios import CliSpec
from tests.agents.support import API_KEY, Events, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text, ToolCall

pytestmark = pytest.mark.cli_agents

SPEC = CliSpec(
    cli="gemini",
    api="gemini",
    write_call=ToolCall("write_file", {"file_path": "hello.txt", "content": "hi from gemini\n"}),
    hang_timeout=9,  # gemini takes 2-4 s to start
)


@pytest.fixture(autouse=True)
def _gemini() -> None:
    require_cli("gemini")


def tool_names(body: dict) -> set[str]:
    return {d["name"] for t in body.get("tools", []) for d in t.get("functionDeclarations", [])}


async def test_text_answer_with_usage_and_cost(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events, tmp_path: Path
) -> None:
    await scenarios.text_answer(SPEC, fake_model_server, git_workspace, events, tmp_path)
    requests = fake_model_server.requests_for("gemini")
    assert requests[0].path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert requests[0].query == {"alt": ["sse"]}
    assert requests[0].headers["x-goog-api-key"] == API_KEY


async def test_write_file_creates_file(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events
) -> None:
    await scenarios.writes_file(SPEC, fake_model_server, git_workspace, events)
    assert [e.text for e in events.of("file_change")] == ["hello.txt"]
    assert "write_file" in tool_names(fake_model_server.requests_for("gemini")[0].body)


async def test_default_mode_offers_no_write_tool(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events
) -> None:
    bodies = await scenarios.read_only_blocks_write(SPEC, fake_model_server, git_workspace, events)
    assert "write_file" not in tool_names(bodies[0])
    assert "run_shell_command" not in tool_names(bodies[0])








async def test_silent_server_is_killed_at_timeout(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    """gemini exits 0 on SIGTERM; the adapter still reports Baton's own kill."""
    await scenarios.hang_is_killed(SPEC, fake_model_server, git_workspace)


async def test_json_answer_is_parsed(fake_model_server: FakeModelServer, git_workspace: Path) -> None:
    await scenarios.structured(SPEC, fake_model_server, git_workspace, [Text('{"answer": 42}')])
    assert "JSON Schema" in fake_model_server.requests_for("gemini")[0].text()


async def test_resume_continues_the_session(
    fake_model_server: FakeModelServer, git_workspace: Path, tmp_path: Path
) -> None:
    await scenarios.resume(SPEC, fake_model_server, git_workspace, tmp_path)


async def test_health_check(fake_model_server: FakeModelServer) -> None:
    await scenarios.health(SPEC, fake_model_server)


async def test_one_step_workflow_through_baton_run(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.baton_run(SPEC, fake_model_server, git_workspace)
