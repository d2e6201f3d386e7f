"""The codex adapter, running the real ``codex`` binary against the fake Responses API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agents import scenarios
from tests.agents.scenarios import SCHEMA, CliSpec
from tests.agents.support import API_KEY, Events, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text, ToolCall

pytestmark = pytest.mark.cli_agents

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi from codex\n*** End Patch\n"
SPEC = CliSpec(
    cli="codex",
    api="responses",
    write_call=ToolCall("apply_patch", PATCH),  # codex offers apply_patch as a custom tool
    hang_timeout=4,
)


@pytest.fixture(autouse=True)
def _codex() -> None:
    require_cli("codex")


async def test_text_answer_with_usage_and_cost(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events, tmp_path: Path
) -> None:
    await scenarios.text_answer(SPEC, fake_model_server, git_workspace, events, tmp_path)
    request = fake_model_server.requests_for("responses")[0]
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "gpt-5.5"
    assert "status" in events.kinds()


async def test_apply_patch_creates_file(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events
) -> None:
    await scenarios.writes_file(SPEC, fake_model_server, git_workspace, events)
    assert [e.text for e in events.of("file_change")] == [str(git_workspace / "hello.txt")]
    tools = {t.get("name") for t in fake_model_server.requests_for("responses")[0].body["tools"]}
    assert "apply_patch" in tools


async def test_read_only_sandbox_refuses_patch(
    fake_model_server: FakeModelServer, git_workspace: Path, events: Events
) -> None:
    bodies = await scenarios.read_only_blocks_write(SPEC, fake_model_server, git_workspace, events)
    assert len(bodies) == 2  # the refusal went back to the model, which answered
    assert "read-only sandbox" in bodies[1]["input"][-1]["output"]








async def test_silent_server_is_killed_at_timeout(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.hang_is_killed(SPEC, fake_model_server, git_workspace)


async def test_output_schema_is_passed_and_parsed(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.structured(SPEC, fake_model_server, git_workspace, [Text('{"answer": 42}')])
    body = fake_model_server.requests_for("responses")[0].body
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["schema"]["properties"] == SCHEMA["properties"]


async def test_answer_that_is_not_json_is_invalid_output(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.not_json(SPEC, fake_model_server, git_workspace)


async def test_resume_continues_the_thread(
    fake_model_server: FakeModelServer, git_workspace: Path, tmp_path: Path
) -> None:
    await scenarios.resume(SPEC, fake_model_server, git_workspace, tmp_path)


async def test_health_check(fake_model_server: FakeModelServer) -> None:
    await scenarios.health(SPEC, fake_model_server)


async def test_one_step_workflow_through_baton_run(
    fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    await scenarios.baton_run(SPEC, fake_model_server, git_workspace)
