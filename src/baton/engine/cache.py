"""The prompt cache (seed: identical prompts are answered from the store).

Key = agent id, provider, model, interface, the rendered prompt, the agent's config
(credentials excluded), the step's output schema and write permission, and — for agents
that act on the workspace — the workspace's git tree state. A hit returns the stored
result; when the original call changed files, its recorded diff is re-applied.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from baton.agents.base import AgentResult
from baton.models import Agent
from baton.store.base import CacheEntry, Store
from baton.workspace import git

_SECRET_KEYS = {"api_key", "token", "password", "secret"}


def _public_config(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k.lower() not in _SECRET_KEYS}


@dataclass(slots=True)
class WorkspaceState:
    """What the workspace looked like before a call: a git tree id, or a fingerprint."""

    tree: str | None
    fingerprint: str | None

    @property
    def token(self) -> str:
        return self.tree or self.fingerprint or ""


async def workspace_state(path: Path) -> WorkspaceState:
    tree = await git.tree_state(path)
    return WorkspaceState(tree=tree, fingerprint=None if tree else git.directory_fingerprint(path))


def cache_key(agent: Agent, prompt: str, *, output_schema: dict[str, Any] | None,
              writes_workspace: bool, workspace_token: str | None) -> str:
    material = {
        "agent": agent.id,
        "provider": agent.provider,
        "model": agent.model,
        "interface": agent.interface.value,
        "config": _public_config(agent.config),
        "prompt": prompt,
        "schema": output_schema,
        "writes": writes_workspace,
        "workspace": workspace_token,
    }
    blob = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


class PromptCache:
    """Reads and writes cache entries in the store."""

    def __init__(self, store: Store, ttl_seconds: int) -> None:
        self.store = store
        self.ttl = ttl_seconds

    def get(self, key: str, now: datetime) -> CacheEntry | None:
        return self.store.cache_get(key, now)

    def put(self, key: str, agent_id: str, result: AgentResult, diff: str | None,
            now: datetime) -> None:
        expires = now + timedelta(seconds=self.ttl) if self.ttl else None
        self.store.cache_put(CacheEntry(key=key, agent_id=agent_id, output=result.as_output(),
                                        diff=diff or None, created_at=now, expires_at=expires))
