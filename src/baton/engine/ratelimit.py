"""Provider rate limits: each agent's calls take turns, ``60 / requests_per_minute`` seconds
apart, in arrival order; a 429 holds the agent back.

A call takes the agent's next turn (now, if the agent has been idle for an interval) and
sleeps until it; the turn after it moves one interval on. So the first call starts at once
and the next ones are spaced evenly, as by a token bucket holding one token. With a store,
the turns are kept in it (:meth:`~baton.store.base.Store.take_rate_turn`), so every process
sharing the store takes turns from the same agent; without one, in this process only. A
:class:`~baton.agents.base.RateLimited` answer carrying ``retry_after`` holds the agent's
next call for that long (one without it, for one interval), so the other calls queued for
that provider wait too instead of hammering it. Time comes from the engine's injectable
clock; processes sharing a store must agree on wall time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from baton.agents.base import RateLimited
from baton.engine.clock import Clock, SystemClock
from baton.models import Agent
from baton.models import events as ev
from baton.store.base import Store

if TYPE_CHECKING:
    from baton.engine.state import ExecutionRun


@dataclass(slots=True)
class _Queue:
    """One agent's calls waiting here, and what this process knows of its turns."""

    shared: bool  # turns kept in the store
    interval: timedelta = timedelta(0)
    next_at: datetime | None = None  # the next turn, when not shared
    paused_until: datetime | None = None
    waiting: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RateLimiter:
    """Per-agent turns shared by every execution of one Baton (and, with a store, by every
    process on that store)."""

    def __init__(self, clock: Clock | None = None, store: Store | None = None) -> None:
        self.clock = clock or SystemClock()
        self.store = store
        self._queues: dict[str, _Queue] = {}

    def _queue(self, agent_id: str, rpm: float | None) -> _Queue | None:
        queue = self._queues.get(agent_id)
        if queue is None and rpm is not None:
            queue = self._queues[agent_id] = _Queue(shared=self.store is not None)
        return queue

    def queued(self, agent_id: str) -> int:
        """Calls of this agent waiting for the limiter now."""
        queue = self._queues.get(agent_id)
        return queue.waiting if queue else 0

    async def acquire(self, agent: Agent, er: ExecutionRun | None = None, step_id: str = "") -> float:
        """Wait for this agent's turn; returns the seconds waited (0.0 without a limit)."""
        rpm = agent.requests_per_minute
        queue = self._queue(agent.id, rpm)
        if queue is None:
            return 0.0
        interval = queue.interval = timedelta(seconds=60.0 / rpm) if rpm else timedelta(0)
        told = False
        if queue.waiting or queue.lock.locked():
            told = self._tell(er, agent, step_id, queue.waiting,
                              (queue.waiting + 1) * interval.total_seconds(), self._reason(queue, rpm))
        queue.waiting += 1
        started = self.clock.monotonic()
        try:
            async with queue.lock:
                now = self.clock.now()
                wait = (self._take(agent.id, queue, interval, now) - now).total_seconds()
                if wait > 0:
                    if not told:
                        self._tell(er, agent, step_id, queue.waiting - 1, wait, self._reason(queue, rpm))
                    await self.clock.sleep(wait)
        finally:
            queue.waiting -= 1
        return self.clock.monotonic() - started

    def pause(self, agent_id: str, seconds: float) -> None:
        """Hold every call of this agent for ``seconds`` (a provider's retry-after)."""
        self._hold(agent_id, self.clock.now() + timedelta(seconds=seconds), paused=True)

    def feedback(self, agent_id: str, error: Exception) -> None:
        """Learn from a failed call: a 429 holds the agent back (``retry_after``, else one turn)."""
        if not isinstance(error, RateLimited):
            return
        if error.retry_after:
            self.pause(agent_id, float(error.retry_after))
            return
        queue = self._queues.get(agent_id)
        if queue is not None and queue.interval:
            self._hold(agent_id, self.clock.now() + queue.interval, paused=False)

    # -- internals ---------------------------------------------------------------------------
    def _take(self, agent_id: str, queue: _Queue, interval: timedelta, now: datetime) -> datetime:
        if queue.shared and interval and self.store is not None:
            start = self.store.take_rate_turn(f"agent:{agent_id}", interval, now)
            if queue.paused_until is not None and queue.paused_until > start:
                start = queue.paused_until
            return start
        start = max(now, queue.next_at or now, queue.paused_until or now)
        queue.next_at = start + interval
        return start

    def _hold(self, agent_id: str, until: datetime, *, paused: bool) -> None:
        queue = self._queues.get(agent_id)
        if queue is None:
            queue = self._queues[agent_id] = _Queue(shared=self.store is not None)
        if paused:
            queue.paused_until = max(queue.paused_until or until, until)
        queue.next_at = max(queue.next_at or until, until)
        if queue.shared and self.store is not None:
            self.store.hold_rate(f"agent:{agent_id}", until)

    def _reason(self, queue: _Queue, rpm: float | None) -> str:
        if queue.paused_until is not None and queue.paused_until > self.clock.now():
            return "paused after the provider answered 429"
        return f"requests_per_minute {rpm:g}" if rpm else "queued behind earlier calls"

    @staticmethod
    def _tell(er: ExecutionRun | None, agent: Agent, step_id: str, ahead: int, estimate: float,
              reason: str) -> bool:
        if er is None:
            return False
        er.recorder.emit(ev.RateLimitWait(
            execution_id=er.ctx.id, step=step_id, agent_id=agent.id, queued_ahead=ahead,
            wait_seconds=round(estimate, 3), reason=reason))
        return True
