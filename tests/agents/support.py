"""Helpers shared by the coding-CLI adapter tests (agents, requests, events, /proc)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from baton.agents.base import AgentEvent, AgentRequest
from baton.models import Agent
from tests.fixtures.fake_model_server import FakeModelServer

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".tools" / "npm" / "node_modules" / ".bin"
COPILOT_CACHE = ROOT / ".tools" / "copilot-pkg"
TRANSCRIPTS = ROOT / "tests" / "fixtures" / "transcripts"
API_KEY = "sk-baton-test-0123456789abcdef"

# Test models: each has an entry in baton/data/prices.json.
MODELS = {
    "claude": ("anthropic", "claude-sonnet-4-5"),
    "codex": ("openai", "gpt-5.5"),
    "copilot": ("github", "gpt-5.4"),
    "gemini": ("google", "gemini-2.5-flash"),
}

# Settings that make each CLI give up after one failed request (see shared/protocols.md).
FAST_FAIL: dict[str, dict[str, Any]] = {
    "claude": {"env": {"CLAUDE_CODE_MAX_RETRIES": "0"}},
    "codex": {
        "extra_args": [
            "-c",
            "model_providers.baton.request_max_retries=0",
            "-c",
            "model_providers.baton.stream_max_retries=0",
        ]
    },
    "copilot": {},
    "gemini": {"settings": {"general": {"maxAttempts": 1}}},
}


def require_cli(name: str) -> str:
    """The path of CLI ``name``; skip (locally) or fail (CI=true) when it is missing."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} CLI not installed (run: source .ci/agents.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must have every agent CLI", pytrace=False)
        pytest.skip(message)
    return found


def make_agent(
    cli: str,
    server: FakeModelServer | None = None,
    *,
    fast_fail: bool = True,
    agent_id: str | None = None,
    **config: Any,
) -> Agent:
    """An Agent for ``cli`` pointed at ``server`` (base_url + api_key), plus ``config``."""
    provider, model = MODELS[cli]
    cfg: dict[str, Any] = {}
    if server is not None:
        cfg.update(base_url=server.url, api_key=API_KEY)
    if fast_fail:
        for key, value in FAST_FAIL[cli].items():
            cfg[key] = value
    for key, value in config.items():
        if key == "env" and isinstance(value, dict):
            cfg["env"] = {**cfg.get("env", {}), **value}
        else:
            cfg[key] = value
    return Agent(id=agent_id or cli, provider=provider, model=model, capabilities=["code_review"], config=cfg)


def make_request(
    workspace: Path,
    prompt: str = "say hello",
    *,
    timeout: float = 60,
    artifacts: Path | None = None,
    **fields: Any,
) -> AgentRequest:
    return AgentRequest(
        prompt=prompt,
        workspace_dir=workspace,
        timeout_seconds=timeout,
        execution_id="ex-test",
        step_id="step",
        artifacts_dir=artifacts,
        **fields,
    )


class Events:
    """An ``on_event`` callback that keeps every event."""

    def __init__(self) -> None:
        self.items: list[AgentEvent] = []

    async def __call__(self, event: AgentEvent) -> None:
        self.items.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.items]

    def of(self, kind: str) -> list[AgentEvent]:
        return [e for e in self.items if e.kind == kind]


def marker() -> str:
    """A unique value to find a call's processes in /proc by their environment."""
    return uuid.uuid4().hex


def processes_with(value: str) -> list[int]:
    """PIDs of live processes whose environment contains ``value``."""
    found = []
    needle = value.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, state letter) of every process in process group ``pgid``, zombies included."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            members.append((int(entry.name), fields[0]))
    return members
