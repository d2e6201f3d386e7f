"""Concurrency limits and per-execution budgets."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from baton.agents.base import BudgetExceeded, Usage
from baton.models import BudgetConfig


class AgentLimiter:
    """One semaphore per agent, sized by the agent's ``max_concurrency``."""

    def __init__(self) -> None:
        self._sems: dict[str, asyncio.Semaphore] = {}

    def slot(self, agent_id: str, max_concurrency: int) -> asyncio.Semaphore:
        sem = self._sems.get(agent_id)
        if sem is None:
            sem = self._sems[agent_id] = asyncio.Semaphore(max_concurrency)
        return sem


@dataclass(slots=True)
class Budget:
    """Running usage of one execution against its limits."""

    limits: BudgetConfig
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0

    def add(self, usage: Usage, cost: float | None) -> None:
        self.usage = self.usage + usage
        self.cost_usd += cost or 0.0

    def exceeded(self) -> str | None:
        """Why the budget is used up, or None."""
        lim = self.limits
        if lim.max_cost_usd is not None and self.cost_usd >= lim.max_cost_usd:
            return f"cost ${self.cost_usd:.4f} reached max_cost_usd ${lim.max_cost_usd:.4f}"
        if lim.max_tokens is not None and self.usage.total_tokens >= lim.max_tokens:
            return f"{self.usage.total_tokens} tokens reached max_tokens {lim.max_tokens}"
        return None

    def check(self) -> None:
        if reason := self.exceeded():
            raise BudgetExceeded(f"budget exceeded: {reason}; raise the limit in global.budget "
                                 "or the workflow's config.budget to continue")
