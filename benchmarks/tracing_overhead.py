"""Tracing overhead: the same workflow with tracing on and off, interleaved, in one run.

A 12-step workflow (a chain, a 4-wide fan-out and a join) on scripted agents that answer
after 50-100 ms with usage and cost, like a fast model call. Each round runs it once with
``observability.tracing`` off and once on (file exporter: one trace.json per execution),
alternating which goes first. Reports the wall-clock overhead (target < 1 %, spec < 5 %)
and, measured directly, the time spent in the tracing observer per step in µs. Prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baton.engine import Baton
from baton.models import Configuration
from baton.models.events import Event
from baton.observability.setup import setup
from baton.observability.tracing import TracingObserver
from baton.store import open_store

ROUNDS = 20
DELAYS = [0.05 + 0.05 * (i % 6) / 5 for i in range(12)]  # 50..100 ms


def workflow() -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {"id": f"c{i}", "agent_id": "bot", "prompt_template": f"chain {i} {{{{ params.n }}}}"}
        for i in range(7)
    ]
    steps += [
        {
            "id": f"f{i}",
            "agent_id": "bot",
            "prompt_template": f"fan {i} {{{{ params.n }}}}",
            "dependencies": ["c6"],
        }
        for i in range(4)
    ]
    steps.append(
        {
            "id": "join",
            "agent_id": "bot",
            "prompt_template": "join {{ params.n }}",
            "dependencies": [f"f{i}" for i in range(4)],
        }
    )
    return {"steps": steps, "parameters": {"n": {"type": "string"}}}


def script() -> dict[str, list[dict[str, Any]]]:
    ids = [f"c{i}" for i in range(7)] + [f"f{i}" for i in range(4)] + ["join"]
    return {
        sid: [
            {
                "reply": "ok",
                "delay": DELAYS[i],
                "usage": {"input_tokens": 900, "output_tokens": 120},
                "cost_usd": 0.0045,
            }
        ]
        for i, sid in enumerate(ids)
    }


class Timed:
    """Wraps an observer and adds up the time spent in it: wall, and CPU of the engine's thread.

    The wall figure includes time the thread spent descheduled or waiting for the GIL (on a
    loaded machine, most of it); the CPU figure is what the observer itself costs.
    """

    def __init__(self, inner: Callable[[Event], None]) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __call__(self, event: Event) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        self.inner(event)
        self.cpu_seconds += time.thread_time() - cpu
        self.seconds += time.perf_counter() - started


def make(traced: bool) -> tuple[Baton, Timed | None]:
    root = Path(tempfile.mkdtemp(prefix="baton-trace-bench-"))
    (root / "ws").mkdir()
    cfg = Configuration.model_validate(
        {
            "version": "1.0.0",
            "global": {"workspace_dir": str(root / "ws"), "cache": {"enabled": False}},
            "agents": {
                "bot": {
                    "provider": "scripted",
                    "model": "bench-model",
                    "capabilities": ["bench"],
                    "max_concurrency": 8,
                    "config": {"script": script()},
                }
            },
            "workflows": {"bench": workflow()},
            "observability": {"tracing": {"enabled": traced, "exporter": "file"}},
        }
    )
    observers: list[Callable[[Event], None]] = list(setup(cfg, root))
    timed = None
    if traced:
        index = next(i for i, o in enumerate(observers) if isinstance(o, TracingObserver))
        timed = observers[index] = Timed(observers[index])
    return Baton(cfg, open_store(None, base_dir=root), root=root, observers=observers), timed


async def once(baton: Baton, n: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = await baton.run_to_end("bench", {"n": str(n)})
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.status.value == "completed", result.error
    return wall, cpu


async def main() -> None:
    off, _ = make(False)
    on, timed = make(True)
    assert timed is not None
    await once(off, -1)
    await once(on, -1)
    timed.seconds = timed.cpu_seconds = 0.0
    wall: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    for r in range(ROUNDS):
        order = [("off", off), ("on", on)] if r % 2 == 0 else [("on", on), ("off", off)]
        for name, baton in order:
            w, c = await once(baton, r)
            wall[name].append(w)
            cpu[name].append(c)
    steps = len(DELAYS) * ROUNDS
    paired = [(a - b) / b * 100 for a, b in zip(wall["on"], wall["off"], strict=True)]
    cpu_extra = statistics.median(cpu["on"]) - statistics.median(cpu["off"])
    report = {
        "rounds": ROUNDS,
        "steps_per_run": len(DELAYS),
        "agent_delay_ms": [round(min(DELAYS) * 1000), round(max(DELAYS) * 1000)],
        "median_run_s": {
            "off": round(statistics.median(wall["off"]), 4),
            "on": round(statistics.median(wall["on"]), 4),
        },
        "overhead_pct_paired_median": round(statistics.median(paired), 3),
        "overhead_pct_total": round((sum(wall["on"]) - sum(wall["off"])) / sum(wall["off"]) * 100, 3),
        "cpu_ms_per_run": {
            "off": round(statistics.median(cpu["off"]) * 1000, 2),
            "on": round(statistics.median(cpu["on"]) * 1000, 2),
        },
        "cpu_us_per_step_added": round(cpu_extra / len(DELAYS) * 1e6, 1),
        "tracing_observer_us_per_step": round(timed.seconds / steps * 1e6, 1),
        "tracing_observer_pct_of_run": round(timed.seconds / sum(wall["on"]) * 100, 4),
        "tracing_observer_cpu_us_per_step": round(timed.cpu_seconds / steps * 1e6, 1),
        "tracing_observer_cpu_pct_of_run": round(timed.cpu_seconds / sum(wall["on"]) * 100, 4),
        "target_pct": 1.0,
        "spec_pct": 5.0,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    report["meets_spec"] = report["overhead_pct_paired_median"] < 5.0  # type: ignore[operator]
    print(json.dumps(report, indent=2))
    off.close()
    on.close()


if __name__ == "__main__":
    asyncio.run(main())
