"""Usage recorded per call adds up to what the agents reported; daily quotas stop runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from baton.engine.clock import FakeClock
from baton.models import Configuration, ExecutionStatus, StepStatus
from tests.observability.conftest import MakeBaton, scripted


def entry(text: str, usage: tuple[int, int, int, int], cost: float) -> dict[str, object]:
    """A scripted answer with (input, output, cache read, cache write) tokens and a cost."""
    keys = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    return {"reply": text, "usage": dict(zip(keys, usage, strict=True)), "cost_usd": cost}


AGENTS = {
    "big": scripted(
        "model-big",
        script={"a": [entry("a", (1000, 100, 40, 0), 0.01)], "c": [entry("c", (55, 5, 0, 0), 0.0003)]},
    ),
    "small": scripted("model-small", script={"b": [entry("b", (700, 70, 0, 7), 0.0042)]}),
}
WORKFLOWS = {
    "w1": {
        "steps": [
            {"id": "a", "agent_id": "big", "prompt_template": "a {{ params.n }}"},
            {"id": "b", "agent_id": "small", "prompt_template": "b {{ params.n }}"},
        ],
        "parameters": {"n": {"type": "string", "default": "0"}},
    },
    "w2": {
        "steps": [{"id": "c", "agent_id": "big", "prompt_template": "c {{ params.n }}"}],
        "parameters": {"n": {"type": "string", "default": "0"}},
    },
}


async def test_usage_totals_equal_the_sum_of_agent_results(make_baton: MakeBaton) -> None:
    baton = make_baton(WORKFLOWS, AGENTS, clock=FakeClock())
    results = [
        await baton.run_to_end("w1", {"n": "1"}),
        await baton.run_to_end("w1", {"n": "2"}),
        await baton.run_to_end("w2", {"n": "3"}),
    ]
    assert all(r.status is ExecutionStatus.COMPLETED for r in results)
    outputs = [out for r in results for out in r.outputs.values()]
    by_agent = {t.group: t for t in baton.store.usage_totals(by="agent")}
    for agent, model in (("big", "model-big"), ("small", "model-small")):
        mine = [o for o in outputs if o["agent_id"] == agent]
        assert by_agent[agent].calls == len(mine)
        for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            assert getattr(by_agent[agent], key) == sum(o["usage"][key] for o in mine)
        assert by_agent[agent].cost_usd == pytest.approx(sum(o["cost_usd"] for o in mine))
        assert {t.group for t in baton.store.usage_totals(by="model")} >= {model}
    by_workflow = {t.group: t for t in baton.store.usage_totals(by="workflow")}
    assert by_workflow["w1"].cost_usd == pytest.approx(results[0].cost_usd + results[1].cost_usd)
    assert by_workflow["w2"].input_tokens == results[2].usage.input_tokens
    (day,) = baton.store.usage_totals(by="day")
    assert day.group == "2026-01-01"
    assert day.cost_usd == pytest.approx(sum(r.cost_usd for r in results))
    by_execution = {t.group: t for t in baton.store.usage_totals(by="execution")}
    for result in results:
        assert by_execution[result.execution_id].output_tokens == result.usage.output_tokens


async def test_agent_quota_stops_the_next_execution_before_its_step_starts(make_baton: MakeBaton) -> None:
    clock = FakeClock()
    baton = make_baton(
        WORKFLOWS, AGENTS, clock=clock, global_={"quotas": {"agents": {"big": {"max_tokens_per_day": 1500}}}}
    )
    first = await baton.run_to_end("w1", {"n": "1"})
    assert first.status is ExecutionStatus.COMPLETED  # 1100 tokens used: under the quota
    second = await baton.run_to_end("w1", {"n": "2"})
    assert second.status is ExecutionStatus.COMPLETED  # checked before: 1100 < 1500, now 2200
    third = await baton.run_to_end("w1", {"n": "3"})
    assert third.status is ExecutionStatus.FAILED
    assert third.steps == {"a": StepStatus.FAILED, "b": StepStatus.SKIPPED}
    assert third.error is not None
    assert "daily quota of agent 'big' used up" in third.error
    assert "max_tokens_per_day 1500" in third.error
    assert "global.quotas.agents.big" in third.error
    assert third.outputs["a"]["error_type"] == "BudgetExceeded"
    # no agent call was made for the stopped step
    assert sum(t.calls for t in baton.store.usage_totals(by="agent") if t.group == "big") == 2
    clock.advance(timedelta(days=1).total_seconds())
    fourth = await baton.run_to_end("w1", {"n": "4"})
    assert fourth.status is ExecutionStatus.COMPLETED  # a new UTC day


async def test_workflow_cost_quota_and_the_wildcard(make_baton: MakeBaton) -> None:
    baton = make_baton(
        WORKFLOWS,
        AGENTS,
        clock=FakeClock(),
        global_={"quotas": {"workflows": {"*": {"max_cost_usd_per_day": 0.012}}}},
    )
    assert (await baton.run_to_end("w1", {"n": "1"})).status is ExecutionStatus.COMPLETED  # $0.0142
    stopped = await baton.run_to_end("w1", {"n": "2"})
    assert stopped.status is ExecutionStatus.FAILED
    assert stopped.error is not None and "daily quota of workflow 'w1'" in stopped.error
    assert "max_cost_usd_per_day $0.01" in stopped.error and "global.quotas.workflows.*" in stopped.error
    # another workflow has its own quota
    assert (await baton.run_to_end("w2", {"n": "3"})).status is ExecutionStatus.COMPLETED


def test_quota_names_must_exist() -> None:
    with pytest.raises(ValidationError, match="unknown agent 'nobody'"):
        Configuration.model_validate(
            {
                "version": "1.0.0",
                "agents": {"bot": scripted()},
                "global": {"quotas": {"agents": {"nobody": {"max_tokens_per_day": 5}}}},
            }
        )
    with pytest.raises(ValidationError, match="greater than 0"):
        Configuration.model_validate(
            {
                "version": "1.0.0",
                "agents": {"bot": scripted()},
                "global": {"quotas": {"agents": {"bot": {"max_cost_usd_per_day": 0}}}},
            }
        )
