"""A Baton over a real SQLite store with scripted and shell agents, and observers to attach."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.agents.scripted import Handler, scripted_factory
from baton.engine import Baton
from baton.engine.clock import Clock
from baton.models import Configuration
from baton.store import open_store

SHELL = {"provider": "shell", "model": "bash", "capabilities": ["command"]}


def scripted(model: str = "echo", **config: Any) -> dict[str, Any]:
    return {"provider": "scripted", "model": model, "capabilities": ["test"], "config": config}


def reply(
    text: str, input_tokens: int = 0, output_tokens: int = 0, cost: float | None = None, **extra: Any
) -> dict[str, Any]:
    """A scripted answer with usage and cost."""
    entry: dict[str, Any] = {
        "reply": text,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        **extra,
    }
    if cost is not None:
        entry["cost_usd"] = cost
    return entry


MakeBaton = Callable[..., Baton]


@pytest.fixture
def make_baton(tmp_path: Path) -> Iterator[MakeBaton]:
    made: list[Baton] = []
    (tmp_path / "ws").mkdir(exist_ok=True)

    def make(
        workflows: dict[str, Any],
        agents: dict[str, Any],
        *,
        clock: Clock | None = None,
        observers: list[Any] | None = None,
        global_: dict[str, Any] | None = None,
        handlers: dict[str, Handler] | None = None,
    ) -> Baton:
        cfg = Configuration.model_validate(
            {
                "version": "1.0.0",
                "global": {"workspace_dir": str(tmp_path / "ws"), **(global_ or {})},
                "agents": agents,
                "workflows": workflows,
            }
        )
        baton = Baton(
            cfg,
            open_store(None, base_dir=tmp_path),
            root=tmp_path,
            clock=clock,
            observers=observers or [],
            adapter_factory=scripted_factory(handlers or {}),
        )
        made.append(baton)
        return baton

    yield make
    for baton in made:
        baton.store.close()
