"""The user's path: ``baton run`` of 200 instant scripted steps minus a 1-step run, per step,
against LangGraph's in-memory per-node cost measured in this process during the same run.

A git project made by ``baton init`` (store inside the workspace), a ``baton.yaml`` with an
instant scripted agent (cache off) and two workflows: ``one`` (1 step) and ``many`` (200
steps in a chain). Each round runs ``baton run one`` and ``baton run many`` as the user
would, once with the output on a pseudo-terminal (the live table) and once on a pipe (a
line per event), interleaved with a 200-node LangGraph chain in memory. Per step =
(many - one) / 199. Prints JSON. Target (issue 17): per step <= 1.0 x LangGraph's per node.

    .venv/bin/python benchmarks/run_path.py [ROUNDS]
"""

from __future__ import annotations

import json
import os
import pty
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from langgraph.checkpoint.memory import InMemorySaver

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_overhead import _lg_chain

STEPS = 200
BATON = [sys.executable, "-m", "baton"]


def project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="baton-run-path-"))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*BATON, "init"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    config = yaml.safe_load((root / "baton.yaml").read_text())
    config["global"]["cache"] = {"enabled": False}
    config["agents"] = {"bot": {"provider": "scripted", "model": "echo", "capabilities": ["bench"],
                                "config": {"script": [{"reply": "ok"}]}}}

    def chain(n: int) -> dict[str, Any]:
        return {"steps": [{"id": f"s{i}", "agent_id": "bot", "prompt_template": f"step {i}"}
                          for i in range(n)]}

    config["workflows"] = {"one": chain(1), "many": chain(STEPS)}
    (root / "baton.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def baton_run(root: Path, workflow: str, terminal: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one ``baton run``."""
    cpu = _child_cpu()
    env = {**os.environ, "COLUMNS": "120", "LINES": "60", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    env.pop("CI", None)
    if terminal:
        leader, follower = pty.openpty()
        started = time.perf_counter()
        proc = subprocess.Popen([*BATON, "run", workflow], cwd=root, env=env, stdin=subprocess.DEVNULL,
                                stdout=follower, stderr=follower)
        os.close(follower)
        while True:  # drain the terminal so the child never blocks on a full buffer
            try:
                if not os.read(leader, 65536):
                    break
            except OSError:
                break
        code = proc.wait()
        elapsed = time.perf_counter() - started
        os.close(leader)
    else:
        started = time.perf_counter()
        code = subprocess.run([*BATON, "run", workflow], cwd=root, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"baton run {workflow} exited {code}")
    return elapsed, _child_cpu() - cpu


def main(rounds: int) -> dict[str, Any]:
    root = project()
    graph = _lg_chain(STEPS, InMemorySaver())
    counter = [0]

    def langgraph() -> tuple[float, float]:
        counter[0] += 1
        t, c = time.perf_counter(), time.process_time()
        graph.invoke({"outputs": {}}, {"configurable": {"thread_id": str(counter[0])},
                                       "recursion_limit": 10_000})
        return time.perf_counter() - t, time.process_time() - c

    for terminal in (False, True):  # warm-up: page cache, the store's first open
        baton_run(root, "one", terminal)
        baton_run(root, "many", terminal)
    langgraph()
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in ("pipe", "terminal")}
    lg: list[tuple[float, float]] = []
    for i in range(rounds):
        for mode in (("pipe", "terminal") if i % 2 == 0 else ("terminal", "pipe")):
            terminal = mode == "terminal"
            first, second = ("one", "many") if i % 2 == 0 else ("many", "one")
            times = {first: baton_run(root, first, terminal), second: baton_run(root, second, terminal)}
            samples[mode].append(tuple((m - o) / (STEPS - 1)  # type: ignore[misc]
                                       for m, o in zip(times["many"], times["one"], strict=True)))
            wall, cpu = langgraph()
            lg.append((wall / STEPS, cpu / STEPS))
    lg_wall = statistics.median(w for w, _ in lg)
    lg_cpu = statistics.median(c for _, c in lg)
    out: dict[str, Any] = {"rounds": rounds, "steps": STEPS,
                           "langgraph_memory_ms_per_node": round(lg_wall * 1000, 4),
                           "langgraph_memory_cpu_ms_per_node": round(lg_cpu * 1000, 4)}
    for mode, values in samples.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        out[mode] = {"baton_run_ms_per_step": round(wall * 1000, 4),
                     "baton_run_cpu_ms_per_step": round(cpu * 1000, 4),
                     "ratio_vs_langgraph_memory": round(wall / lg_wall, 3),
                     "cpu_ratio_vs_langgraph_memory": round(cpu / lg_cpu, 3)}
    out["target_ratio"] = 1.0
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))
