"""Benchmark: microseconds per ``save_step`` (one step upsert + 2 log rows) on SQLite WAL.

Usage: ``.venv/bin/python benchmarks/store_write.py [--calls 2000] [--url URL]``.
Prints one JSON object. Every call is a full transaction on a file database in a temporary
directory (WAL, synchronous=NORMAL), like the engine's one call per step transition.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from baton.models import ExecutionContext, ExecutionLog, LogLevel, StepRun, StepStatus
from baton.store import open_store


def run(calls: int, url: str | None, base_dir: Path) -> dict[str, object]:
    store = open_store(url, base_dir=base_dir)
    ctx = ExecutionContext(workflow_id="bench", workspace_dir=str(base_dir))
    store.create_execution(ctx, workflow_snapshot={"id": "bench", "steps": []})
    statuses = (StepStatus.RUNNING, StepStatus.COMPLETED)
    warmup = 50
    batches = []
    for i in range(calls + warmup):
        status = statuses[i % 2]
        run_ = StepRun(
            execution_id=ctx.id,
            step_id=f"step-{i // 2}",
            status=status,
            agent_id="sh",
            attempt=1,
            started_at=datetime.now(UTC),
            ended_at=datetime.now(UTC) if status is StepStatus.COMPLETED else None,
            output={"text": "ok", "exit_code": 0} if status is StepStatus.COMPLETED else None,
        )
        logs = [
            ExecutionLog(
                execution_id=ctx.id,
                step_id=run_.step_id,
                level=LogLevel.INFO,
                message=f"step {run_.step_id} {status.value}",
                metadata={"event": "step", "attempt": 1},
                trace_id=ctx.trace_id,
            )
            for _ in range(2)
        ]
        batches.append((run_, logs))

    for run_, logs in batches[:warmup]:  # warm-up: statement cache, pool, page cache
        store.save_step(run_, logs)
    per_call: list[float] = []
    started = time.perf_counter()
    for run_, logs in batches[warmup:]:
        t0 = time.perf_counter()
        store.save_step(run_, logs)
        per_call.append((time.perf_counter() - t0) * 1e6)
    total = time.perf_counter() - started
    store.close()
    per_call.sort()
    return {
        "benchmark": "store.save_step",
        "backend": "sqlite-wal" if url is None else url.split(":", 1)[0],
        "calls": calls,
        "log_rows_per_call": 2,
        "us_per_call_mean": round(total / calls * 1e6, 1),
        "us_per_call_median": round(statistics.median(per_call), 1),
        "us_per_call_p95": round(per_call[int(0.95 * (calls - 1))], 1),
        "us_per_call_p99": round(per_call[int(0.99 * (calls - 1))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--url", default=None, help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args.calls, args.url, Path(tmp))))


if __name__ == "__main__":
    main()
