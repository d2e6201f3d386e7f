"""What the store holds while and after steps run: a step's start is committed with its end
when it ends at once, and on its own once it has run for a moment (engine/recorder.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from baton.models import Agent, AgentStatus, StepStatus
from baton.store.base import StepWrite
from tests.engine.conftest import MakeBaton, scripted


def _events(baton: object, execution_id: str) -> list[tuple[str | None, str]]:
    store = baton.store  # type: ignore[attr-defined]
    return [(log.step_id, log.metadata["event"]) for log in store.list_logs(execution_id)]


async def test_an_instant_step_records_its_start_and_end_in_order(make_baton: MakeBaton,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    baton = make_baton({"wf": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "a"},
                                         {"id": "b", "agent_id": "bot", "prompt_template": "b"}]}})
    written: list[tuple[str, StepStatus, list[str]]] = []
    save_steps = baton.store.save_steps

    def recording(writes: Sequence[StepWrite]) -> None:
        written.extend((w.run.step_id, w.run.status, [log.metadata["event"] for log in w.logs])
                       for w in writes if w.run is not None)
        save_steps(writes)

    monkeypatch.setattr(baton.store, "save_steps", recording)
    result = await baton.run_to_end("wf")
    # each step is one write: its end, carrying its start's log row; RUNNING is never written
    assert [(step, status) for step, status, _ in written] == [
        ("a", StepStatus.COMPLETED), ("b", StepStatus.COMPLETED)]
    assert all(events[0] == "step.started" and events[-1] == "step.completed"
               for _, _, events in written)
    assert result.status.value == "completed"
    steps = {run.step_id: run for run in baton.store.list_steps(result.execution_id)}
    assert [steps[s].status for s in ("a", "b")] == [StepStatus.COMPLETED, StepStatus.COMPLETED]
    assert all(run.started_at is not None and run.ended_at is not None for run in steps.values())
    events = [e for e in _events(baton, result.execution_id) if e[1] != "agent.output"]
    assert events == [
        (None, "execution.started"),
        ("a", "step.started"), ("a", "step.completed"),
        ("b", "step.started"), ("b", "step.completed"),
        (None, "execution.completed"),
    ]


async def test_a_running_step_is_stored_running_within_the_start_delay(make_baton: MakeBaton) -> None:
    baton = make_baton({"wf": {"steps": [{"id": "slow", "agent_id": "slow", "prompt_template": "x"}]}},
                       {"slow": scripted(script=[{"reply": "ok", "delay": 1.5}])})
    handle = baton.run("wf")
    seen: list[StepStatus] = []
    for _ in range(100):
        await asyncio.sleep(0.02)
        seen = [run.status for run in baton.store.list_steps(handle.id)]
        if seen:
            break
    assert seen == [StepStatus.RUNNING]
    assert not handle.done()
    assert (await handle.wait()).status.value == "completed"
    assert [run.status for run in baton.store.list_steps(handle.id)] == [StepStatus.COMPLETED]


async def test_a_disabled_agent_is_not_used_by_a_later_step(make_baton: MakeBaton) -> None:
    """The registry is read at most once a second per agent: a disable reaches steps after that."""
    baton = make_baton(
        {"wf": {"steps": [{"id": "a", "agent_id": "slow", "prompt_template": "a"},
                          {"id": "b", "agent_id": "slow", "prompt_template": "b"}]}},
        {"slow": scripted(script=[{"reply": "ok", "delay": 1.2}])})
    handle = baton.run("wf")
    await asyncio.sleep(0.3)
    baton.store.upsert_agent(Agent(id="slow", provider="scripted", model="echo", capabilities=["test"]))
    baton.store.set_agent_status("slow", AgentStatus.REGISTERING)
    baton.store.set_agent_status("slow", AgentStatus.ACTIVE)
    baton.store.set_agent_status("slow", AgentStatus.INACTIVE)
    result = await handle.wait()
    assert result.steps == {"a": StepStatus.COMPLETED, "b": StepStatus.FAILED}
    assert "disabled" in (result.error or "")
