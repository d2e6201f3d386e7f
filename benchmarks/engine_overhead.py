"""Per-step overhead of Baton's engine vs LangGraph, measured in one run.

A 100-step chain and a 50-wide fan-out with an instant scripted agent, Baton durable on
SQLite (WAL, every step transition committed) against the same graphs in LangGraph: in
memory, and with its SQLite checkpointer. Prints JSON. Target: Baton per-step overhead
<= 0.5 x LangGraph's in-memory per-node overhead.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Annotated, Any, TypedDict

from _common import best_of, chain, fanout, make_baton, now
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

REPEATS = 5


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


def time_langgraph(build: Any, size: int, durable: bool) -> float:
    if durable:
        path = Path(tempfile.mkdtemp()) / "lg.db"
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        saver: Any = SqliteSaver(conn)
    else:
        saver = InMemorySaver()
    graph = build(size, saver)
    counter = {"n": 0}

    def run() -> float:
        counter["n"] += 1
        t = now()
        graph.invoke({"outputs": {}}, {"configurable": {"thread_id": str(counter["n"])},
                                       "recursion_limit": 10_000})
        return now() - t

    run()  # warm-up
    return best_of(REPEATS, run)["median"]


def time_baton(workflow: dict[str, Any]) -> float:
    baton, _ = make_baton({"wf": workflow})

    async def once() -> float:
        t = now()
        result = await baton.run_to_end("wf")
        assert result.status.value == "completed", result.error
        return now() - t

    async def main() -> float:
        await once()
        samples = [await once() for _ in range(REPEATS)]
        samples.sort()
        return samples[len(samples) // 2]

    return asyncio.run(main())


def main() -> None:
    out: dict[str, Any] = {"repeats": REPEATS}
    for name, size, steps, baton_wf, lg_build in (
        ("chain_100", 100, 100, chain(100), _lg_chain),
        ("fanout_50", 50, 52, fanout(50), _lg_fanout),
    ):
        b = time_baton(baton_wf)
        lg_mem = time_langgraph(lg_build, size, durable=False)
        lg_sql = time_langgraph(lg_build, size, durable=True)
        out[name] = {
            "steps": steps,
            "baton_sqlite_ms_per_step": round(b / steps * 1000, 4),
            "langgraph_memory_ms_per_node": round(lg_mem / steps * 1000, 4),
            "langgraph_sqlite_ms_per_node": round(lg_sql / steps * 1000, 4),
            "ratio_baton_vs_langgraph_memory": round(b / lg_mem, 3),
            "ratio_baton_vs_langgraph_sqlite": round(b / lg_sql, 3),
            "target_ratio_vs_memory": 0.5,
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
