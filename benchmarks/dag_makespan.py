"""Makespan of a 20-step DAG with scripted sleeps vs its critical path, and vs a sequential
shell script doing the same sleeps. Prints JSON. Target: makespan / critical path <= 1.03."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from _common import make_baton, now

# (step, seconds, dependencies): four layers, widths 1-6-8-4-1
LAYERS = [
    [("a0", 0.30)],
    [(f"b{i}", 0.20 + 0.05 * i) for i in range(6)],
    [(f"c{i}", 0.15 + 0.04 * i) for i in range(8)],
    [(f"d{i}", 0.25) for i in range(4)],
    [("e0", 0.10)],
]


def build() -> tuple[dict[str, Any], float, float]:
    steps: list[dict[str, Any]] = []
    finish: dict[str, float] = {}
    prev: list[tuple[str, float]] = []
    for layer in LAYERS:
        for sid, secs in layer:
            deps = [p for p, _ in prev]
            steps.append({"id": sid, "agent_id": "bot", "prompt_template": sid,
                          "dependencies": deps})
            finish[sid] = max((finish[d] for d in deps), default=0.0) + secs
        prev = layer
    critical = max(finish.values())
    total = sum(secs for layer in LAYERS for _, secs in layer)
    return {"steps": steps}, critical, total


def main() -> None:
    workflow, critical, total = build()
    delays = {sid: secs for layer in LAYERS for sid, secs in layer}
    agents = {"bot": {"provider": "scripted", "model": "sleep", "capabilities": ["bench"],
                      "max_concurrency": 32,
                      "config": {"script": {sid: [{"reply": sid, "delay": d}] for sid, d in delays.items()}}}}
    baton, _ = make_baton({"dag": workflow}, agents)

    async def run() -> float:
        t = now()
        result = await baton.run_to_end("dag")
        assert result.status.value == "completed", result.error
        return now() - t

    async def measure() -> list[float]:
        return [await run() for _ in range(3)]

    samples = asyncio.run(measure())
    makespan = sorted(samples)[1]
    script = Path(tempfile.mkdtemp()) / "seq.sh"
    script.write_text("".join(f"sleep {d}\n" for d in delays.values()))
    t = now()
    subprocess.run(["bash", str(script)], check=True)
    sequential = now() - t
    print(json.dumps({
        "steps": len(delays),
        "critical_path_s": round(critical, 3),
        "baton_makespan_s": round(makespan, 3),
        "ratio_makespan_vs_critical_path": round(makespan / critical, 4),
        "target_ratio": 1.03,
        "sequential_shell_script_s": round(sequential, 3),
        "speedup_vs_sequential_script": round(sequential / makespan, 2),
        "sum_of_step_times_s": round(total, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
