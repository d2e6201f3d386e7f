"""Agent registration through the seed's state machine, with health checks recorded in SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.agents.registry import AgentRegistry
from baton.models import Agent, AgentStatus
from baton.store import open_store
from baton.store.base import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """Hands out T0, T0+1min, ... so each check has its own time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> datetime:
        self.calls += 1
        return T0 + timedelta(minutes=self.calls - 1)


def shell(agent_id: str, program: str = "bash", **extra: Any) -> Agent:
    return Agent(
        id=agent_id,
        provider="shell",
        model="bash",
        capabilities=["command"],
        config={"command": program},
        **extra,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(None, base_dir=tmp_path)
    yield s
    s.close()


async def test_a_healthy_agent_goes_unregistered_registering_active(store: Store) -> None:
    clock = Clock()
    registry = AgentRegistry(store, {"sh": shell("sh")}, now=clock)
    assert registry.stored("sh") is None

    result = await registry.check("sh")

    assert result.ok and result.status is AgentStatus.ACTIVE
    stored = store.get_agent("sh")
    assert stored is not None and stored.status is AgentStatus.ACTIVE
    # UNREGISTERED -> ACTIVE directly is illegal in the store: it went through REGISTERING
    assert stored.last_health_check == T0 == result.checked_at
    assert "bash at" in result.detail


async def test_a_broken_agent_goes_to_error_and_recovers_through_registering(store: Store) -> None:
    clock = Clock()
    broken = AgentRegistry(store, {"sh": shell("sh", "baton-no-such-shell")}, now=clock)
    failed = await broken.check("sh")
    assert not failed.ok and failed.status is AgentStatus.ERROR
    assert "baton-no-such-shell" in failed.detail
    assert store.get_agent("sh").last_health_check == T0  # type: ignore[union-attr]

    fixed = AgentRegistry(store, {"sh": shell("sh")}, now=clock)
    healed = await fixed.check("sh")
    assert healed.ok and healed.status is AgentStatus.ACTIVE
    assert store.get_agent("sh").last_health_check == T0 + timedelta(minutes=1)  # type: ignore[union-attr]
    # the stored definition follows the configuration
    assert store.get_agent("sh").config["command"] == "bash"  # type: ignore[union-attr]


async def test_an_active_agent_that_breaks_goes_to_error(store: Store) -> None:
    clock = Clock()
    await AgentRegistry(store, {"sh": shell("sh")}, now=clock).check("sh")
    again = await AgentRegistry(store, {"sh": shell("sh")}, now=clock).check("sh")
    assert again.status is AgentStatus.ACTIVE and again.checked_at == T0 + timedelta(minutes=1)
    broken = await AgentRegistry(store, {"sh": shell("sh", "baton-gone")}, now=clock).check("sh")
    assert broken.status is AgentStatus.ERROR


async def test_an_inactive_agent_keeps_its_status_but_records_the_check(store: Store) -> None:
    clock = Clock()
    registry = AgentRegistry(store, {"sh": shell("sh")}, now=clock)
    await registry.check("sh")
    store.set_agent_status("sh", AgentStatus.INACTIVE)
    result = await registry.check("sh")
    assert result.ok and result.status is AgentStatus.INACTIVE
    assert result.checked_at == T0 + timedelta(minutes=1)


async def test_an_api_agent_without_its_sdk_or_endpoint_is_an_error(store: Store) -> None:
    agents = {
        "local": Agent(
            id="local", provider="openai-compatible", model="llama3", interface="api", capabilities=["chat"]
        ),
        "gpt": Agent(
            id="gpt",
            provider="openai",
            model="gpt-4.1",
            interface="api",
            capabilities=["chat"],
            config={"api_key": "sk-registry-test-1234"},
        ),
    }
    results = await AgentRegistry(store, agents, now=Clock()).check_many(["local", "gpt"])
    by_id = {r.agent_id: r for r in results}
    assert by_id["local"].status is AgentStatus.ERROR and "base_url" in by_id["local"].detail
    assert by_id["gpt"].status is AgentStatus.ACTIVE and by_id["gpt"].version
    stored = store.get_agent("gpt")
    assert stored is not None and stored.config["api_key"] != "sk-registry-test-1234"  # redacted at rest


async def test_forget_removes_the_agent_from_the_store(store: Store) -> None:
    registry = AgentRegistry(store, {"sh": shell("sh")}, now=Clock())
    assert registry.forget("sh") is False
    await registry.check("sh")
    assert registry.forget("sh") is True
    assert store.get_agent("sh") is None
