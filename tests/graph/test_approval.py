"""Approval steps in-process: the pause, the durable decision, approve / reject / resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from baton.engine.graph_approval import record_decision
from baton.engine.graph_errors import NotWaiting
from baton.models import ExecutionStatus, StepStatus
from baton.models import events as ev

from .conftest import MakeBaton, run_collecting, scripted


def _calls(record: Path) -> list[str]:
    if not record.exists():
        return []
    return [json.loads(line)["step"] for line in record.read_text().splitlines() if line.strip()]


def _release() -> dict[str, Any]:
    return {
        "type": "langgraph",
        "parameters": {"env": {"default": "staging"}},
        "steps": [
            {"id": "build", "agent_id": "bot", "prompt_template": "build"},
            {
                "id": "deploy",
                "agent_id": "bot",
                "prompt_template": "deploy to {{ params.env }}",
                "approval": {"message": "Deploy {{ outputs.build.text }} to {{ params.env }}?"},
            },
            {"id": "announce", "agent_id": "bot", "prompt_template": "announce"},
        ],
    }


async def test_approval_pauses_then_resumes_once_approved(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    baton = make_baton({"release": _release()}, {"bot": scripted(record=str(record))})
    paused, events = await run_collecting(baton, "release", {"env": "prod"})
    assert paused.status is ExecutionStatus.PENDING
    assert paused.error is not None and f"baton approve {paused.execution_id}" in paused.error
    assert paused.steps == {"build": StepStatus.COMPLETED, "deploy": StepStatus.WAITING}
    waiting = [e for e in events if isinstance(e, ev.StepWaiting)]
    assert [(e.step, e.message_text) for e in waiting] == [("deploy", "Deploy build to prod?")]
    assert _calls(record) == ["build"]
    stored = baton.store.get_execution(paused.execution_id)
    assert stored is not None and stored.context.status is ExecutionStatus.PENDING
    runs = {r.step_id: r for r in baton.store.list_steps(paused.execution_id)}
    assert runs["deploy"].status is StepStatus.WAITING
    assert runs["deploy"].output == {
        "status": "waiting",
        "approval": {"message": "Deploy build to prod?", "iteration": 1},
    }

    # resuming without a decision just waits again
    again = await baton.resume(paused.execution_id).wait()
    assert again.status is ExecutionStatus.PENDING and _calls(record) == ["build"]

    record_decision(
        baton.store,
        paused.execution_id,
        step_id=None,
        approved=True,
        reason="ship it",
        by="alice",
        now=baton.clock.now(),
    )
    done = await baton.resume(paused.execution_id).wait()
    assert done.status is ExecutionStatus.COMPLETED, done.error
    assert _calls(record) == ["build", "deploy", "announce"]
    assert done.outputs["deploy"]["text"] == "deploy to prod"
    logs = baton.store.list_logs(paused.execution_id)
    approved = [row for row in logs if row.metadata.get("event") == "step.approved"]
    assert len(approved) == 1 and approved[0].message == "step deploy approved by alice: ship it"
    assert approved[0].step_id == "deploy"


async def test_rejection_fails_the_step_with_the_reason(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    baton = make_baton({"release": _release()}, {"bot": scripted(record=str(record))})
    paused = await baton.run_to_end("release")
    assert paused.status is ExecutionStatus.PENDING
    record_decision(
        baton.store,
        paused.execution_id,
        step_id="deploy",
        approved=False,
        reason="freeze week",
        by="bob",
        now=baton.clock.now(),
    )
    handle = baton.resume(paused.execution_id)
    events = [e async for e in handle.events()]
    result = await handle.wait()
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "step deploy failed: ApprovalRejected: rejected by bob: freeze week"
    assert result.steps["deploy"] is StepStatus.FAILED
    assert result.steps["announce"] is StepStatus.SKIPPED
    assert _calls(record) == ["build"]
    assert any(isinstance(e, ev.StepSkipped) and e.reason == "dependency deploy failed" for e in events)


async def test_decisions_need_a_waiting_step(make_baton: MakeBaton) -> None:
    wf = _release()
    wf["steps"].append(
        {
            "id": "docs",
            "agent_id": "bot",
            "prompt_template": "docs",
            "dependencies": ["build"],
            "approval": {"message": "Publish docs?"},
        }
    )
    baton = make_baton({"release": wf}, {"bot": scripted()})
    paused = await baton.run_to_end("release")
    assert paused.status is ExecutionStatus.PENDING
    assert paused.steps["deploy"] is StepStatus.WAITING and paused.steps["docs"] is StepStatus.WAITING
    now = baton.clock.now()
    with pytest.raises(NotWaiting, match="several steps wait for approval"):
        record_decision(
            baton.store, paused.execution_id, step_id=None, approved=True, reason=None, by="a", now=now
        )
    with pytest.raises(NotWaiting, match="does not wait for approval"):
        record_decision(
            baton.store, paused.execution_id, step_id="build", approved=True, reason=None, by="a", now=now
        )
    # approving one of two parallel waits runs it; the other keeps waiting
    record_decision(
        baton.store, paused.execution_id, step_id="docs", approved=True, reason=None, by="a", now=now
    )
    partly = await baton.resume(paused.execution_id).wait()
    assert partly.status is ExecutionStatus.PENDING
    assert partly.steps["docs"] is StepStatus.COMPLETED and partly.steps["deploy"] is StepStatus.WAITING
    record_decision(
        baton.store, paused.execution_id, step_id="deploy", approved=True, reason=None, by="a", now=now
    )
    done = await baton.resume(paused.execution_id).wait()
    assert done.status is ExecutionStatus.COMPLETED, done.error
    assert done.outputs["docs"]["text"] == "docs"

    finished = await baton.run_to_end("release")
    baton.cancel(finished.execution_id)
    with pytest.raises(NotWaiting, match="cancelled"):
        record_decision(
            baton.store, finished.execution_id, step_id=None, approved=True, reason=None, by="a", now=now
        )


async def test_an_approval_outlives_a_crash_in_the_approved_step(
    make_baton: MakeBaton, tmp_path: Path
) -> None:
    record = tmp_path / "calls.jsonl"
    script = {"deploy": [{"echo": True, "delay": 2.0}], "*": [{"echo": True}]}
    baton = make_baton({"release": _release()}, {"bot": scripted(record=str(record), script=script)})
    paused = await baton.run_to_end("release")
    record_decision(
        baton.store,
        paused.execution_id,
        step_id="deploy",
        approved=True,
        reason=None,
        by="a",
        now=baton.clock.now(),
    )
    handle = baton.resume(paused.execution_id)
    for _ in range(500):
        if _calls(record) == ["build", "deploy"]:
            break
        await asyncio.sleep(0.01)
    handle.cancel()  # the process stops while the approved step runs
    stopped = await handle.wait()
    assert stopped.status is ExecutionStatus.CANCELLED and stopped.steps["deploy"] is StepStatus.CANCELLED
    done = await baton.resume(paused.execution_id).wait()
    assert done.status is ExecutionStatus.COMPLETED, done.error  # not asked again
    assert _calls(record) == ["build", "deploy", "deploy", "announce"]
