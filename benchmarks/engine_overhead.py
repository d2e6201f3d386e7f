"""Per-step overhead of Baton's engine vs LangGraph, measured in one run.

A 100-step chain and a 50-wide fan-out with an instant scripted agent, Baton durable on
SQLite (WAL, every step transition committed) against the same graphs in LangGraph: in
memory, and with its SQLite checkpointer; runs interleaved round by round. Prints JSON.
Target: Baton per step <= 1.0 x LangGraph's in-memory per node (stretch 0.5 x).

    .venv/bin/python benchmarks/engine_overhead.py [ROUNDS]
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

from _common import chain, fanout, make_baton, now
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 15


class S(TypedDict, total=False):
    outputs: dict[str, str]


def _lg_chain(n: int, saver: Any) -> Any:
    g = StateGraph(S)
    for i in range(n):
        g.add_node(f"s{i}", lambda s, i=i: {"outputs": {**s.get("outputs", {}), f"s{i}": "ok"}})
    g.add_edge(START, "s0")
    for i in range(n - 1):
        g.add_edge(f"s{i}", f"s{i + 1}")
    g.add_edge(f"s{n - 1}", END)
    return g.compile(checkpointer=saver)


def merge(a: dict[str, str], b: dict[str, str]) -> dict[str, str]:
    return {**a, **b}


class F(TypedDict, total=False):
    outputs: Annotated[dict[str, str], merge]


def _lg_fanout(width: int, saver: Any) -> Any:
    g = StateGraph(F)
    g.add_node("root", lambda s: {"outputs": {"root": "ok"}})
    for i in range(width):
        g.add_node(f"w{i}", lambda s, i=i: {"outputs": {f"w{i}": "ok"}})
        g.add_edge("root", f"w{i}")
    g.add_node("join", lambda s: {"outputs": {"join": "ok"}})
    g.add_edge([f"w{i}" for i in range(width)], "join")
    g.add_edge(START, "root")
    g.add_edge("join", END)
    return g.compile(checkpointer=saver)


def langgraph_runner(build: Any, size: int, durable: bool) -> Callable[[], tuple[float, float]]:
    if durable:
        path = Path(tempfile.mkdtemp()) / "lg.db"
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        saver: Any = SqliteSaver(conn)
    else:
        saver = InMemorySaver()
    graph = build(size, saver)
    counter = {"n": 0}

    def run() -> tuple[float, float]:
        counter["n"] += 1
        t, c = now(), time.process_time()
        graph.invoke({"outputs": {}}, {"configurable": {"thread_id": str(counter["n"])},
                                       "recursion_limit": 10_000})
        return now() - t, time.process_time() - c

    return run


async def compare(baton_wf: dict[str, Any], lg_build: Any,
                  size: int) -> dict[str, list[tuple[float, float]]]:
    """Interleaved rounds (the machine is shared): Baton, LangGraph in memory, LangGraph on
    SQLite, in a rotating order; a warm-up round first."""
    baton, _ = make_baton({"wf": baton_wf})

    async def baton_once() -> tuple[float, float]:
        t, c = now(), time.process_time()
        result = await baton.run_to_end("wf")
        assert result.status.value == "completed", result.error
        return now() - t, time.process_time() - c

    lg_mem = langgraph_runner(lg_build, size, durable=False)
    lg_sql = langgraph_runner(lg_build, size, durable=True)
    samples: dict[str, list[tuple[float, float]]] = {"baton": [], "lg_mem": [], "lg_sql": []}
    await baton_once()
    lg_mem()
    lg_sql()
    for i in range(REPEATS):
        for name in [("baton", "lg_mem", "lg_sql"), ("lg_mem", "lg_sql", "baton"),
                     ("lg_sql", "baton", "lg_mem")][i % 3]:
            if name == "baton":
                samples[name].append(await baton_once())
            else:
                samples[name].append((lg_mem if name == "lg_mem" else lg_sql)())
    return samples


def main() -> None:
    out: dict[str, Any] = {"repeats": REPEATS}
    for name, size, steps, baton_wf, lg_build in (
        ("chain_100", 100, 100, chain(100), _lg_chain),
        ("fanout_50", 50, 52, fanout(50), _lg_fanout),
    ):
        s = asyncio.run(compare(baton_wf, lg_build, size))
        b, mem, sql = (statistics.median(w for w, _ in s[k]) for k in ("baton", "lg_mem", "lg_sql"))
        b_cpu, mem_cpu = (statistics.median(c for _, c in s[k]) for k in ("baton", "lg_mem"))
        ratios = sorted(x[0] / y[0] for x, y in zip(s["baton"], s["lg_mem"], strict=True))
        out[name] = {
            "steps": steps,
            "baton_sqlite_ms_per_step": round(b / steps * 1000, 4),
            "langgraph_memory_ms_per_node": round(mem / steps * 1000, 4),
            "langgraph_sqlite_ms_per_node": round(sql / steps * 1000, 4),
            "ratio_baton_vs_langgraph_memory": round(b / mem, 3),
            "ratio_per_round_median": round(statistics.median(ratios), 3),
            "ratio_per_round_min_max": [round(ratios[0], 3), round(ratios[-1], 3)],
            "ratio_baton_vs_langgraph_sqlite": round(b / sql, 3),
            "cpu_ms_per_step_baton": round(b_cpu / steps * 1000, 4),
            "cpu_ms_per_node_langgraph_memory": round(mem_cpu / steps * 1000, 4),
            "cpu_ratio_baton_vs_langgraph_memory": round(b_cpu / mem_cpu, 3),
            "target_ratio_vs_memory": 1.0,
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
