"""`isolation: docker` on a real Docker engine: the real claude and codex CLIs inside the agent
image (.ci/docker.sh builds it), against the fake model server on the host's loopback (the
containers use host networking to reach it).

What the kernel enforces is read back from inside the container (cgroup files, mount
table, errno messages), not from the request Baton sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.agents.base import AgentFailed, AgentRequest
from baton.agents.factory import create_adapter
from baton.agents.health import check_adapter
from baton.models import Agent, Isolation
from baton.workspace.container import OWNER_LABEL, run_in_container
from tests.agents.support import API_KEY, Events, make_agent, make_request
from tests.fixtures.fake_model_server import FakeModelServer, Hang, Text, ToolCall
from tests.fixtures.real_tools import docker_client, image

pytestmark = [pytest.mark.docker, pytest.mark.cli_agents]

GITHUB_TOKEN = "ghp_never-in-a-container-0123456789"


@pytest.fixture(scope="module")
def agent_image() -> str:
    client = docker_client()
    name = image("BATON_TEST_AGENT_IMAGE")
    client.images.get(name)
    client.close()
    return name


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    (path / "README.md").write_text("# in the workspace\n")
    return path


@pytest.fixture(autouse=True)
def no_host_clis(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's agent CLIs are off PATH: an answer can only come from inside the image."""
    path = [p for p in os.environ.get("PATH", "").split(":") if "node_modules" not in p]
    monkeypatch.setenv("PATH", ":".join(path))
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("GH_TOKEN", GITHUB_TOKEN)


def in_docker(agent: Agent, agent_image: str, **config: Any) -> Agent:
    cfg = {**agent.config, "image": agent_image, "network": "host", "pull": "never", **config}
    return agent.model_copy(update={"isolation": Isolation.DOCKER, "config": cfg})


def containers_of(execution_id: str) -> list[Any]:
    client = docker_client()
    try:
        return list(client.containers.list(all=True, filters={"label": f"baton.execution={execution_id}"}))
    finally:
        client.close()


async def in_container(agent_image: str, script: str, ws: Path, *, timeout: float = 60, **config: Any) -> Any:
    """Run ``sh -c script`` through the container runner, as an adapter would."""
    agent = Agent(
        id="probe",
        provider="anthropic",
        model="claude-sonnet-4-5",
        capabilities=["x"],
        isolation=Isolation.DOCKER,
        config={"image": agent_image, "network": "none", "pull": "never", **config},
    )
    request = AgentRequest(
        prompt="", workspace_dir=ws, timeout_seconds=timeout, execution_id=config.get("ex", "ex-probe")
    )
    return await run_in_container(["sh", "-c", script], agent=agent, request=request, env={}, timeout=timeout)


# -- the CLIs answer from inside a container -------------------------------------------------


async def test_claude_answers_from_inside_a_container(
    agent_image: str, server: FakeModelServer, ws: Path, tmp_path: Path
) -> None:
    server.script("anthropic", Text("hello from the container"))
    adapter = create_adapter(in_docker(make_agent("claude", server), agent_image))
    result = await adapter.run(make_request(ws, artifacts=tmp_path / "artifacts"), Events())
    assert result.text == "hello from the container"
    [call] = server.requests_for("anthropic")
    assert call.headers.get("x-api-key") == API_KEY  # the key reached the CLI as environment
    assert containers_of("ex-test") == []
    report = await check_adapter(adapter)
    assert report.ok and "present" in report.detail


async def test_codex_answers_from_inside_a_container(
    agent_image: str, server: FakeModelServer, ws: Path, tmp_path: Path
) -> None:
    server.script("responses", Text("codex in a box"))
    adapter = create_adapter(in_docker(make_agent("codex", server), agent_image))
    result = await adapter.run(make_request(ws, artifacts=tmp_path / "artifacts"), Events())
    assert result.text == "codex in a box"
    [call] = server.requests_for("responses")
    assert API_KEY in call.headers.get("authorization", "")
    assert containers_of("ex-test") == []


# -- the workspace: writable only for a writing step ------------------------------------------


async def test_a_writing_steps_file_appears_in_the_host_workspace(
    agent_image: str, server: FakeModelServer, ws: Path, tmp_path: Path
) -> None:
    server.script(
        "anthropic",
        ToolCall("Write", {"file_path": str(ws / "hello.txt"), "content": "written in a container\n"}),
        Text("I wrote hello.txt"),
    )
    adapter = create_adapter(in_docker(make_agent("claude", server), agent_image))
    request = make_request(ws, "create hello.txt", writes_workspace=True, artifacts=tmp_path / "artifacts")
    result = await adapter.run(request, Events())
    assert (ws / "hello.txt").read_text() == "written in a container\n"
    assert (ws / "hello.txt").stat().st_uid == os.getuid()  # the container ran as the caller
    assert result.files_changed == ["hello.txt"]


async def test_a_read_only_steps_write_fails_and_the_workspace_is_unchanged(
    agent_image: str, server: FakeModelServer, ws: Path, tmp_path: Path
) -> None:
    before = {p.name: p.read_bytes() for p in ws.iterdir()}
    # The kernel refuses, whatever the CLI would allow itself.
    probe = await in_container(agent_image, f"echo x > {ws}/hello.txt; echo y >> {ws}/README.md", ws)
    assert probe.exit_code != 0
    assert probe.stderr.count("Read-only file system") == 2, probe.stderr
    # The real CLI in a read-only step, asked by the model to write: nothing is written.
    server.script(
        "anthropic",
        ToolCall("Write", {"file_path": str(ws / "hello.txt"), "content": "nope\n"}),
        Text("could not write"),
    )
    adapter = create_adapter(in_docker(make_agent("claude", server), agent_image))
    result = await adapter.run(make_request(ws, "create hello.txt", artifacts=tmp_path / "a"), Events())
    assert result.files_changed == []
    assert {p.name: p.read_bytes() for p in ws.iterdir()} == before


# -- limits: memory, pids, cpus ----------------------------------------------------------------


async def test_a_step_over_its_memory_limit_is_oom_killed_and_says_which_limit(
    agent_image: str, server: FakeModelServer, ws: Path, tmp_path: Path
) -> None:
    hog = await in_container(
        agent_image, "python3 -c 'b = bytearray(256 * 1024 * 1024); print(len(b))'", ws, memory="64m"
    )
    assert hog.oom_killed and hog.exit_code == 137 and hog.stdout == ""
    fits = await in_container(agent_image, "python3 -c 'b = bytearray(16 * 1024 * 1024); print(len(b))'", ws,
                              memory="64m")
    assert not fits.oom_killed and fits.stdout.strip() == str(16 * 1024 * 1024)

    # The real CLI under a limit it cannot start in: the step's error names the knob.
    server.script("anthropic", Text("never"))
    adapter = create_adapter(in_docker(make_agent("claude", server), agent_image, memory="24m"))
    with pytest.raises(AgentFailed, match=r"out of memory.*config\.memory = 24m.*agents\.claude\.config\.memory"):
        await adapter.run(make_request(ws, artifacts=tmp_path / "artifacts"), Events())


async def test_a_fork_bomb_stops_at_the_pids_limit(agent_image: str, ws: Path) -> None:
    bomb = await in_container(
        agent_image,
        "python3 -c '\n"
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    while n < 500:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "except OSError as exc:\n"
        "    print(n, exc.strerror)\n"
        "'",
        ws,
        pids_limit=40,
        timeout=30,
    )
    forked, _, error = bomb.stdout.strip().partition(" ")
    assert error == "Resource temporarily unavailable", bomb.stdout + bomb.stderr
    assert 20 < int(forked) < 40  # tini, sh and python count too


async def test_cpus_and_memory_are_what_the_kernel_enforces(agent_image: str, ws: Path) -> None:
    limits = await in_container(
        agent_image,
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us "
        "/sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes "
        "/sys/fs/cgroup/pids/pids.max 2>/dev/null || true",
        ws,
        cpus=0.5,
        memory="256m",
        pids_limit=64,
    )
    values = limits.stdout.split()
    quota, period, memory = int(values[0]), int(values[1]), int(values[2])
    assert quota / period == 0.5
    assert memory == 256 * 1024 * 1024
    assert "64" in values[3:]


# -- the container never outlives the call ----------------------------------------------------


async def test_the_timeout_kills_and_removes_the_container(agent_image: str, ws: Path) -> None:
    started = time.monotonic()
    result = await in_container(agent_image, "echo started; sleep 120", ws, timeout=3, ex="ex-timeout")
    assert result.timed_out and result.exit_code is None
    assert result.stdout == "started\n"
    assert time.monotonic() - started < 30
    assert containers_of("ex-timeout") == []


CONFIG = """
version: "1.0.0"
global: {{workspace_dir: ws, cache: {{enabled: false}}}}
agents:
  claude:
    provider: anthropic
    model: claude-sonnet-4-5
    capabilities: [code_review]
    isolation: docker
    config: {{image: "{image}", network: host, pull: never, base_url: "{url}", api_key: "{key}"}}
workflows:
  review:
    steps:
      - {{id: review, agent_id: claude, prompt_template: "review", timeout_seconds: 600}}
"""


def baton(project: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "baton", *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_no_container_is_left_after_kill_9_of_baton_run(
    agent_image: str, server: FakeModelServer, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "ws").mkdir(parents=True)
    (project / "baton.yaml").write_text(CONFIG.format(image=agent_image, url=server.url, key=API_KEY))
    server.script("anthropic", Hang())
    run = baton(project, "run", "review")
    try:
        running = wait_until(
            lambda: server.requests_for("anthropic")
            and [c for c in docker_client().containers.list(filters={"label": "baton.step=review"})
                 if c.labels.get(OWNER_LABEL, "").endswith(f":{run.pid}")],
            120,
            "the step's container and its model request",
        )
        [container] = running
        execution_id = container.labels["baton.execution"]
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        assert [c.id for c in containers_of(execution_id)] == [container.id]  # the orphan, still running
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)

    # The next start (here: resuming the same execution) removes it before anything runs.
    server.default("anthropic", Text("resumed"))
    resume = baton(project, "resume", execution_id)
    out, _ = resume.communicate(timeout=300)
    assert resume.returncode == 0, out.decode()
    assert containers_of(execution_id) == []


# -- what the container sees: the workspace, and credentials only as environment ----------------


async def test_only_the_workspace_is_mounted_and_credentials_are_environment(
    agent_image: str, server: FakeModelServer, ws: Path, tmp_path: Path
) -> None:
    server.script("anthropic", Hang())
    artifacts = tmp_path / "artifacts"
    adapter = create_adapter(in_docker(make_agent("claude", server), agent_image))
    task = asyncio.create_task(adapter.run(make_request(ws, artifacts=artifacts, timeout=120), Events()))
    try:
        for _ in range(600):
            await asyncio.sleep(0.1)
            found = await asyncio.to_thread(containers_of, "ex-test")
            if found and server.requests_for("anthropic"):
                break
        [container] = found
        attrs = container.attrs
        mounts = {m["Source"]: m["RW"] for m in attrs["Mounts"]}
        env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
        image_env = dict(item.split("=", 1) for item in docker_client().images.get(agent_image).attrs["Config"]["Env"])
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert mounts.pop(str(ws)) is False  # read-only: the step does not write
    assert mounts and all(Path(src).is_relative_to(artifacts) for src in mounts)  # its private folders
    assert env["ANTHROPIC_API_KEY"] == API_KEY and "ANTHROPIC_API_KEY" not in image_env
    assert not {"GITHUB_TOKEN", "GH_TOKEN"} & set(env)
    assert attrs["HostConfig"]["CapDrop"] == ["ALL"] and attrs["HostConfig"]["NetworkMode"] == "host"
    # nothing Baton wrote for the call holds the key
    for path in [*ws.rglob("*"), *artifacts.rglob("*")]:
        if path.is_file():
            assert API_KEY not in path.read_text(errors="replace"), path
    assert containers_of("ex-test") == []
