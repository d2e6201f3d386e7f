"""The container runner: the exact Docker Engine API requests, made by the real ``docker`` SDK
against a fake engine on a unix socket (no Docker engine runs on the test machines)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.agents.base import AgentEvent, AgentRequest, AgentUnavailable
from baton.agents.factory import create_adapter
from baton.agents.health import check_adapter, unavailable_reason
from baton.models import Agent
from baton.workspace.container import run_in_container
from tests.fixtures.fake_docker_engine import Behaviour, FakeDockerEngine

pytestmark = pytest.mark.container

IMAGE = "ghcr.io/example/claude-code:2.1"
TRANSCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts" / "claude-text.jsonl"


@pytest.fixture
def engine() -> Iterator[FakeDockerEngine]:
    with FakeDockerEngine(images={IMAGE}) as fake:
        yield fake


def docker_agent(engine: FakeDockerEngine, **config: Any) -> Agent:
    cfg = {"image": IMAGE, "docker_host": engine.url, **config}
    return Agent(
        id="claude",
        provider="anthropic",
        model="claude-sonnet-4-6",
        capabilities=["code_review"],
        isolation="docker",
        config=cfg,
    )


def request(ws: Path, **fields: Any) -> AgentRequest:
    return AgentRequest(
        prompt="review", workspace_dir=ws, timeout_seconds=30, execution_id="ex-1", step_id="review", **fields
    )


class Lines:
    def __init__(self) -> None:
        self.items: list[str] = []

    async def __call__(self, line: str) -> None:
        self.items.append(line)


def create_body(engine: FakeDockerEngine) -> dict[str, Any]:
    [create] = engine.requests_to("POST", "/containers/create")
    body: dict[str, Any] = create.body
    return body


async def test_the_container_request_mounts_only_the_workspace_with_limits(
    engine: FakeDockerEngine, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    engine.script(Behaviour(stdout=["one", "two"], stderr=["warn"], exit_code=0))
    agent = docker_agent(engine, cpus=1.5, memory="1g", pids_limit=256, network="none")
    env = {
        "PATH": "/usr/local/bin:/usr/bin",
        "HOME": "/home/me",
        "TMPDIR": "/tmp/host-only",
        "LANG": "C.UTF-8",
        "ANTHROPIC_API_KEY": "sk-container-key-77aa",
    }
    out, err = Lines(), Lines()

    result = await run_in_container(
        ["claude", "-p", "review"],
        agent=agent,
        request=request(ws),
        env=env,
        timeout=30,
        on_stdout=out,
        on_stderr=err,
    )

    assert (result.exit_code, result.timed_out) == (0, False)
    assert out.items == ["one", "two"] and err.items == ["warn"]
    assert result.stdout == "one\ntwo\n" and result.stderr == "warn\n"
    body = create_body(engine)
    host = body["HostConfig"]
    assert body["Image"] == IMAGE and body["Cmd"] == ["claude", "-p", "review"]
    assert body["WorkingDir"] == str(ws)
    assert host["Binds"] == [f"{ws}:{ws}:ro"]  # the workspace only, read-only: the step does not write
    assert host["NanoCpus"] == 1_500_000_000 and host["Memory"] == 1024**3 and host["PidsLimit"] == 256
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["Init"] is True
    assert body["User"] == f"{os.getuid()}:{os.getgid()}"
    assert sorted(body["Env"]) == ["ANTHROPIC_API_KEY=sk-container-key-77aa", "HOME=/tmp", "LANG=C.UTF-8"]
    assert body["Labels"]["baton.execution"] == "ex-1" and body["Labels"]["baton.step"] == "review"
    assert body["Tty"] is False and body["OpenStdin"] is False
    # started, followed, waited for, and removed
    cid = engine.requests_to("POST", "/containers/[0-9a-f]+/start")[0].path.split("/")[2]
    assert engine.requests_to("POST", f"/containers/{cid}/wait")
    [delete] = engine.requests_to("DELETE", f"/containers/{cid}")
    assert delete.query["force"] == ["True"]
    assert engine.live_containers() == []


async def test_a_writing_step_gets_a_writable_workspace_and_its_private_folders(
    engine: FakeDockerEngine, tmp_path: Path
) -> None:
    ws, home = tmp_path / "ws", tmp_path / "artifacts" / "homes" / "claude"
    ws.mkdir()
    home.mkdir(parents=True)
    result = await run_in_container(
        ["claude"],
        agent=docker_agent(engine),
        env={},
        request=request(ws, writes_workspace=True),
        timeout=30,
        extra_mounts=[home, ws],
    )
    assert result.exit_code == 0
    host = create_body(engine)["HostConfig"]
    assert host["Binds"] == [f"{ws}:{ws}:rw", f"{home}:{home}:rw"]
    assert host["NetworkMode"] == "bridge"
    assert "NanoCpus" not in host and "Memory" not in host


async def test_a_container_still_running_at_the_timeout_is_killed_and_removed(
    engine: FakeDockerEngine, tmp_path: Path
) -> None:
    engine.script(Behaviour(stdout=["started"], hang=True))
    out = Lines()
    started = time.monotonic()
    result = await run_in_container(
        ["claude"], agent=docker_agent(engine), request=request(tmp_path), env={}, timeout=1.0, on_stdout=out
    )
    elapsed = time.monotonic() - started
    assert result.timed_out and result.exit_code is None
    assert out.items == ["started"]
    assert 0.9 <= elapsed < 5
    assert len(engine.requests_to("POST", "/containers/[0-9a-f]+/kill")) == 1
    assert len(engine.requests_to("DELETE", "/containers/[0-9a-f]+")) == 1
    assert engine.live_containers() == []


async def test_a_cancelled_call_kills_and_removes_its_container(
    engine: FakeDockerEngine, tmp_path: Path
) -> None:
    engine.script(Behaviour(hang=True))
    task = asyncio.create_task(
        run_in_container(
            ["claude"], agent=docker_agent(engine), request=request(tmp_path), env={}, timeout=60
        )
    )
    for _ in range(100):
        await asyncio.sleep(0.05)
        if engine.requests_to("POST", "/containers/[0-9a-f]+/wait"):
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.requests_to("POST", "/containers/[0-9a-f]+/kill")
    assert engine.live_containers() == []


async def test_a_missing_image_is_pulled_unless_pulling_is_off(
    engine: FakeDockerEngine, tmp_path: Path
) -> None:
    agent = docker_agent(engine, image="example/agent:1.0")
    result = await run_in_container(["x"], agent=agent, request=request(tmp_path), env={}, timeout=30)
    assert result.exit_code == 0
    [pull] = engine.requests_to("POST", "/images/create")
    assert pull.query["fromImage"] == ["example/agent"] and pull.query["tag"] == ["1.0"]

    never = docker_agent(engine, image="example/other:2.0", pull="never")
    with pytest.raises(AgentUnavailable, match=r"docker pull example/other:2\.0"):
        await run_in_container(["x"], agent=never, request=request(tmp_path), env={}, timeout=30)


async def test_an_unreachable_engine_is_unavailable(tmp_path: Path) -> None:
    agent = Agent(
        id="claude",
        provider="anthropic",
        model="claude-sonnet-4-6",
        capabilities=["x"],
        isolation="docker",
        config={"image": IMAGE, "docker_host": f"unix://{tmp_path}/no-docker.sock"},
    )
    with pytest.raises(
        AgentUnavailable, match=r"cannot reach the Docker engine .*no such socket.*config\.docker_host"
    ):
        await run_in_container(["x"], agent=agent, request=request(tmp_path), env={}, timeout=30)


async def test_the_claude_adapter_runs_its_cli_in_the_container(
    engine: FakeDockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other-agent-not-for-claude")
    engine.script(Behaviour(stdout=TRANSCRIPT.read_text().splitlines()))
    ws = tmp_path / "ws"
    ws.mkdir()
    agent = docker_agent(engine, base_url="http://model-gateway:8080", api_key="sk-gateway-key-1234")
    adapter = create_adapter(agent)
    assert unavailable_reason(adapter) is None  # no claude binary needed on this host
    events: list[AgentEvent] = []

    async def on_event(event: AgentEvent) -> None:
        events.append(event)

    result = await adapter.run(request(ws, artifacts_dir=tmp_path / "artifacts"), on_event)

    assert result.text == "hello from the fake model"
    assert any(e.kind == "text" for e in events)
    body = create_body(engine)
    assert body["Cmd"][0] == "claude"  # resolved inside the image
    assert "--permission-mode" in body["Cmd"]
    binds = body["HostConfig"]["Binds"]
    assert binds[0] == f"{ws}:{ws}:ro"
    assert all(b.endswith(":rw") and str(tmp_path / "artifacts") in b for b in binds[1:])
    env = dict(item.split("=", 1) for item in body["Env"])
    assert env["ANTHROPIC_BASE_URL"] == "http://model-gateway:8080"
    assert env["ANTHROPIC_API_KEY"] == "sk-gateway-key-1234"
    assert "OPENAI_API_KEY" not in env and "PATH" not in env
    assert engine.live_containers() == []


async def test_health_of_container_agents(engine: FakeDockerEngine) -> None:
    report = await check_adapter(create_adapter(docker_agent(engine)))
    assert report.ok and report.version == "27.0.0-fake" and "present" in report.detail
    missing = await check_adapter(create_adapter(docker_agent(engine, image="nope:1", pull="never")))
    assert not missing.ok and "pull is 'never'" in missing.detail

    no_image = Agent(
        id="c",
        provider="anthropic",
        model="claude-sonnet-4-6",
        capabilities=["x"],
        isolation="docker",
        config={"docker_host": engine.url},
    )
    assert "needs config.image" in (unavailable_reason(create_adapter(no_image)) or "")
    shell = Agent(
        id="s",
        provider="shell",
        model="bash",
        capabilities=["x"],
        isolation="docker",
        config={"image": IMAGE},
    )
    assert "only supported for the claude, codex" in (unavailable_reason(create_adapter(shell)) or "")
