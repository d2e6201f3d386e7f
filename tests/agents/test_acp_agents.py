"""gemini, copilot, claude (claude-agent-acp) and codex (codex-acp) over ACP, offline.

Each real agent runs against the fake model server with Baton as its ACP client and
permission broker: a text answer with usage, a write allowed in a writing step, the same
write rejected in a read-only step (the workspace unchanged), HTTP 500/429/401 mapped
onto Baton's error tree, and a silent server killed at the step timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from baton.agents.base import AgentFailed, AgentTimeout, RateLimited
from baton.agents.factory import create_adapter
from baton.models import Agent
from tests.agents.support import (
    API_KEY,
    FAST_FAIL,
    MODELS,
    Events,
    group_members,
    make_request,
    marker,
    processes_with,
    require_cli,
)
from tests.fixtures.fake_model_server import FakeModelServer, Hang, HttpError, Text, ToolCall

pytestmark = pytest.mark.cli_agents

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n"


@dataclass(frozen=True)
class AcpSpec:
    """What differs between the ACP agents in these tests."""

    name: str
    program: str
    api: str

    def write_call(self, ws: Path) -> ToolCall:
        if self.name == "gemini":
            return ToolCall("write_file", {"file_path": "hello.txt", "content": "hi\n"})
        if self.name == "claude":
            return ToolCall("Write", {"file_path": str(ws / "hello.txt"), "content": "hi\n"})
        return ToolCall("apply_patch", PATCH)


SPECS = {
    "gemini": AcpSpec("gemini", "gemini", "gemini"),
    "copilot": AcpSpec("copilot", "copilot", "chat"),
    "claude": AcpSpec("claude", "claude-agent-acp", "anthropic"),
    "codex": AcpSpec("codex", "codex-acp", "responses"),
}
NAMES = list(SPECS)


def acp_agent(name: str, server: FakeModelServer, **config: Any) -> Agent:
    provider, model = MODELS[name]
    cfg: dict[str, Any] = {"base_url": server.url, "api_key": API_KEY, **FAST_FAIL[name]}
    for key, value in config.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return Agent(id=name, provider=provider, model=model, interface="acp",
                 capabilities=["code_review"], config=cfg)


def git_clean(ws: Path) -> bool:
    out = subprocess.run(["git", "status", "--porcelain"], cwd=ws, capture_output=True, text=True,
                         check=True).stdout
    return out.strip() == ""


@pytest.fixture(params=NAMES)
def spec(request: pytest.FixtureRequest) -> AcpSpec:
    found = SPECS[request.param]
    require_cli(found.program)
    return found


async def test_text_answer_with_usage(spec: AcpSpec, fake_model_server: FakeModelServer,
                                      git_workspace: Path, tmp_path: Path) -> None:
    fake_model_server.script(spec.api, Text("hello from the fake model", input_tokens=1000,
                                            output_tokens=50, cached_tokens=200))
    events = Events()
    artifacts = tmp_path / "artifacts"
    result = await create_adapter(acp_agent(spec.name, fake_model_server)).run(
        make_request(git_workspace, artifacts=artifacts), events)

    assert result.text == "hello from the fake model"
    assert result.session_id
    assert result.metadata["interface"] == "acp"
    assert result.metadata["stop_reason"] == "end_turn"
    assert result.usage.total_tokens > 0 or result.usage.input_tokens > 0
    assert result.cost_usd is not None and result.cost_usd > 0
    assert "hello from the fake model" in "".join(e.text for e in events.of("text"))
    transcript = Path(str(result.transcript_path))
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    methods = [line["msg"].get("method") for line in lines if line.get("dir") == "out"]
    assert methods[:2] == ["initialize", "session/new"] and "session/prompt" in methods
    assert API_KEY not in transcript.read_text()
    assert "${WORKSPACE}" in transcript.read_text()
    assert git_clean(git_workspace)


async def test_writing_step_creates_file(spec: AcpSpec, fake_model_server: FakeModelServer,
                                         git_workspace: Path) -> None:
    fake_model_server.script(spec.api, spec.write_call(git_workspace), Text("I wrote hello.txt"))
    events = Events()
    result = await create_adapter(acp_agent(spec.name, fake_model_server)).run(
        make_request(git_workspace, "create hello.txt", writes_workspace=True), events)

    assert (git_workspace / "hello.txt").read_text() == "hi\n"
    assert result.files_changed == ["hello.txt"]
    decisions = [e.data for e in events.of("permission")]
    assert decisions and all(d["decision"] == "allow" for d in decisions)
    assert decisions[0]["tool_kind"] == "edit"
    assert str(git_workspace / "hello.txt") in decisions[0]["paths"][0] or decisions[0]["paths"] == [
        "hello.txt"]
    assert result.metadata["permissions"] == decisions
    # the change is on record: a diff carried by the agent's tool call or Baton's own write
    diffs = [e.data for e in events.of("file_change")]
    assert any((d.get("new_text") or d.get("diff") or "").find("hi") >= 0 for d in diffs)
    assert result.text == "I wrote hello.txt"


async def test_read_only_step_rejects_the_write(spec: AcpSpec, fake_model_server: FakeModelServer,
                                                git_workspace: Path) -> None:
    fake_model_server.script(spec.api, spec.write_call(git_workspace), Text("could not write"))
    events = Events()
    result = await create_adapter(acp_agent(spec.name, fake_model_server)).run(
        make_request(git_workspace, "create hello.txt"), events)

    assert not (git_workspace / "hello.txt").exists()
    assert git_clean(git_workspace)
    assert result.files_changed == []
    decisions = [e.data for e in events.of("permission")]
    assert decisions and all(d["decision"] == "reject" for d in decisions)
    assert "read-only" in decisions[0]["reason"]


@pytest.mark.parametrize(("status", "expected"), [(500, AgentFailed), (429, RateLimited), (401, AgentFailed)])
async def test_http_errors_are_mapped(spec: AcpSpec, fake_model_server: FakeModelServer, git_workspace: Path,
                                      status: int, expected: type[Exception]) -> None:
    fake_model_server.default(spec.api, HttpError(status, f"scripted failure {API_KEY}",
                                                  headers={"Retry-After": "1"}))
    adapter = create_adapter(acp_agent(spec.name, fake_model_server))
    with pytest.raises((AgentFailed, RateLimited)) as info:
        await adapter.run(make_request(git_workspace, timeout=90), Events())
    exc = info.value
    assert type(exc) is expected, str(exc)
    assert fake_model_server.requests_for(spec.api)
    assert API_KEY not in str(exc) and "\n" not in str(exc)
    if status == 500:
        assert isinstance(exc, AgentFailed) and exc.retryable
    if status == 401:
        assert isinstance(exc, AgentFailed) and not exc.retryable
        assert "credentials" in str(exc) and "api_key" in str(exc)


async def test_silent_server_is_killed_at_timeout(spec: AcpSpec, fake_model_server: FakeModelServer,
                                                  git_workspace: Path) -> None:
    fake_model_server.default(spec.api, Hang())
    mark = marker()
    adapter = create_adapter(acp_agent(spec.name, fake_model_server, env={"BATON_TEST_MARK": mark}))
    groups: set[int] = set()

    async def watch() -> None:
        while True:
            for pid in processes_with(mark):
                with contextlib.suppress(ProcessLookupError):
                    groups.add(os.getpgid(pid))
            await asyncio.sleep(0.1)

    timeout = 20.0  # enough for the slowest adapter to start and send its request on a busy machine
    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    try:
        with pytest.raises(AgentTimeout) as info:
            await adapter.run(make_request(git_workspace, timeout=timeout), Events())
    finally:
        watcher.cancel()
    elapsed = time.monotonic() - started
    assert timeout <= elapsed < timeout + 5
    assert "did not finish within" in str(info.value)
    assert fake_model_server.requests_for(spec.api), "the agent never reached the fake server"
    assert groups, "never saw the agent's process group"
    deadline = time.monotonic() + 10
    for pgid in groups:
        while time.monotonic() < deadline and any(state != "Z" for _pid, state in group_members(pgid)):
            await asyncio.sleep(0.1)
        assert {state for _pid, state in group_members(pgid)} <= {"Z"}
    assert processes_with(mark) == []


async def test_a_retry_loads_the_session_of_the_failed_attempt(fake_model_server: FakeModelServer,
                                                                  git_workspace: Path, tmp_path: Path) -> None:
    """claude-agent-acp advertises loadSession: the error carries the session id, the retry loads it."""
    require_cli("claude-agent-acp")
    fake_model_server.script("anthropic", Text("first answer"), HttpError(500, "overloaded"),
                             Text("resumed answer"))
    adapter = create_adapter(acp_agent("claude", fake_model_server))
    artifacts = tmp_path / "artifacts"
    first = await adapter.run(make_request(git_workspace, "remember 7", artifacts=artifacts), Events())
    with pytest.raises(AgentFailed) as info:
        await adapter.run(make_request(git_workspace, "what number?", artifacts=artifacts, timeout=60,
                                       session_id=first.session_id, attempt=2), Events())
    assert info.value.session_id == first.session_id
    result = await adapter.run(make_request(git_workspace, "what number?", artifacts=artifacts, attempt=3,
                                            session_id=info.value.session_id), Events())
    assert result.text == "resumed answer" and result.session_id == first.session_id
    sent = [json.loads(line)["msg"].get("method") for line in
            Path(str(result.transcript_path)).read_text().splitlines() if '"dir": "out"' in line]
    assert "session/load" in sent and "session/new" not in sent
    assert "remember 7" in fake_model_server.requests_for("anthropic")[-1].text()
