"""The copilot adapter, running the real ``copilot`` binary against the fake Chat API."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.agents.factory import create_adapter
from tests.agents import scenarios
from tests.agents.scenarios import CliSpec
from tests.agents.support import API_KEY, Events, make_agent, make_request, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text, ToolCall

pytestmark = pytest.mark.cli_agents

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi from copilot\n*** End Patch\n"
SPEC = CliSpec(
    cli="copilot",
    api="chat",
    # with gpt-5.4 copilot's only file-writing tool is apply_patch, a custom (free-form) tool
    write_call=ToolCall("apply_patch", PATCH),
    hang_timeout=8,
)


@pytest.fixture(autouse=True)
def _copilot() -> None:
    require_cli("copilot")


async def test_text_answer_with_usage_and_cost(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events, tmp_path: Path
) -> None:
    """Tokens come from --usage-output-file; the cost from the price table."""
    await scenarios.text_answer(SPEC, fake_model_server, git_workspace, events, tmp_path)
    request = fake_model_server.requests_for("chat")[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "gpt-5.4"
    assert request.body["stream_options"]["include_usage"] is True


async def test_apply_patch_creates_file(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events
) -> None:
    await scenarios.writes_file(SPEC, fake_model_server, git_workspace, events)
    assert [e.text for e in events.of("file_change")] == [str(git_workspace / "hello.txt")]
    tools = fake_model_server.requests_for("chat")[0].body["tools"]
    assert any(t["type"] == "custom" and t["custom"]["name"] == "apply_patch" for t in tools)


async def test_read_only_denies_write(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events
) -> None:
    bodies = await scenarios.read_only_blocks_write(SPEC, fake_model_server, git_workspace, events)
    assert "denied" in str(bodies[1]["messages"][-1]["content"])








async def test_silent_server_is_killed_at_timeout(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.hang_is_killed(SPEC, fake_model_server, git_workspace)


async def test_json_answer_in_a_fence_is_parsed(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.structured(
        SPEC, fake_model_server, git_workspace, [Text('Here:\n```json\n{"answer": 42}\n```')]
    )
    prompt = fake_model_server.requests_for("chat")[0].text()
    assert "JSON Schema" in prompt


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


async def test_a_writing_step_gets_no_github_token_no_urls_and_no_push(
    fake_model_server: FakeModelServer, git_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real copilot, told to dump its environment, fetch a URL and push: only the dump runs."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_workflow_token_value")
    monkeypatch.setenv("GH_TOKEN", "gho_user_token_value")
    fake_model_server.script(
        "chat",
        ToolCall("apply_patch", PATCH),
        ToolCall("bash", {"command": "env > env.txt", "description": "environment"}),
        ToolCall("bash", {"command": f"curl -s {fake_model_server.url}/x > url.txt", "description": "fetch"}),
        ToolCall(
            "bash", {"command": "git push origin HEAD:refs/heads/x > push.txt 2>&1", "description": "push"}
        ),
        Text("done"),
    )
    adapter = create_adapter(make_agent("copilot", fake_model_server))
    result = await adapter.run(
        make_request(git_workspace, "go", writes_workspace=True, timeout=120), Events()
    )
    assert sorted(result.files_changed) == ["env.txt", "hello.txt"]
    env = (git_workspace / "env.txt").read_text()
    assert "ghs_workflow_token_value" not in env and "gho_user_token_value" not in env
    denials = [str(r.body["messages"][-1]["content"]) for r in fake_model_server.requests_for("chat")[3:]]
    assert "denied due to the following rules: `url`" in denials[0]
    assert "denied due to the following rules: `shell(git push)`" in denials[1]
