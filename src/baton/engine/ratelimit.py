"""Provider rate limits: one token bucket per agent, with a FIFO queue, paused by 429s.

An agent with ``requests_per_minute`` gets a bucket holding one token, refilled at
``requests_per_minute / 60`` tokens a second; a call takes a token before it starts and
waits (in arrival order) when there is none. A :class:`~baton.agents.base.RateLimited`
answer carrying ``retry_after`` pauses the agent's bucket for that long, so the other
calls queued for that provider wait too instead of hammering it. Time comes from the
engine's injectable clock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from baton.agents.base import RateLimited
from baton.engine import events as ev
from baton.engine.clock import Clock, SystemClock
from baton.models import Agent

if TYPE_CHECKING:
    from baton.engine.state import ExecutionRun

_CAPACITY = 1.0


@dataclass(slots=True)
class _Bucket:
    rate: float | None  # tokens per second; None: no rate, only 429 pauses
    tokens: float
    updated: float
    paused_until: float = 0.0
    waiting: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def refill(self, now: float) -> None:
        if self.rate is not None:
            self.tokens = min(_CAPACITY, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_needed(self, now: float) -> tuple[float, str]:
        pause = self.paused_until - now
        if pause > 0:
            return pause, "paused after the provider answered 429"
        if self.rate is not None and self.tokens < 1:
            return (1 - self.tokens) / self.rate, f"requests_per_minute {self.rate * 60:g}"
        return 0.0, ""


class RateLimiter:
    """Per-agent token buckets shared by every execution of one Baton."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, agent_id: str, rpm: float | None) -> _Bucket | None:
        bucket = self._buckets.get(agent_id)
        if bucket is None and rpm is not None:
            bucket = self._buckets[agent_id] = _Bucket(rpm / 60.0, _CAPACITY, self.clock.monotonic())
        return bucket

    def queued(self, agent_id: str) -> int:
        """Calls of this agent waiting for the limiter now."""
        bucket = self._buckets.get(agent_id)
        return bucket.waiting if bucket else 0

    async def acquire(self, agent: Agent, er: ExecutionRun | None = None, step_id: str = "") -> float:
        """Wait for this agent's turn; returns the seconds waited (0.0 without a limit)."""
        bucket = self._bucket(agent.id, agent.requests_per_minute)
        if bucket is None:
            return 0.0
        now = self.clock.monotonic()
        bucket.refill(now)
        wait, reason = bucket.wait_needed(now)
        if wait <= 0 and bucket.waiting == 0:
            if bucket.rate is not None:
                bucket.tokens -= 1
            return 0.0
        if er is not None:
            ahead = bucket.waiting
            estimate = wait + (ahead / bucket.rate if bucket.rate else 0.0)
            er.recorder.emit(
                ev.RateLimitWait(
                    execution_id=er.ctx.id,
                    step=step_id,
                    agent_id=agent.id,
                    queued_ahead=ahead,
                    wait_seconds=round(estimate, 3),
                    reason=reason or "queued behind earlier calls",
                )
            )
        bucket.waiting += 1
        started = self.clock.monotonic()
        try:
            async with bucket.lock:
                while True:
                    now = self.clock.monotonic()
                    bucket.refill(now)
                    wait, _ = bucket.wait_needed(now)
                    if wait <= 0:
                        break
                    await self.clock.sleep(wait)
                if bucket.rate is not None:
                    bucket.tokens -= 1
        finally:
            bucket.waiting -= 1
        return self.clock.monotonic() - started

    def pause(self, agent_id: str, seconds: float) -> None:
        """Hold every call of this agent for ``seconds`` (a provider's retry-after)."""
        now = self.clock.monotonic()
        bucket = self._buckets.get(agent_id)
        if bucket is None:
            bucket = self._buckets[agent_id] = _Bucket(None, _CAPACITY, now)
        bucket.refill(now)
        bucket.paused_until = max(bucket.paused_until, now + seconds)
        if bucket.rate is not None:
            bucket.tokens = 0.0

    def feedback(self, agent_id: str, error: Exception) -> None:
        """Learn from a failed call: a 429 with ``retry_after`` pauses the agent."""
        if not isinstance(error, RateLimited):
            return
        if error.retry_after:
            self.pause(agent_id, float(error.retry_after))
        elif (bucket := self._buckets.get(agent_id)) is not None and bucket.rate is not None:
            bucket.refill(self.clock.monotonic())
            bucket.tokens = 0.0
