"""Per-agent requests_per_minute: calls queue in order; a 429's retry-after pauses the agent."""

from __future__ import annotations

import asyncio

from baton.agents.base import AgentFailed, RateLimited
from baton.engine.clock import FakeClock
from baton.engine.ratelimit import RateLimiter
from baton.models import Agent, ExecutionStatus
from baton.models import events as ev
from tests.observability.conftest import MakeBaton, reply, scripted


def agent(rpm: float | None) -> Agent:
    return Agent(id="bot", provider="scripted", model="echo", capabilities=["t"], requests_per_minute=rpm)


async def test_token_bucket_queues_calls_in_arrival_order() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    bot = agent(30)  # one call every 2 s
    started: list[tuple[str, float]] = []

    async def call(name: str) -> None:
        await limiter.acquire(bot)
        started.append((name, clock.monotonic()))

    await asyncio.gather(*(call(n) for n in "abcd"))
    assert started == [("a", 0.0), ("b", 2.0), ("c", 4.0), ("d", 6.0)]
    assert clock.sleeps == [2.0, 2.0, 2.0]
    clock.advance(60)
    await call("e")  # the bucket refilled (capacity 1): no wait
    assert started[-1] == ("e", 66.0)


async def test_no_limit_costs_nothing() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    waited = [await limiter.acquire(agent(None)) for _ in range(100)]
    assert waited == [0.0] * 100 and clock.sleeps == []


async def test_429_retry_after_pauses_the_agent() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    bot = agent(None)
    limiter.feedback("bot", AgentFailed("boom"))  # not a rate limit: ignored
    assert await limiter.acquire(bot) == 0.0
    limiter.feedback("bot", RateLimited("slow down", retry_after=7))
    assert await limiter.acquire(bot) == 7.0
    assert clock.sleeps == [7.0]
    assert await limiter.acquire(bot) == 0.0  # the pause is over


async def test_429_without_retry_after_empties_the_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    bot = agent(60)
    await limiter.acquire(bot)
    clock.advance(5)  # bucket full again
    limiter.feedback("bot", RateLimited("slow down"))
    assert await limiter.acquire(bot) == 1.0


async def test_parallel_steps_wait_for_the_agents_rate(make_baton: MakeBaton) -> None:
    clock = FakeClock()
    agents = {"bot": {**scripted(script=[reply("ok")]), "requests_per_minute": 60}}
    workflow = {
        "fan": {
            "steps": [
                {"id": f"s{i}", "agent_id": "bot", "prompt_template": f"p{i}", "dependencies": []}
                for i in range(3)
            ]
        }
    }
    seen: list[ev.Event] = []
    baton = make_baton(workflow, agents, clock=clock, observers=[seen.append])
    result = await baton.run_to_end("fan")
    assert result.status is ExecutionStatus.COMPLETED
    assert clock.sleeps == [1.0, 1.0]
    waits = [e for e in seen if isinstance(e, ev.RateLimitWait)]
    assert len(waits) == 2
    assert [w.agent_id for w in waits] == ["bot", "bot"]
    assert "requests_per_minute 60" in waits[0].reason
    # how many calls a wait finds ahead depends on whether the earlier waiter's (fake, instant)
    # sleep is over when it arrives: never more than the calls started before it
    assert waits[0].queued_ahead == 0 and waits[1].queued_ahead in (0, 1)


async def test_a_429_holds_back_the_agents_next_call(make_baton: MakeBaton) -> None:
    clock = FakeClock()
    agents = {
        "bot": scripted(
            script={"probe": [{"fail": "rate_limited", "retry_after": 30}], "next": [reply("ok")]}
        )
    }
    workflow = {
        "w": {
            "steps": [
                {"id": "probe", "agent_id": "bot", "prompt_template": "p", "allow_failure": True},
                {
                    "id": "next",
                    "agent_id": "bot",
                    "prompt_template": "n",
                    "dependencies": ["probe"],
                    "condition": "true",
                },
            ]
        }
    }
    seen: list[ev.Event] = []
    baton = make_baton(workflow, agents, clock=clock, observers=[seen.append])
    result = await baton.run_to_end("w")
    assert result.outputs["next"]["text"] == "ok"
    assert clock.sleeps == [30.0]
    (wait,) = [e for e in seen if isinstance(e, ev.RateLimitWait)]
    assert wait.step == "next" and "429" in wait.reason and wait.wait_seconds == 30.0
