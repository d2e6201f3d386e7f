"""Group commit (engine/commit.py): transitions of independent executions share a
transaction, each execution's own are committed before its next step, and one bad write
does not take the others down."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from baton.engine.commit import GroupCommit
from baton.models import ExecutionContext, ExecutionLog, LogLevel, StepRun, StepStatus
from baton.store import open_store
from baton.store.base import StepWrite
from baton.store.errors import IntegrityViolation
from baton.store.sql import SqlStore
from tests.engine.conftest import MakeBaton, scripted

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _execution(store: SqlStore, tmp_path: Path) -> str:
    ctx = ExecutionContext(workflow_id="wf", workspace_dir=str(tmp_path))
    store.create_execution(ctx, workflow_snapshot={"id": "wf", "steps": []})
    return ctx.id


def _write(execution_id: str, step: str, *, ends_before_start: bool = False) -> StepWrite:
    end = T0 - timedelta(seconds=1) if ends_before_start else T0 + timedelta(seconds=1)
    run = StepRun(execution_id=execution_id, step_id=step, status=StepStatus.COMPLETED,
                  started_at=T0, ended_at=end)
    log = ExecutionLog(execution_id=execution_id, step_id=step, level=LogLevel.INFO,
                       message=f"{step} done", metadata={"event": "step.completed"}, trace_id="t")
    return StepWrite(run, [log])


def test_save_steps_writes_every_execution_in_order(tmp_path: Path) -> None:
    store = open_store(None, base_dir=tmp_path)
    a, b = _execution(store, tmp_path), _execution(store, tmp_path)
    store.save_steps([_write(a, "x"), _write(b, "x"), _write(a, "y")])
    assert [r.step_id for r in store.list_steps(a)] == ["x", "y"]
    assert [(log.seq, log.message) for log in store.list_logs(a)] == [(1, "x done"), (2, "y done")]
    assert [(log.seq, log.message) for log in store.list_logs(b)] == [(1, "x done")]
    record = store.get_execution(a)
    assert record is not None and store.get_context(a) == record.context
    assert store.get_context("no-such-execution") is None
    store.close()


async def test_one_bad_write_fails_alone(tmp_path: Path) -> None:
    store = open_store(None, base_dir=tmp_path)
    a, b = _execution(store, tmp_path), _execution(store, tmp_path)
    commit = GroupCommit(store)
    good = commit.add(_write(a, "x"))
    bad = commit.add(_write(b, "x", ends_before_start=True))
    await asyncio.sleep(0)  # the batch is committed at the next turn of the loop
    await good
    with pytest.raises(IntegrityViolation):
        await bad
    assert [r.step_id for r in store.list_steps(a)] == ["x"]
    assert store.list_steps(b) == []
    store.close()


async def test_concurrent_executions_share_commits(make_baton: MakeBaton,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    baton = make_baton({"wf": {"steps": [{"id": f"s{i}", "agent_id": "slow", "prompt_template": f"{i}"}
                                         for i in range(3)]}},
                       {"slow": {**scripted(script=[{"reply": "ok", "delay": 0.05}]), "max_concurrency": 50}},
                       global_={"max_concurrent_executions": 50})
    batches: list[int] = []
    save_steps = baton.store.save_steps

    def counting(writes: list[StepWrite]) -> None:
        batches.append(len(writes))
        save_steps(writes)

    monkeypatch.setattr(baton.store, "save_steps", counting)
    results = await asyncio.gather(*(baton.run("wf").wait() for _ in range(20)))
    assert {r.status.value for r in results} == {"completed"}
    for r in results:
        runs = baton.store.list_steps(r.execution_id)
        assert [(run.step_id, run.status) for run in runs] == [
            ("s0", StepStatus.COMPLETED), ("s1", StepStatus.COMPLETED), ("s2", StepStatus.COMPLETED)]
        events = [log.metadata["event"] for log in baton.store.list_logs(r.execution_id)
                  if log.metadata["event"] != "agent.output"]
        assert events == ["execution.started", *(["step.started", "step.completed"] * 3),
                          "execution.completed"]
    assert sum(batches) >= 20 * 3 and len(batches) < sum(batches) / 3
