"""Two Batons on one store (as two processes would be): the execution and agent limits hold
for both together; a waiting execution says why, and can be cancelled while it waits."""

from __future__ import annotations

import asyncio
import time

from baton.agents.base import AgentRequest
from baton.cli.live import LiveView
from baton.models import ExecutionStatus
from baton.models import events as ev
from tests.engine.conftest import MakeBaton, scripted

STEP = {"id": "a", "agent_id": "bot", "prompt_template": "{{ execution.id }}"}


def _peak(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, delta in edges:
        running += delta
        peak = max(peak, running)
    return peak


async def test_the_global_limit_holds_for_two_batons_on_one_store(make_baton: MakeBaton) -> None:
    spans: list[tuple[float, float]] = []

    def handler(r: AgentRequest) -> dict[str, object]:
        start = time.monotonic()  # called inside the slot, which is held through the delay
        spans.append((start, start + 0.2))
        return {"reply": "ok", "delay": 0.2}

    batons = [make_baton({"wf": {"steps": [STEP]}}, {"bot": scripted()}, handlers={"bot": handler},
                         global_={"max_concurrent_executions": 2}) for _ in range(2)]
    handles = [baton.run("wf") for baton in batons for _ in range(3)]
    results = await asyncio.gather(*(h.wait() for h in handles))
    assert [r.status for r in results] == [ExecutionStatus.COMPLETED] * 6
    assert _peak(spans) <= 2 and len(spans) == 6
    reasons = [e.reason for h in handles async for e in h.events() if isinstance(e, ev.ExecutionQueued)]
    assert any("in use in this process" in r for r in reasons)
    assert any("global.max_concurrent_executions are in use (by process" in r for r in reasons)
    assert batons[0].store.list_leases("executions") == []  # given back at the end
    await asyncio.sleep(0.3)  # an agent's slot is kept a moment for the process's next call
    assert batons[0].store.list_leases() == []


async def test_an_agents_max_concurrency_holds_for_two_batons(make_baton: MakeBaton) -> None:
    spans: list[tuple[float, float]] = []

    def handler(r: AgentRequest) -> dict[str, object]:
        start = time.monotonic()
        spans.append((start, start + 0.1))
        return {"reply": "ok", "delay": 0.1}

    steps = [{**STEP, "id": name, "prompt_template": f"{name} {{{{ execution.id }}}}"} for name in "abc"]
    steps[2]["dependencies"] = ["a", "b"]
    batons = [make_baton({"wf": {"steps": steps}}, {"bot": {**scripted(), "max_concurrency": 1}},
                         handlers={"bot": handler}) for _ in range(2)]
    handles = [b.run("wf") for b in batons]
    results = await asyncio.gather(*(h.wait() for h in handles))
    assert [r.status for r in results] == [ExecutionStatus.COMPLETED] * 2
    assert len(spans) == 6 and _peak(spans) == 1

    # a step that waits for the agent's slot is shown queued, then running again
    events = [e for h in handles async for e in h.events()]
    queued = [e for e in events if isinstance(e, ev.StepQueued)]
    assert queued and all("agent bot's max_concurrency" in e.reason for e in queued)
    assert any("(by process" in e.reason for e in queued)  # the other Baton held it
    view = LiveView(["a", "b", "c"])
    shown: list[tuple[str, str]] = []
    for event in events:
        view.apply(event)
        if isinstance(event, (ev.StepQueued, ev.StepRunning)):
            shown.append((event.step, view.rows[event.step].status))
    waited = queued[0].step
    assert (waited, "queued") in shown and (waited, "running") in shown
    assert shown.index((waited, "queued")) < shown.index((waited, "running"))
    assert {row.status for row in view.rows.values()} == {"completed"}



async def test_a_step_is_pending_in_the_store_while_it_waits_for_its_agents_slot(make_baton: MakeBaton) -> None:
    def handler(r: AgentRequest) -> dict[str, object]:
        return {"reply": "ok", "delay": 1.0}

    holder, waiter = (make_baton({"wf": {"steps": [STEP]}}, {"bot": {**scripted(), "max_concurrency": 1}},
                                 handlers={"bot": handler}) for _ in range(2))
    first = holder.run("wf")
    while not holder.store.list_leases("agent:bot"):
        await asyncio.sleep(0.01)
    second = waiter.run("wf")
    written: list[tuple[str, str]] = []  # (event, the step's status in the store just after)
    async for event in second.events():
        if isinstance(event, (ev.StepQueued, ev.StepRunning, ev.StepCompleted)):
            await asyncio.sleep(0.2)  # a start is committed within 0.1 s; the call lasts 1 s
            (step,) = waiter.store.list_steps(second.id)
            written.append((event.kind, step.status.value))
    assert written == [("step.queued", "pending"), ("step.running", "running"),
                       ("step.completed", "completed")]
    assert (await first.wait()).status is ExecutionStatus.COMPLETED


async def test_an_execution_cancelled_while_it_waits_for_a_slot_never_starts(make_baton: MakeBaton) -> None:
    def handler(r: AgentRequest) -> dict[str, object]:
        return {"reply": "ok", "delay": 2.0}

    holder, waiter = (make_baton({"wf": {"steps": [STEP]}}, {"bot": scripted()}, handlers={"bot": handler},
                                 global_={"max_concurrent_executions": 1}) for _ in range(2))
    first = holder.run("wf")
    while not holder.store.list_leases("executions"):
        await asyncio.sleep(0.01)
    second = waiter.run("wf")
    queued = [e async for e in _until(second, ev.ExecutionQueued)]
    assert "by process" in queued[0].reason
    holder.cancel(second.id)  # as `baton cancel` from another process: only the store knows
    result = await asyncio.wait_for(second.wait(), 10)
    assert result.status is ExecutionStatus.CANCELLED
    assert waiter.store.list_steps(second.id) == []
    assert (await first.wait()).status is ExecutionStatus.COMPLETED


async def _until(handle: object, kind: type[ev.Event]):  # type: ignore[no-untyped-def]
    async for event in handle.events():  # type: ignore[attr-defined]
        if isinstance(event, kind):
            yield event
            return
