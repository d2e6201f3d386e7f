"""Shared helpers for the benchmarks: build a Baton on a temp SQLite store, time things."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baton.engine import Baton
from baton.models import Configuration
from baton.store import open_store


def make_baton(workflows: dict[str, Any], agents: dict[str, Any] | None = None,
               global_: dict[str, Any] | None = None) -> tuple[Baton, Path]:
    root = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    (root / "ws").mkdir()
    cfg = Configuration.model_validate({
        "version": "1.0.0",
        "global": {"workspace_dir": str(root / "ws"), "cache": {"enabled": False}, **(global_ or {})},
        "agents": agents or {"bot": {"provider": "scripted", "model": "echo", "capabilities": ["bench"],
                                     "max_concurrency": 64,
                                     "config": {"script": [{"reply": "ok"}]}}},
        "workflows": workflows,
    })
    return Baton(cfg, open_store(None, base_dir=root), root=root), root


def chain(n: int) -> dict[str, Any]:
    return {"steps": [{"id": f"s{i}", "agent_id": "bot", "prompt_template": f"step {i}"} for i in range(n)]}


def fanout(width: int) -> dict[str, Any]:
    steps = [{"id": "root", "agent_id": "bot", "prompt_template": "root"}]
    steps += [{"id": f"w{i}", "agent_id": "bot", "prompt_template": f"w {i}", "dependencies": ["root"]}
              for i in range(width)]
    steps.append({"id": "join", "agent_id": "bot", "prompt_template": "join",
                  "dependencies": [f"w{i}" for i in range(width)]})
    return {"steps": steps}


def best_of(repeats: int, fn: Callable[[], float]) -> dict[str, float]:
    samples = [fn() for _ in range(repeats)]
    return {"median": statistics.median(samples), "min": min(samples)}


def now() -> float:
    return time.perf_counter()
