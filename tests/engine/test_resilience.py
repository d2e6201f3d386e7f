"""Retries, backoff, fallbacks, timeouts, budgets, output schemas, limits, cancel."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from baton.agents.base import AgentRequest
from baton.engine.clock import FakeClock
from baton.models import ExecutionStatus, StepStatus
from baton.models import events as ev

from .conftest import SHELL, MakeBaton, scripted


def step(id: str, prompt: str | None = None, agent: str = "bot", **kw: object) -> dict[str, object]:
    return {"id": id, "agent_id": agent, "prompt_template": prompt or f"do {id}", **kw}


async def test_retries_with_exponential_backoff_on_injected_clock(make_baton: MakeBaton) -> None:
    clock = FakeClock(rand=0.5)
    calls: list[int] = []

    def handler(r: AgentRequest) -> dict[str, object]:
        calls.append(r.attempt)
        return {"fail": "agent_error"} if len(calls) < 3 else {"reply": "ok"}

    policy = {"max_attempts": 4, "backoff_seconds": 60, "backoff_multiplier": 2,
              "max_backoff_seconds": 100, "jitter": 0.2}
    baton = make_baton({"wf": {"steps": [step("a", retry_policy=policy)]}}, clock=clock,
                       handlers={"bot": handler})
    t0 = time.monotonic()
    handle = baton.run("wf")
    events = [e async for e in handle.events()]
    result = await handle.wait()
    assert time.monotonic() - t0 < 5
    assert result.status is ExecutionStatus.COMPLETED
    assert calls == [1, 2, 3]
    assert clock.sleeps == [60.0, 100.0]  # 60, then 120 capped at 100 (rand 0.5 → no jitter)
    retries = [e for e in events if isinstance(e, ev.StepRetrying)]
    assert [r.attempt for r in retries] == [1, 2]


async def test_retry_after_from_agent_is_honoured(make_baton: MakeBaton) -> None:
    clock = FakeClock()
    script = [{"fail": "rate_limited", "retry_after": 30}, {"reply": "ok"}]
    baton = make_baton({"wf": {"steps": [step("a", retry_policy={"max_attempts": 2, "backoff_seconds": 1})]}},
                       {"bot": scripted(script=script)}, clock=clock)
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.COMPLETED
    assert clock.sleeps == [30]


async def test_retry_on_limits_which_errors_retry(make_baton: MakeBaton) -> None:
    calls: list[str] = []

    def handler(r: AgentRequest) -> dict[str, object]:
        calls.append(r.step_id)
        return {"fail": "agent_error"}

    policy = {"max_attempts": 3, "backoff_seconds": 0, "retry_on": ["rate_limited"]}
    baton = make_baton({"wf": {"steps": [step("a", retry_policy=policy)]}}, clock=FakeClock(),
                       handlers={"bot": handler})
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.FAILED and calls == ["a"]


async def test_fallback_agents_in_order_after_primary_exhausted(make_baton: MakeBaton) -> None:
    agents = {
        "primary": scripted(script=[{"fail": "rate_limited", "message": "429 from primary"}]),
        "broken": scripted(script=[{"fail": "auth", "message": "bad credentials"}]),
        "backup": scripted(script=[{"reply": "from backup"}]),
    }
    policy = {"max_attempts": 2, "backoff_seconds": 0, "fallback_agents": ["broken", "backup"]}
    baton = make_baton({"wf": {"steps": [step("a", agent="primary", retry_policy=policy)]}}, agents,
                       clock=FakeClock())
    handle = baton.run("wf")
    events = [e async for e in handle.events()]
    result = await handle.wait()
    assert result.status is ExecutionStatus.COMPLETED
    assert result.outputs["a"]["text"] == "from backup"
    assert result.outputs["a"]["agent_id"] == "backup"
    starts = [(e.agent_id, e.attempt) for e in events if isinstance(e, ev.StepStarted)]
    # primary twice (retryable), broken once (auth is not retryable), then backup
    assert starts == [("primary", 1), ("primary", 2), ("broken", 3), ("backup", 4)]
    fallbacks = [(e.from_agent, e.to_agent) for e in events if isinstance(e, ev.FallbackAgent)]
    assert fallbacks == [("primary", "broken"), ("broken", "backup")]


async def test_invalid_output_is_retried_then_validated(make_baton: MakeBaton) -> None:
    schema = {"type": "object", "required": ["verdict"],
              "properties": {"verdict": {"enum": ["approve", "request_changes"]}}}
    script = [{"reply": "I think it's fine"}, {"reply": '{"verdict": "maybe"}'},
              {"reply": 'Here:\n```json\n{"verdict": "approve"}\n```'}]
    baton = make_baton({"wf": {"steps": [step("review", output_schema=schema,
                                              retry_policy={"max_attempts": 3, "backoff_seconds": 0})]}},
                       {"bot": scripted(script=script)}, clock=FakeClock())
    handle = baton.run("wf")
    events = [e async for e in handle.events()]
    result = await handle.wait()
    assert result.status is ExecutionStatus.COMPLETED
    assert result.outputs["review"]["json"] == {"verdict": "approve"}
    errors = [e.error for e in events if isinstance(e, ev.StepRetrying)]
    assert "not JSON" in errors[0]
    assert "verdict" in errors[1] and "'maybe' is not one of" in errors[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
async def test_timeout_kills_the_whole_process_tree(make_baton: MakeBaton, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = (f"(sleep 300 & echo $! >> {pids}; wait) & echo $! >> {pids}; "
              f"sleep 300 & echo $! >> {pids}; echo started; wait")
    wf = {"steps": [step("slow", script, agent="sh", timeout_seconds=10)]}
    baton = make_baton({"wf": wf}, {"sh": SHELL})
    t0 = time.monotonic()
    handle = baton.run("wf")
    events = [e async for e in handle.events()]
    result = await handle.wait()
    elapsed = time.monotonic() - t0
    assert result.status is ExecutionStatus.FAILED
    assert result.outputs["slow"]["error_type"] == "AgentTimeout"
    assert "killed" in result.outputs["slow"]["error"]
    assert 9.5 < elapsed < 16
    assert any(isinstance(e, ev.AgentOutput) and e.text == "started" for e in events)
    children = [int(x) for x in pids.read_text().split()]
    assert len(children) == 3
    await asyncio.sleep(0.2)
    assert [p for p in children if _alive(p)] == []


async def test_budget_stops_execution(make_baton: MakeBaton) -> None:
    usage = {"input_tokens": 600, "output_tokens": 100}
    wf = {"config": {"budget": {"max_tokens": 1000}}, "steps": [step("a", "A"), step("b", "B"), step("c", "C")]}
    baton = make_baton({"wf": wf}, {"bot": scripted(script=[{"reply": "x", "usage": usage, "cost_usd": 0.5}])})
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.FAILED
    assert result.steps == {"a": StepStatus.COMPLETED, "b": StepStatus.COMPLETED,
                            "c": StepStatus.FAILED}
    assert "budget exceeded" in (result.error or "") and "max_tokens 1000" in (result.error or "")
    assert result.usage.total_tokens == 1400 and result.cost_usd == pytest.approx(1.0)


async def test_cost_budget_from_shared_config(make_baton: MakeBaton) -> None:
    baton = make_baton({"wf": {"steps": [step("a", "A"), step("b", "B")]}},
                       {"bot": scripted(script=[{"reply": "x", "cost_usd": 2.0}])})
    result = await baton.run_to_end("wf", shared_config={"budget": {"max_cost_usd": 1.5}})
    assert result.status is ExecutionStatus.FAILED and "max_cost_usd" in (result.error or "")
    assert result.steps["b"] is StepStatus.FAILED


async def test_per_agent_max_concurrency(make_baton: MakeBaton) -> None:
    calls: list[float] = []

    def handler(r: AgentRequest) -> dict[str, object]:
        calls.append(time.monotonic())  # runs inside the agent's concurrency slot
        return {"reply": r.step_id, "delay": 0.2}

    steps = [step("root", "root")] + [step(f"s{i}", f"p{i}", dependencies=["root"]) for i in range(6)]
    baton = make_baton({"wf": {"steps": steps}}, {"bot": {**scripted(), "max_concurrency": 2}},
                       handlers={"bot": handler})
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.COMPLETED
    fanout = calls[1:]
    assert len(fanout) == 6
    in_flight = max(sum(1 for t in fanout if s <= t < s + 0.15) for s in fanout)
    assert in_flight == 2
    assert fanout[-1] - fanout[0] > 0.35  # three waves of two


async def test_global_limit_queues_excess_executions_as_pending(make_baton: MakeBaton) -> None:
    baton = make_baton({"wf": {"steps": [step("a")]}},
                       {"bot": scripted(script=[{"reply": "x", "delay": 0.2}])},
                       global_={"max_concurrent_executions": 2})
    handles = [baton.run("wf") for _ in range(5)]
    await asyncio.sleep(0.05)
    statuses = [baton.store.get_execution(h.id).context.status for h in handles]  # type: ignore[union-attr]
    assert statuses.count(ExecutionStatus.RUNNING) == 2
    assert statuses.count(ExecutionStatus.PENDING) == 3
    results = await asyncio.gather(*(h.wait() for h in handles))
    assert all(r.status is ExecutionStatus.COMPLETED for r in results)
    queued = [e async for e in handles[4].events() if isinstance(e, ev.ExecutionQueued)]
    assert len(queued) == 1


async def test_cancel_kills_children_and_marks_cancelled(make_baton: MakeBaton, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    wf = {"steps": [step("slow", f"sleep 300 & echo $! > {pidfile}; wait", agent="sh"),
                    step("after", dependencies=["slow"])]}
    baton = make_baton({"wf": wf})
    handle = baton.run("wf")
    deadline = time.monotonic() + 60  # a loaded CI machine can take seconds to start bash
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, "the step never started its child"
        await asyncio.sleep(0.05)
    handle.cancel()
    result = await handle.wait()
    assert result.status is ExecutionStatus.CANCELLED
    assert result.steps["slow"] is StepStatus.CANCELLED
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 10  # SIGTERM, then SIGKILL after the grace period
    while _alive(child):
        assert time.monotonic() < deadline, f"the step's child {child} outlived the cancel"
        await asyncio.sleep(0.1)
    record = baton.store.get_execution(handle.id)
    assert record is not None and record.context.status is ExecutionStatus.CANCELLED
    # a cancelled execution can be resumed; the cancelled step runs again
    pidfile.unlink()
    wf_fast = baton.workflow("wf")
    assert wf_fast.steps[0].id == "slow"


async def test_cancel_from_another_process_via_store(make_baton: MakeBaton) -> None:
    baton = make_baton({"wf": {"steps": [step("a", "sleep 30", agent="sh")]}})
    handle = baton.run("wf")
    await asyncio.sleep(0.3)
    # what `baton cancel ID` does from another process: mark it in the store
    baton.store.set_execution_status(handle.id, ExecutionStatus.CANCELLED, error="cancelled by user")
    t0 = time.monotonic()
    result = await handle.wait()
    assert time.monotonic() - t0 < 3
    assert result.status is ExecutionStatus.CANCELLED
