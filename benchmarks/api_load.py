"""Trigger latency of the HTTP API: POST /api/v1/executions at a fixed rate.

Starts a real `baton serve` (API only by default; `--with-worker` adds the in-process
worker, so executions also run on the same machine) on a free port over a temporary
project, then drives it from a second process with an open-loop load: request i is due at
t0 + i/rate whatever happened to the others, and its latency is measured from that due
time (so a stalled server cannot hide its queueing: no coordinated omission). Every
request is a real trigger (token check, rate limit, idempotency reservation, execution
row, DBOS enqueue, audit row). Prints JSON. Goal: p95 <= 20 ms at 200 req/s.

    .venv/bin/python benchmarks/api_load.py [--rate 200] [--duration 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

CONFIG = """
version: "1.0.0"
global: {{workspace_dir: ws, cache: {{enabled: false}}{db}}}
api:
  rate_limit: {{requests_per_second: 100000, burst: 100000}}
  tokens: [{{name: bench, role: operator, token: "${{BENCH_TOKEN}}"}}]
agents:
  bot: {{provider: scripted, model: echo, capabilities: [bench], config: {{script: [{{reply: ok}}]}}}}
workflows:
  review:
    parameters: {{pr: {{type: integer}}}}
    steps:
      - {{id: review, agent_id: bot, prompt_template: "review {{{{ params.pr }}}}"}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of process ``pid`` so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class _Connection:
    """One persistent HTTP/1.1 connection: a few bytes out, status and body back.

    The generator is deliberately minimal: a general-purpose async HTTP client spends
    several milliseconds of CPU per request, which on this 2-core machine caps the load
    before the server does.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def post(self, head: bytes, body: bytes) -> int:
        self.writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def _generate(url: str, token: str, rate: float, duration: float) -> dict[str, Any]:
    total = int(rate * duration)
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST /api/v1/executions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await _Connection.open(host, int(port)))
    latencies: list[float] = []
    service: list[float] = []
    statuses: Counter[str] = Counter()

    def body(i: int) -> bytes:
        return json.dumps(
            {"workflow_id": "review", "parameters": {"pr": i}, "idempotency_key": f"bench-{i}"}
        ).encode()

    for i in range(20):  # warm up code paths (not measured)
        conn = await pool.get()
        await conn.post(head, body(-1 - i))
        pool.put_nowait(conn)

    async def one(i: int, due: float) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await pool.get()
        sent = time.perf_counter()
        try:
            statuses[str(await conn.post(head, body(i)))] += 1
            pool.put_nowait(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            statuses[type(exc).__name__] += 1
            pool.put_nowait(await _Connection.open(host, int(port)))
        done = time.perf_counter()
        latencies.append((done - due) * 1000)
        service.append((done - sent) * 1000)

    start = time.perf_counter() + 0.1
    tasks = [asyncio.create_task(one(i, start + i / rate)) for i in range(total)]
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().writer.close()
    ok = statuses.get("202", 0)
    return {
        "requests": total,
        "accepted_202": ok,
        "errors": {k: v for k, v in statuses.items() if k != "202"},
        "achieved_rps": round(total / elapsed, 1),
        "latency_ms_from_due_time": {
            "p50": round(_percentile(latencies, 50), 2),
            "p95": round(_percentile(latencies, 95), 2),
            "p99": round(_percentile(latencies, 99), 2),
            "max": round(max(latencies), 2),
            "mean": round(statistics.fmean(latencies), 2),
        },
        "latency_ms_on_the_wire": {
            "p50": round(_percentile(service, 50), 2),
            "p95": round(_percentile(service, 95), 2),
            "p99": round(_percentile(service, 99), 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp project")
    parser.add_argument("--with-worker", action="store_true", help="run executions in the API process too")
    parser.add_argument("--api-processes", type=int, default=1, help="server processes (API only)")
    parser.add_argument("--generate", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:  # the load-generating second process
        print(
            json.dumps(asyncio.run(_generate(args.generate[0], args.generate[1], args.rate, args.duration)))
        )
        return

    root = Path(tempfile.mkdtemp(prefix="baton-api-load-"))
    (root / "ws").mkdir()
    db = f', database_url: "{args.database_url}"' if args.database_url else ""
    (root / "baton.yaml").write_text(CONFIG.format(db=db))
    token = secrets.token_hex(16)
    port = _free_port()
    env = {**os.environ, "BENCH_TOKEN": token}
    workers = "1" if args.with_worker else "0"
    server = subprocess.Popen(
        [sys.executable, "-m", "baton", "serve", "--port", str(port), "--workers", workers],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(
                    f"the server did not start: {server.stderr.read().decode() if server.stderr else ''}"
                )
            time.sleep(0.2)
        cpu_before = _cpu_seconds(server.pid)
        gen = subprocess.run(
            [
                sys.executable,
                __file__,
                "--rate",
                str(args.rate),
                "--duration",
                str(args.duration),
                "--generate",
                url,
                token,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(gen.stdout)
        cpu_after = _cpu_seconds(server.pid)
        if cpu_before is not None and cpu_after is not None and args.api_processes == 1:
            # the serving process's CPU over the run (20 warm-up requests included, idle time too)
            result["server_cpu_ms_per_request"] = round(
                (cpu_after - cpu_before) * 1000 / (result["requests"] + 20), 2
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    p95 = result["latency_ms_from_due_time"]["p95"]
    print(
        json.dumps(
            {
                "benchmark": "api_load",
                "target_rps": args.rate,
                "duration_s": args.duration,
                "database": "postgresql" if args.database_url else "sqlite",
                "in_process_worker": args.with_worker,
                "api_processes": args.api_processes,
                **result,
                "goal": "p95 <= 20 ms at 200 req/s",
                "goal_met": bool(p95 <= 20.0 and not result["errors"]),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
