"""Cost of Baton's LangGraph compiler: a 100-step chain compiled from YAML vs written by hand.

Three runs of the same chain with an instant scripted agent, each durable on SQLite:

- ``compiled``: ``type: langgraph`` YAML, compiled by Baton (store + checkpoints in the
  store's SQLite file);
- ``handwritten_kit``: a hand-written ``StateGraph`` (``graph: "module:build"``) whose
  nodes are ``kit.agent_node(...)``: the same per-step work, wired by hand;
- ``handwritten_plain``: a hand-written LangGraph graph whose nodes call the same scripted
  agent directly, with LangGraph's own AsyncSqliteSaver and nothing of Baton (no
  StepRun rows, logs, usage, cache, budgets);
- ``baton_simple``: the chain as a ``type: simple`` workflow, for Baton's own per-step
  bookkeeping (StepRun and log rows, usage), which the langgraph types pay as well.

Prints JSON. Target: compiled <= 1.2 x handwritten_kit (the compiler adds nothing to the
step work). The ratio to handwritten_plain shows what Baton's per-step bookkeeping costs.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import textwrap
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Annotated, Any, TypedDict

import aiosqlite
from _common import make_baton, now
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from baton.agents.base import AgentEvent, AgentRequest
from baton.agents.scripted import ScriptedAgent
from baton.models import Agent

Runner = Callable[[], Awaitable[float]]

STEPS = 100
REPEATS = 5

KIT_MODULE = """
from langgraph.graph import END, START, StateGraph


def build(kit):
    g = StateGraph(kit.State)
    ids = kit.step_ids
    for step_id in ids:
        g.add_node(step_id, kit.agent_node(step_id))
    g.add_edge(START, ids[0])
    for a, b in zip(ids, ids[1:]):
        g.add_edge(a, b)
    g.add_edge(ids[-1], END)
    return g
"""


def _steps(n: int) -> list[dict[str, Any]]:
    return [{"id": f"s{i}", "agent_id": "bot", "prompt_template": f"step {i}"} for i in range(n)]


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


async def _baton_runner(graph: str | None, kind: str = "langgraph") -> Runner:
    spec: dict[str, Any] = {"type": kind, "config": {"max_steps": STEPS + 10}, "steps": _steps(STEPS)}
    if graph:
        spec["graph"] = graph
    baton, _ = make_baton({"chain": spec})

    async def run() -> float:
        t = now()
        result = await baton.run_to_end("chain")
        elapsed = now() - t
        assert result.status.value == "completed", result.error
        return elapsed

    return run


async def compiled_runner() -> Runner:
    return await _baton_runner(None)


async def handwritten_kit_runner() -> Runner:
    module_dir = Path(tempfile.mkdtemp(prefix="baton-bench-graph-"))
    (module_dir / "bench_chain_graph.py").write_text(textwrap.dedent(KIT_MODULE))
    sys.path.insert(0, str(module_dir))
    return await _baton_runner("bench_chain_graph:build")


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {**a, **b}


class PlainState(TypedDict, total=False):
    outputs: Annotated[dict[str, Any], _merge]


async def handwritten_plain_runner(stack: AsyncExitStack) -> Runner:
    root = Path(tempfile.mkdtemp(prefix="baton-bench-plain-"))
    agent = Agent.model_validate({"id": "bot", "provider": "scripted", "model": "echo",
                                  "capabilities": ["bench"], "config": {"script": [{"reply": "ok"}]}})
    adapter = ScriptedAgent(agent)

    async def ignore(_event: AgentEvent) -> None:
        return None

    def node(i: int) -> Any:
        async def run(state: PlainState) -> dict[str, Any]:
            request = AgentRequest(prompt=f"step {i}", workspace_dir=root, timeout_seconds=60,
                                   execution_id="bench", step_id=f"s{i}")
            result = await adapter.run(request, ignore)
            return {"outputs": {f"s{i}": result.as_output()}}

        return run

    graph: StateGraph[Any] = StateGraph(PlainState)
    for i in range(STEPS):
        graph.add_node(f"s{i}", node(i))
    graph.add_edge(START, "s0")
    for i in range(STEPS - 1):
        graph.add_edge(f"s{i}", f"s{i + 1}")
    graph.add_edge(f"s{STEPS - 1}", END)
    conn = await stack.enter_async_context(aiosqlite.connect(root / "lg.db"))
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    compiled = graph.compile(checkpointer=AsyncSqliteSaver(conn))
    counter = [0]

    async def run() -> float:
        counter[0] += 1
        t = now()
        await compiled.ainvoke({"outputs": {}}, {"configurable": {"thread_id": str(counter[0])},
                                                 "recursion_limit": STEPS + 10}, durability="sync")
        return now() - t

    return run


async def measure() -> dict[str, list[float]]:
    """Warm each variant up once, then run them in turn (interleaved, so load on the
    machine affects all three alike)."""
    async with AsyncExitStack() as stack:
        runners = {"compiled": await compiled_runner(), "handwritten_kit": await handwritten_kit_runner(),
                   "handwritten_plain": await handwritten_plain_runner(stack),
                   "baton_simple": await _baton_runner(None, "simple")}
        for run in runners.values():
            await run()
        samples: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(REPEATS):
            for name, run in runners.items():
                samples[name].append(await run())
        return samples


def main() -> None:
    samples = asyncio.run(measure())
    c, k, p = (_median(samples[n]) for n in ("compiled", "handwritten_kit", "handwritten_plain"))
    print(json.dumps({
        "steps": STEPS,
        "repeats": REPEATS,
        "compiled_ms_per_step": round(c / STEPS * 1000, 3),
        "handwritten_kit_ms_per_step": round(k / STEPS * 1000, 3),
        "handwritten_plain_ms_per_step": round(p / STEPS * 1000, 3),
        "ratio_compiled_vs_handwritten": round(c / k, 3),
        "ratio_compiled_vs_plain_langgraph": round(c / p, 3),
        "baton_simple_ms_per_step": round(_median(samples["baton_simple"]) / STEPS * 1000, 3),
        "target_ratio": 1.2,
        "samples_s": {name: [round(x, 4) for x in xs] for name, xs in samples.items()},
    }, indent=2))


if __name__ == "__main__":
    main()
