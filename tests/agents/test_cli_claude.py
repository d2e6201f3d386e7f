"""The claude adapter, running the real ``claude`` binary against the fake Messages API."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.agents.factory import create_adapter
from tests.agents import scenarios
from tests.agents.scenarios import CliSpec
from tests.agents.support import API_KEY, Events, make_agent, make_request, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text, ToolCall

pytestmark = pytest.mark.cli_agents


def write_call(ws: Path) -> ToolCall:
    return ToolCall("Write", {"file_path": str(ws / "hello.txt"), "content": "hi from claude\n"})


def spec(ws: Path) -> CliSpec:
    return CliSpec(
        cli="claude",
        api="anthropic",
        write_call=write_call(ws),
        hang_timeout=5,
        reports_cost=True,
        input_includes_cache=False,  # Anthropic's input_tokens exclude cache reads
    )


@pytest.fixture(autouse=True)
def _claude() -> None:
    require_cli("claude")


async def test_text_answer_with_usage_and_cost(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events, tmp_path: Path
) -> None:
    result = await scenarios.text_answer(
        spec(git_workspace), fake_model_server, git_workspace, events, tmp_path
    )
    # claude prices its own usage: claude-sonnet-4-5 at $3/$15/$0.30 per million
    assert result.cost_usd == pytest.approx((1000 * 3 + 50 * 15 + 200 * 0.3) / 1_000_000)
    request = fake_model_server.requests_for("anthropic")[0]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == API_KEY
    assert request.body["model"] == "claude-sonnet-4-5"
    assert any(m.get("role") == "system" for m in request.body["messages"]) or request.body["system"]


async def test_write_tool_creates_file(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events
) -> None:
    await scenarios.writes_file(spec(git_workspace), fake_model_server, git_workspace, events)
    assert [e.text for e in events.of("file_change")] == [str(git_workspace / "hello.txt")]


async def test_plan_mode_denies_write(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events
) -> None:
    await scenarios.read_only_blocks_write(spec(git_workspace), fake_model_server, git_workspace, events)








async def test_silent_server_is_killed_at_timeout(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.hang_is_killed(spec(git_workspace), fake_model_server, git_workspace)


async def test_json_schema_uses_structured_output_tool(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.structured(
        spec(git_workspace),
        fake_model_server,
        git_workspace,
        [ToolCall("StructuredOutput", {"answer": 42}), Text("done")],
    )
    tools = {t["name"] for t in fake_model_server.requests_for("anthropic")[0].body["tools"]}
    assert "StructuredOutput" in tools


async def test_parent_auth_token_is_not_sent_to_a_base_url(
    fake_model_server: FakeModelServer, git_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With base_url, the user's own Anthropic credentials stay out of the child."""
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "parent-oauth-token-1234")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "parent-api-key-5678")
    fake_model_server.script("anthropic", Text("ok"))
    adapter = create_adapter(make_agent("claude", fake_model_server))
    await adapter.run(make_request(git_workspace), Events())
    headers = fake_model_server.requests_for("anthropic")[0].headers
    assert headers["x-api-key"] == API_KEY
    assert "parent-oauth-token-1234" not in str(headers)
    assert "parent-api-key-5678" not in str(headers)


async def test_resume_continues_the_session(
    fake_model_server: FakeModelServer, git_workspace: Path, tmp_path: Path
) -> None:
    await scenarios.resume(spec(git_workspace), fake_model_server, git_workspace, tmp_path)


async def test_health_check(fake_model_server: FakeModelServer) -> None:
    await scenarios.health(spec(Path("/")), fake_model_server)


async def test_one_step_workflow_through_baton_run(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.baton_run(spec(git_workspace), fake_model_server, git_workspace)
