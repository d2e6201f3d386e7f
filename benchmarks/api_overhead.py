"""What Baton's API adapters add to a model-API call, and what redaction costs the engine.

1. ``api``: the same streamed call made with the bare SDK (``messages.create`` /
   ``chat.completions.create`` with ``stream=True``, iterating the stream) and through
   ``AnthropicApiAgent.run`` / ``OpenAIApiAgent.run`` (client setup, delta merging,
   transcript, usage, price, structured-output handling), against the fake model server
   on 127.0.0.1. Interleaved, alternating which goes first; a fresh client per call on
   both sides. The fake server answers in about a millisecond, so the ratio is the
   worst case: a real model takes seconds and hides the adapter entirely.
2. ``redaction``: microseconds to pass one AgentOutput event through the redactor with
   0 and with 50 registered secrets (the recorder does this for every event).

Prints JSON.

    .venv/bin/python benchmarks/api_overhead.py [N]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import anthropic  # noqa: E402
import openai  # noqa: E402
from tests.fixtures.fake_model_server import FakeModelServer, Text  # noqa: E402

from baton.agents.base import AgentRequest, discard_events  # noqa: E402
from baton.agents.factory import create_adapter  # noqa: E402
from baton.models import Agent  # noqa: E402
from baton.models.events import AgentOutput  # noqa: E402
from baton.observability.redact import Redactor  # noqa: E402

KEY = "sk-bench-0123456789"
ANSWER = "a short answer from the fake model " * 4


async def bare_anthropic(url: str) -> None:
    async with anthropic.AsyncAnthropic(api_key=KEY, base_url=url, max_retries=0, timeout=30) as client:
        stream = await client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=8192,
            stream=True,
            messages=[{"role": "user", "content": "hi"}],
        )
        async for _event in stream:
            pass


async def bare_openai(url: str) -> None:
    async with openai.AsyncOpenAI(api_key=KEY, base_url=f"{url}/v1", max_retries=0, timeout=30) as client:
        stream = await client.chat.completions.create(
            model="gpt-4.1",
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "hi"}],
        )
        async for _chunk in stream:
            pass


async def measure_api(server: FakeModelServer, kind: str, n: int, artifacts: Path) -> dict[str, Any]:
    api = "anthropic" if kind == "anthropic" else "chat"
    base = server.url if kind == "anthropic" else f"{server.url}/v1"
    agent = Agent(
        id=f"{kind}-bench",
        provider=kind,
        interface="api",
        capabilities=["bench"],
        model="claude-sonnet-4-6" if kind == "anthropic" else "gpt-4.1",
        config={"api_key": KEY, "base_url": base},
    )
    adapter = create_adapter(agent)
    bare = bare_anthropic if kind == "anthropic" else bare_openai
    request = AgentRequest(
        prompt="hi", workspace_dir=artifacts, timeout_seconds=30, step_id="bench", artifacts_dir=artifacts
    )
    server.default(api, Text(ANSWER))

    async def time_bare() -> float:
        t = time.perf_counter()
        await bare(server.url)
        return time.perf_counter() - t

    async def time_adapter() -> float:
        t = time.perf_counter()
        await adapter.run(request, discard_events)
        return time.perf_counter() - t

    for _ in range(3):  # warm up imports, connections, pydantic models
        await time_bare()
        await time_adapter()
    bare_s, adapter_s = [], []
    for i in range(n):
        if i % 2:
            bare_s.append(await time_bare())
            adapter_s.append(await time_adapter())
        else:
            adapter_s.append(await time_adapter())
            bare_s.append(await time_bare())
    b, a = statistics.median(bare_s), statistics.median(adapter_s)
    return {
        "calls": n,
        "bare_ms": round(b * 1000, 3),
        "adapter_ms": round(a * 1000, 3),
        "added_ms": round((a - b) * 1000, 3),
        "ratio": round(a / b, 3),
    }


def measure_redaction(n: int) -> dict[str, float]:
    event = AgentOutput(
        execution_id="e",
        step="s",
        agent_id="a",
        event_kind="text",
        text="some streamed agent output line " * 8,
        payload={"k": "v"},
    )
    out: dict[str, float] = {}
    for count in (0, 50):
        r = Redactor([f"secret-value-{i:04d}-abcdef" for i in range(count)])
        r.redact(event)
        t = time.perf_counter()
        for _ in range(n):
            r.redact(event)
        out[f"us_per_event_{count}_secrets"] = round((time.perf_counter() - t) / n * 1e6, 3)
    return out


async def main(n: int) -> None:
    with FakeModelServer() as server, tempfile.TemporaryDirectory() as tmp:
        results = {kind: await measure_api(server, kind, n, Path(tmp)) for kind in ("anthropic", "openai")}
    results["redaction"] = measure_redaction(20_000)  # type: ignore[assignment]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 40))
