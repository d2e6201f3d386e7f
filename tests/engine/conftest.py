"""Helpers to build a Baton over a real SQLite store with scripted and shell agents."""

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


def scripted(**config: Any) -> dict[str, Any]:
    return {"provider": "scripted", "model": "echo", "capabilities": ["test"], "config": config}


MakeBaton = Callable[..., Baton]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def make_baton(tmp_path: Path) -> Iterator[MakeBaton]:
    made: list[Baton] = []

    def make(workflows: dict[str, Any], agents: dict[str, Any] | None = None, *,
             clock: Clock | None = None, handlers: dict[str, Handler] | None = None,
             global_: dict[str, Any] | None = None) -> Baton:
        cfg = Configuration.model_validate({
            "version": "1.0.0",
            "global": {"workspace_dir": str(tmp_path / "ws"), **(global_ or {})},
            "agents": agents or {"sh": SHELL, "bot": scripted()},
            "workflows": workflows,
        })
        store = open_store(None, base_dir=tmp_path)
        baton = Baton(cfg, store, root=tmp_path, clock=clock,
                      adapter_factory=scripted_factory(handlers or {}))
        made.append(baton)
        return baton

    (tmp_path / "ws").mkdir(exist_ok=True)
    yield make
    for b in made:
        b.store.close()
