"""What `isolation: docker` adds to one agent call: claude on the host vs in the agent image.

Both sides are ``ClaudeAgent.run`` with the same one-turn prompt against the fake model
server (tests/fixtures) on 127.0.0.1; the container side runs the same pinned claude in
the agent image of .ci/docker.sh (host networking, the workspace mounted). Runs are
interleaved, alternating which goes first. Prints JSON: medians, the ratio and the
absolute overhead per call (container create + start + wait + remove).

    source .ci/agents.sh && source .ci/docker.sh
    .venv/bin/python benchmarks/container_overhead.py [N]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.fake_model_server import FakeModelServer, Text  # noqa: E402

from baton.agents.base import AgentRequest, discard_events  # noqa: E402
from baton.agents.factory import create_adapter  # noqa: E402
from baton.models import Agent, Isolation  # noqa: E402


def agent(server: FakeModelServer, image: str | None) -> Agent:
    config: dict[str, object] = {"base_url": server.url, "api_key": "sk-bench-0123456789"}
    if image:
        config.update(image=image, network="host", pull="never")
    return Agent(
        id="claude",
        provider="anthropic",
        model="claude-sonnet-4-5",
        capabilities=["bench"],
        isolation=Isolation.DOCKER if image else Isolation.SUBPROCESS,
        config=config,
    )


async def one_call(adapter: object, ws: Path, artifacts: Path) -> float:
    request = AgentRequest(
        prompt="say hello", workspace_dir=ws, timeout_seconds=120, execution_id="bench", artifacts_dir=artifacts
    )
    started = time.perf_counter()
    result = await adapter.run(request, discard_events)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    assert result.text == "hello", result.text
    return elapsed


async def main(runs: int) -> dict[str, object]:
    image = os.environ.get("BATON_TEST_AGENT_IMAGE")
    if not image or not os.environ.get("DOCKER_HOST"):
        raise SystemExit("source .ci/docker.sh first (it exports DOCKER_HOST and BATON_TEST_AGENT_IMAGE)")
    base = Path(tempfile.mkdtemp(prefix="baton-bench-container-"))
    ws = base / "ws"
    ws.mkdir()
    host_times: list[float] = []
    container_times: list[float] = []
    with FakeModelServer() as server:
        server.default("anthropic", Text("hello"))
        host = create_adapter(agent(server, None))
        boxed = create_adapter(agent(server, image))
        await one_call(host, ws, base / "warm-host")  # first runs warm caches on both sides
        await one_call(boxed, ws, base / "warm-box")
        for i in range(runs):
            order = [(host, host_times), (boxed, container_times)]
            if i % 2:
                order.reverse()
            for adapter, times in order:
                times.append(await one_call(adapter, ws, base / f"a{i}-{len(times)}"))
    host_median = statistics.median(host_times)
    container_median = statistics.median(container_times)
    return {
        "benchmark": "container_overhead",
        "runs": runs,
        "image": image,
        "host_median_s": round(host_median, 3),
        "container_median_s": round(container_median, 3),
        "overhead_per_call_s": round(container_median - host_median, 3),
        "ratio": round(container_median / host_median, 3),
        "host_s": [round(t, 3) for t in host_times],
        "container_s": [round(t, 3) for t in container_times],
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(json.dumps(asyncio.run(main(count)), indent=2))
