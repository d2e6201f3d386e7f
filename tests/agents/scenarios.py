"""Scenarios every coding-CLI adapter goes through, run with the real binary.

Each ``test_cli_<name>.py`` describes its CLI with a :class:`CliSpec` and calls these.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from baton.agents.base import (
    AgentResult,
    AgentTimeout,
    InvalidOutput,
)
from baton.agents.factory import create_adapter
from tests.agents.support import (
    API_KEY,
    MODELS,
    Events,
    group_members,
    make_agent,
    make_request,
    marker,
    processes_with,
)
from tests.fixtures.fake_model_server import FakeModelServer, Hang, Text, ToolCall

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}
TEST_PRICES = {"input": 1.0, "output": 2.0, "cache_read": 0.5, "cache_write": 1.5}


@dataclass(frozen=True)
class CliSpec:
    """What differs between the CLIs in these scenarios."""

    cli: str
    api: str  # the fake server API the CLI speaks
    write_call: ToolCall  # the CLI's own file-writing tool, creating hello.txt
    hang_timeout: float  # enough for the CLI to start and send its request
    reports_cost: bool = False  # the CLI prices its own usage (claude)
    input_includes_cache: bool = True  # OpenAI/Gemini usage semantics


async def text_answer(
    spec: CliSpec, server: FakeModelServer, ws: Path, events: Events, tmp_path: Path
) -> AgentResult:
    """A plain answer: text, usage, cost, session id, transcript, request shape."""
    server.script(
        spec.api, Text("hello from the fake model", input_tokens=1000, output_tokens=50, cached_tokens=200)
    )
    model = make_agent(spec.cli, server).model
    agent = make_agent(spec.cli, server, prices={model: TEST_PRICES})
    adapter = create_adapter(agent)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    result = await adapter.run(make_request(ws, artifacts=artifacts), events)

    assert result.text == "hello from the fake model"
    assert result.exit_code == 0
    assert result.session_id
    assert result.files_changed == []
    fresh_input = 1000 - 200 if spec.input_includes_cache else 1000
    assert result.usage.input_tokens == fresh_input
    assert result.usage.output_tokens == 50
    assert result.usage.cache_read_tokens == 200
    if spec.reports_cost:
        assert result.cost_usd is not None and result.cost_usd > 0
    else:
        expected = (fresh_input * 1.0 + 50 * 2.0 + 200 * 0.5) / 1_000_000
        assert result.cost_usd == pytest.approx(expected)
    assert "hello from the fake model" in [e.text for e in events.of("text")] or any(
        "hello from the fake model" in e.text for e in events.of("text")
    )
    requests = server.requests_for(spec.api)
    assert len(requests) == 1
    assert API_KEY in json.dumps(requests[0].headers)
    assert result.transcript_path is not None
    transcript = Path(result.transcript_path)
    assert transcript.name == f"step-1-{spec.cli}.jsonl"
    lines = transcript.read_text().splitlines()
    assert lines and all(line.strip() for line in lines)
    assert API_KEY not in transcript.read_text()
    return result


async def writes_file(spec: CliSpec, server: FakeModelServer, ws: Path, events: Events) -> None:
    """One tool call with the CLI's own write tool creates hello.txt; the result reports it."""
    server.script(spec.api, spec.write_call, Text("I wrote hello.txt"))
    adapter = create_adapter(make_agent(spec.cli, server))
    result = await adapter.run(make_request(ws, "create hello.txt", writes_workspace=True), events)
    assert (ws / "hello.txt").exists()
    assert result.files_changed == ["hello.txt"]
    assert result.text == "I wrote hello.txt"
    assert "tool_use" in events.kinds() or "file_change" in events.kinds()
    assert "tool_result" in events.kinds() or "file_change" in events.kinds()
    assert len(server.requests_for(spec.api)) == 2


async def read_only_blocks_write(
    spec: CliSpec, server: FakeModelServer, ws: Path, events: Events
) -> list[Any]:
    """The same tool call without writes_workspace: nothing is written, the call succeeds."""
    server.script(spec.api, spec.write_call, Text("could not write"))
    adapter = create_adapter(make_agent(spec.cli, server))
    result = await adapter.run(make_request(ws, "create hello.txt"), events)
    assert not (ws / "hello.txt").exists()
    assert result.files_changed == []
    return [r.body for r in server.requests_for(spec.api)]


async def hang_is_killed(spec: CliSpec, server: FakeModelServer, ws: Path) -> None:
    """A server that never answers: AgentTimeout at the step timeout, whole group gone."""
    server.default(spec.api, Hang())
    mark = marker()
    adapter = create_adapter(make_agent(spec.cli, server, env={"BATON_TEST_MARK": mark}))
    groups: set[int] = set()

    async def watch() -> None:
        while True:
            for pid in processes_with(mark):
                with contextlib.suppress(ProcessLookupError):
                    groups.add(os.getpgid(pid))
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    try:
        with pytest.raises(AgentTimeout) as info:
            await adapter.run(make_request(ws, timeout=spec.hang_timeout), Events())
    finally:
        watcher.cancel()
    elapsed = time.monotonic() - started
    assert spec.hang_timeout <= elapsed < spec.hang_timeout + 4  # 2 s SIGTERM grace
    assert "did not finish within" in str(info.value)
    assert server.requests_for(spec.api), "the CLI never reached the fake server"
    assert groups, "never saw the CLI's process group"
    # Nothing of the group may still run; killed orphans may linger as zombies until
    # PID 1 reaps them, after which the group is gone entirely.
    for pgid in groups:
        assert {state for _pid, state in group_members(pgid)} <= {"Z"}
    deadline = time.monotonic() + 10
    for pgid in groups:
        while time.monotonic() < deadline and group_members(pgid):
            await asyncio.sleep(0.1)
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
    assert processes_with(mark) == []


async def structured(spec: CliSpec, server: FakeModelServer, ws: Path, replies: list[Any]) -> AgentResult:
    server.script(spec.api, *replies)
    adapter = create_adapter(make_agent(spec.cli, server))
    result = await adapter.run(make_request(ws, "answer", output_schema=SCHEMA), Events())
    assert result.json == {"answer": 42}
    return result


async def not_json(spec: CliSpec, server: FakeModelServer, ws: Path) -> None:
    server.script(spec.api, Text("the answer is forty-two"))
    adapter = create_adapter(make_agent(spec.cli, server))
    with pytest.raises(InvalidOutput) as info:
        await adapter.run(make_request(ws, "answer", output_schema=SCHEMA), Events())
    assert "forty-two" in str(info.value)


async def health(spec: CliSpec, server: FakeModelServer) -> None:
    adapter = create_adapter(make_agent(spec.cli, server))
    report = await adapter.check()
    assert report.ok, report.detail
    assert report.version and report.version[0].isdigit()
    assert server.requests == []
    server.script(spec.api, Text("ok"))
    live = await adapter.check(live=True)
    assert live.ok, live.detail
    assert len(server.requests_for(spec.api)) == 1


def _baton(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


async def baton_run(spec: CliSpec, server: FakeModelServer, project: Path) -> dict[str, Any]:
    """A one-step writing workflow through the real ``baton run`` command and ``baton status``.

    The agent's key comes from the environment through ``${FAKE_MODEL_KEY}`` interpolation
    and must not show up in the execution's logs.
    """
    provider, model = MODELS[spec.cli]
    config = {"base_url": server.url, "api_key": "${FAKE_MODEL_KEY}"}
    (project / "baton.yaml").write_text(
        yaml.safe_dump(
            {
                "version": "1.0.0",
                "agents": {
                    spec.cli: {
                        "provider": provider,
                        "model": model,
                        "capabilities": ["code_review"],
                        "config": config,
                    }
                },
                "workflows": {
                    "hello": {
                        "steps": [
                            {
                                "id": "write",
                                "agent_id": spec.cli,
                                "prompt_template": "create hello.txt",
                                "writes_workspace": True,
                                "timeout_seconds": 120,
                            }
                        ]
                    }
                },
            }
        )
    )
    call = ToolCall(spec.write_call.name, spec.write_call.arguments, input_tokens=100, output_tokens=20)
    server.script(
        spec.api, call, Text("wrote hello.txt", input_tokens=1000, output_tokens=50, cached_tokens=200)
    )
    env = {**os.environ, "FAKE_MODEL_KEY": API_KEY}
    env.pop("CI", None)  # the live view's CI detection is not under test

    run = _baton(project, "run", "hello", "--json", env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["status"] == "completed"
    out = result["outputs"]["write"]
    assert out["text"] == "wrote hello.txt"
    assert out["files_changed"] == ["hello.txt"]
    assert (Path(result["workspace_dir"]) / "hello.txt").exists()
    assert out["transcript_path"].endswith(f"write-1-{spec.cli}.jsonl")

    # what the server reported over both requests, in Baton's split (input excludes cache reads)
    fresh = 1100 - 200 if spec.input_includes_cache else 1100
    expected_usage = {
        "input_tokens": fresh,
        "output_tokens": 70,
        "cache_read_tokens": 200,
        "cache_write_tokens": 0,
    }
    status = _baton(project, "status", result["execution_id"], "--json", env=env)
    assert status.returncode == 0, status.stderr[-2000:]
    recorded = json.loads(status.stdout)
    assert recorded["status"] == "completed"
    assert recorded["usage"] == expected_usage
    step = recorded["steps"][0]
    assert step["status"] == "completed" and step["output"]["usage"] == expected_usage
    table = json.loads(resources.files("baton").joinpath("data", "prices.json").read_text())["models"]
    entry = table[model]
    expected_cost = (fresh * entry["input"] + 70 * entry["output"] + 200 * entry["cache_read"]) / 1e6
    assert recorded["cost_usd"] == pytest.approx(expected_cost, rel=1e-6)

    logs = _baton(project, "logs", result["execution_id"], "--json", env=env)
    assert logs.returncode == 0, logs.stderr[-2000:]
    assert "wrote hello.txt" in logs.stdout
    assert API_KEY not in logs.stdout + run.stdout + status.stdout
    return recorded


async def resume(spec: CliSpec, server: FakeModelServer, ws: Path, tmp_path: Path) -> None:
    """A second call with the first call's session id continues that conversation (the
    agent keeps its home between calls: keep_home)."""
    server.script(spec.api, Text("first"), Text("second"))
    adapter = create_adapter(make_agent(spec.cli, server, keep_home=True))
    artifacts = tmp_path / "artifacts"
    first = await adapter.run(make_request(ws, "remember 7", artifacts=artifacts), Events())
    second = await adapter.run(
        make_request(ws, "what number?", artifacts=artifacts, session_id=first.session_id, attempt=2),
        Events(),
    )
    assert first.session_id and second.text == "second"
    replay = server.requests_for(spec.api)[1].text()
    assert "remember 7" in replay and "what number?" in replay
