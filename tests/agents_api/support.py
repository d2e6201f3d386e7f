"""Helpers for the model-API adapter tests: agents pointed at the fake model server, requests, events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baton.agents.base import AgentEvent, AgentRequest
from baton.models import Agent
from tests.fixtures.fake_model_server import FakeModelServer

# Unique per suite so that masking one never hides another test's text.
API_KEY = "sk-baton-api-test-4b1d9e07c2"

PROVIDERS = {
    "anthropic": ("anthropic", "claude-sonnet-4-6"),
    "openai": ("openai", "gpt-4.1"),
    "github": ("github", "openai/gpt-4.1"),
    "compatible": ("openai-compatible", "qwen2.5-coder:7b"),
}
TEST_PRICES = {"input": 1.0, "output": 2.0, "cache_read": 0.5, "cache_write": 1.5}


def api_agent(
    kind: str, server: FakeModelServer | None = None, *, agent_id: str | None = None, **config: Any
) -> Agent:
    """An API agent of ``kind`` (a key of PROVIDERS) pointed at ``server``."""
    provider, model = PROVIDERS[kind]
    cfg: dict[str, Any] = {}
    if server is not None:
        cfg["base_url"] = server.url if provider == "anthropic" else f"{server.url}/v1"
    if provider != "openai-compatible":
        cfg["api_key"] = API_KEY
    cfg.update(config)
    return Agent(
        id=agent_id or f"{kind}-api",
        provider=provider,
        model=model,
        interface="api",
        capabilities=["code_review"],
        config=cfg,
    )


def make_request(
    tmp_path: Path, prompt: str = "say hello", *, timeout: float = 20, artifacts: bool = False, **fields: Any
) -> AgentRequest:
    return AgentRequest(
        prompt=prompt,
        workspace_dir=tmp_path,
        timeout_seconds=timeout,
        execution_id="ex-api",
        step_id="step",
        artifacts_dir=tmp_path / "artifacts" if artifacts else None,
        **fields,
    )


class Events:
    """An ``on_event`` callback that keeps every event."""

    def __init__(self) -> None:
        self.items: list[AgentEvent] = []

    async def __call__(self, event: AgentEvent) -> None:
        self.items.append(event)

    def of(self, kind: str) -> list[AgentEvent]:
        return [e for e in self.items if e.kind == kind]
