"""Per-execution budgets (concurrency limits are in :mod:`baton.engine.slots`).

How a budget (``max_cost_usd`` / ``max_tokens``) holds, and by how much it can be overshot:

- every billed call counts, failed ones too (an invalid answer, an error result, a timeout
  after the agent streamed usage): :meth:`Budget.add_call`;
- an attempt *reserves* before it starts (:meth:`Budget.reserve`): until the execution has
  seen one billed call, only one billed attempt runs at a time; after that, another attempt
  starts only if the spent amount plus one largest-call-so-far per running attempt stays
  within the limit;
- while a call runs, the usage its agent streams counts at once (:meth:`Budget.live`); when
  the total crosses the limit the executor stops that agent.

So a budget is overshot by at most the increment of the call in flight when it was crossed
(the last streamed message, or a whole call for an agent that reports usage only at its
end) — not by one call per parallel step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from baton.agents.base import BudgetExceeded, Usage
from baton.models import BudgetConfig


@dataclass(slots=True)
class Budget:
    """Running usage of one execution against its limits."""

    limits: BudgetConfig
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    # usage streamed so far by calls still running, by attempt
    _live: dict[object, tuple[Usage, float]] = field(default_factory=dict)
    _running: int = 0
    _largest_cost: float | None = None
    _largest_tokens: int | None = None
    _changed: asyncio.Event | None = None

    @property
    def limited(self) -> bool:
        return self.limits.max_cost_usd is not None or self.limits.max_tokens is not None

    def add(self, usage: Usage, cost: float | None) -> None:
        """Count usage of earlier calls (a resumed execution's completed steps)."""
        self.usage = self.usage + usage
        self.cost_usd += cost or 0.0

    def add_call(self, usage: Usage, cost: float | None, attempt: object = None, *,
                 billed: bool = True) -> None:
        """Count one finished call (replacing what it streamed while running); a billed
        call's cost is the estimate of the next ones."""
        self._live.pop(attempt, None)
        self.add(usage, cost)
        if billed:
            self._largest_cost = max(self._largest_cost or 0.0, cost or 0.0)
            self._largest_tokens = max(self._largest_tokens or 0, usage.total_tokens)
        self._notify()

    def live(self, attempt: object, usage: Usage, cost: float | None) -> None:
        """The usage a running call has streamed so far."""
        self._live[attempt] = (usage, cost or 0.0)

    def drop_live(self, attempt: object) -> tuple[Usage, float]:
        """Forget a running call's streamed usage; returns it."""
        return self._live.pop(attempt, (Usage(), 0.0))

    def spent(self) -> tuple[Usage, float]:
        """Usage and cost of finished calls plus what running calls have streamed."""
        usage, cost = self.usage, self.cost_usd
        for live_usage, live_cost in self._live.values():
            usage, cost = usage + live_usage, cost + live_cost
        return usage, cost

    def exceeded(self) -> str | None:
        """Why the budget is used up, or None."""
        lim = self.limits
        usage, cost = self.spent()
        if lim.max_cost_usd is not None and cost >= lim.max_cost_usd:
            return f"cost ${cost:.4f} reached max_cost_usd ${lim.max_cost_usd:.4f}"
        if lim.max_tokens is not None and usage.total_tokens >= lim.max_tokens:
            return f"{usage.total_tokens} tokens reached max_tokens {lim.max_tokens}"
        return None

    def check(self) -> None:
        if reason := self.exceeded():
            raise BudgetExceeded(f"budget exceeded: {reason}; raise the limit in global.budget "
                                 "or the workflow's config.budget to continue")

    @contextlib.asynccontextmanager
    async def reserve(self, billed: bool = True) -> AsyncIterator[None]:
        """Hold a place for one attempt; waits while the running ones could use up the budget."""
        self.check()
        if not (billed and self.limited):
            yield
            return
        while not self._admits():
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()
        self.check()
        self._running += 1
        try:
            yield
        finally:
            self._running -= 1
            self._notify()

    def _admits(self) -> bool:
        if self._running == 0 or self.exceeded():
            return True
        lim = self.limits
        usage, cost = self.spent()
        slots = self._running + 1
        cost_fits = lim.max_cost_usd is None or (
            self._largest_cost is not None and cost + slots * self._largest_cost <= lim.max_cost_usd)
        tokens_fit = lim.max_tokens is None or (
            self._largest_tokens is not None
            and usage.total_tokens + slots * self._largest_tokens <= lim.max_tokens)
        return cost_fits and tokens_fit

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
