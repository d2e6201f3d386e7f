"""Benchmark: microseconds per ``save_step`` (one step upsert + 2 log rows) on SQLite WAL.

Usage: ``.venv/bin/python benchmarks/store_write.py [--calls 2000] [--url URL]``.
Prints one JSON object. Every call is a full transaction on a file database in a temporary
directory (WAL, synchronous=NORMAL), like the engine's one call per step transition.

It also times the same transaction written with SQLAlchemy Core statements (what
``store/hotpath.py`` would be folded back into), interleaved in blocks with the raw-SQL
writer, to decide whether the hot path's second statement set still pays for itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Text, bindparam, insert, select, update
from sqlalchemy.dialects import sqlite

from baton.models import ExecutionContext, ExecutionLog, LogLevel, StepRun, StepStatus
from baton.store import open_store
from baton.store.logcap import LOG_COLUMNS, LogState, admit
from baton.store.schema import execution_logs, executions, step_runs
from baton.store.sql import SqlStore, _step_values

# metadata arrives as JSON text from logcap.admit, as in the hot path
_LOG_INSERT = insert(execution_logs).values(
    {c: bindparam(c, type_=Text) if c == "metadata" else bindparam(c) for c in LOG_COLUMNS})


_C = executions.c
_STATE = select(_C.last_seq, _C.last_log_at, _C.log_bytes, _C.log_truncated, _C.log_dropped).where(
    _C.id == bindparam("eid"))
_UPSERT = sqlite.insert(step_runs)
_UPSERT = _UPSERT.on_conflict_do_update(
    index_elements=["execution_id", "step_id"],
    set_={c.name: _UPSERT.excluded[c.name] for c in step_runs.c
          if c.name not in ("execution_id", "step_id", "created_at")})
_STATE_UPDATE = update(executions).where(_C.id == bindparam("eid")).values(
    last_seq=bindparam("seq"), last_log_at=bindparam("at"), log_bytes=bindparam("bytes"),
    log_truncated=bindparam("truncated"), log_dropped=bindparam("dropped"))


def core_save_step(store: SqlStore, run_: StepRun, logs: list[ExecutionLog]) -> None:
    """save_step's transaction in SQLAlchemy Core statements built once (SQLite)."""
    now = datetime.now(UTC)
    conn: Connection
    with store._write() as conn:
        row = conn.execute(_STATE, {"eid": run_.execution_id}).one()
        state = LogState(row[0], row[1], row[2], bool(row[3]), row[4])
        conn.execute(_UPSERT, _step_values(run_, now))
        rows: list[dict[str, Any]] = []
        for log in logs:
            for r in admit(state, log, store.max_log_bytes):
                rows.append(dict(zip(LOG_COLUMNS, r, strict=True)))
        if rows:
            conn.execute(_LOG_INSERT, rows)
        conn.execute(_STATE_UPDATE, {"eid": run_.execution_id, "seq": state.last_seq, "at": state.last_at,
                                     "bytes": state.log_bytes, "truncated": state.truncated,
                                     "dropped": state.dropped})


def run(calls: int, url: str | None, base_dir: Path) -> dict[str, object]:
    store = open_store(url, base_dir=base_dir)
    ctx = ExecutionContext(workflow_id="bench", workspace_dir=str(base_dir))
    store.create_execution(ctx, workflow_snapshot={"id": "bench", "steps": []})
    statuses = (StepStatus.RUNNING, StepStatus.COMPLETED)
    warmup = 50
    batches = []
    for i in range(calls + 2 * warmup):
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

    assert isinstance(store, SqlStore)
    writers = {"raw": store.save_step, "core": lambda r, lg: core_save_step(store, r, lg)}
    for i, (run_, logs) in enumerate(batches[:2 * warmup]):  # warm-up: statement caches, pool
        writers["raw" if i < warmup else "core"](run_, logs)
    per_call: dict[str, list[float]] = {"raw": [], "core": []}
    cpu: dict[str, float] = {"raw": 0.0, "core": 0.0}
    block = 50
    for start in range(2 * warmup, len(batches), block):  # blocks of calls, writers alternating
        name = "raw" if (start // block) % 2 == 0 else "core"
        c0 = time.process_time()
        for run_, logs in batches[start:start + block]:
            t0 = time.perf_counter()
            writers[name](run_, logs)
            per_call[name].append((time.perf_counter() - t0) * 1e6)
        cpu[name] += time.process_time() - c0
    store.close()
    out: dict[str, object] = {
        "benchmark": "store.save_step",
        "backend": "sqlite-wal" if url is None else url.split(":", 1)[0],
        "calls": calls,
        "log_rows_per_call": 2,
    }
    for name, values in per_call.items():
        values.sort()
        out[name] = {
            "us_per_call_median": round(statistics.median(values), 1),
            "us_per_call_p95": round(values[int(0.95 * (len(values) - 1))], 1),
            "cpu_us_per_call": round(cpu[name] / len(values) * 1e6, 1),
        }
    out["core_minus_raw_us_median"] = round(
        statistics.median(per_call["core"]) - statistics.median(per_call["raw"]), 1)
    out["core_minus_raw_cpu_us"] = round(
        cpu["core"] / len(per_call["core"]) * 1e6 - cpu["raw"] / len(per_call["raw"]) * 1e6, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--url", default=None, help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args.calls, args.url, Path(tmp))))


if __name__ == "__main__":
    main()
