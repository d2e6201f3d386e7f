"""MCP tool discovery time per server (spec SC-013: < 500 ms), measured in one run.

For each kind of server, a fresh client (no cache, closed circuit) connects, negotiates
and lists the tools, ``REPEATS`` times:

- ``raw_stdio``: a minimal stdio server without an SDK (starts in tens of ms): what
  Baton's client and the protocol cost;
- ``sdk_stdio``: the official-SDK fixture server spawned cold each time (its own Python
  + ``mcp`` import dominates);
- ``sdk_http``: the same server over streamable HTTP, already running.

Also reports Baton's one-time cost of importing the MCP client. Prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from baton.integrations.mcp.client import McpClient
from baton.models.mcp import McpServerConfig

REPEATS = 7
TARGET_MS = 500.0
ROOT = Path(__file__).resolve().parents[1]
RAW = Path(__file__).with_name("_mcp_raw_server.py")
FIXTURE = ROOT / "tests" / "fixtures" / "mcp_fixture_server.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(server: McpServerConfig) -> dict[str, object]:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        found = await McpClient().tools("bench", server)
        elapsed = (time.perf_counter() - started) * 1000
        if not found.ok:
            raise RuntimeError(f"discovery failed: {found.error}")
        samples.append(elapsed)
    median = statistics.median(samples)
    return {
        "median_ms": round(median, 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
        "tools": len(found.tools or []),
        "under_500ms": median < TARGET_MS,
    }


def client_import_ms() -> float:
    code = "import time; t = time.perf_counter(); import mcp.client.stdio, mcp; print((time.perf_counter() - t) * 1000)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip()), 1)


async def main() -> None:
    await McpClient().tools("warm-up", McpServerConfig(command=sys.executable, args=[str(RAW)]))
    results: dict[str, object] = {
        "raw_stdio": await measure(McpServerConfig(command=sys.executable, args=[str(RAW)])),
        "sdk_stdio": await measure(
            McpServerConfig(command=sys.executable, args=[str(FIXTURE)], connect_timeout_seconds=120)
        ),
    }
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(FIXTURE), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(600):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        results["sdk_http"] = await measure(McpServerConfig(url=url))
    finally:
        proc.terminate()
        proc.wait(10)
    results["client_import_ms"] = client_import_ms()
    results["repeats"] = REPEATS
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
