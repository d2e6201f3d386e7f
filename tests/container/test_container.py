"""The container runner where a real daemon cannot serve: pulling an image (no registry is
reachable here), and no engine at all. Everything a real engine can show — mounts, limits,
environment, timeouts, cancellation, OOM, orphans — is in test_docker.py, on a real daemon.

The pull test uses a fake engine on a unix socket that records the real ``docker`` SDK's
requests (tests/fixtures/fake_docker_engine.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.agents.base import AgentRequest, AgentUnavailable
from baton.agents.factory import create_adapter
from baton.agents.health import check_adapter, unavailable_reason
from baton.models import Agent
from baton.workspace.container import run_in_container
from tests.fixtures.fake_docker_engine import FakeDockerEngine

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
