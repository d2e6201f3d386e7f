"""The prompt cache (seed: identical prompts are answered from the store).

Key = agent id, provider, model, interface, the rendered prompt, the agent's config
(credentials excluded), the step's output schema and write permission, and — for agents
that act on the workspace — the workspace's content fingerprint (see
:mod:`baton.workspace.snapshot`; nothing is written to the user's repository). A hit returns
the stored result; when the original call changed files, their recorded contents are written
back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from baton.agents.base import AgentResult
from baton.models import Agent
from baton.store.base import CacheEntry, Store

_SECRET_KEYS = {"api_key", "token", "password", "secret"}


def _public_config(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k.lower() not in _SECRET_KEYS}


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
