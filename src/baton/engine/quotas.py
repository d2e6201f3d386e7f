"""Daily quotas per agent and per workflow, checked before every step attempt.

``global.quotas`` in ``baton.yaml``::

    global:
      quotas:
        agents:
          claude: {max_cost_usd_per_day: 20, max_tokens_per_day: 2000000}
          "*":    {max_cost_usd_per_day: 50}          # each agent without its own entry
        workflows:
          nightly-review: {max_cost_usd_per_day: 5}

A day is a UTC calendar day. Usage is what the store recorded for every agent call of
every execution (see :meth:`baton.store.base.Store.usage_totals`), so the quota holds
across executions, processes and workers sharing one database. A step whose agent or
workflow has used up its quota fails with :class:`~baton.agents.base.BudgetExceeded`
before it starts, and the execution stops.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from baton.agents.base import BudgetExceeded
from baton.engine.clock import Clock
from baton.models.configuration import DailyQuota, QuotaConfig
from baton.store.base import Store, UsageTotal


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of ``moment``'s day."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class DailyQuotas:
    """Checks today's recorded usage of an agent and a workflow against their quotas."""

    def __init__(self, store: Store, config: QuotaConfig, clock: Clock) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def check(self, agent_id: str, workflow_id: str) -> None:
        """Raise BudgetExceeded when the agent's or the workflow's quota for today is used up."""
        since = day_start(self.clock.now())
        for kind, key, quotas in (
            ("agent", agent_id, self.config.agents),
            ("workflow", workflow_id, self.config.workflows),
        ):
            quota = quotas.get(key) or quotas.get("*")
            if quota is None:
                continue
            name = key if key in quotas else "*"
            total = self._today(kind, key, since)
            if reason := _exceeded(quota, total):
                tomorrow = (since + timedelta(days=1)).strftime("%Y-%m-%d 00:00 UTC")
                raise BudgetExceeded(
                    f"daily quota of {kind} {key!r} used up: {reason}; raise "
                    f"global.quotas.{kind}s.{name} in baton.yaml or wait until {tomorrow}",
                    agent_id=agent_id,
                )

    def _today(self, kind: str, key: str, since: datetime) -> UsageTotal | None:
        for total in self.store.usage_totals(by=kind, since=since):
            if total.group == key:
                return total
        return None


def _exceeded(quota: DailyQuota, total: UsageTotal | None) -> str | None:
    if total is None:
        return None
    if quota.max_cost_usd_per_day is not None and total.cost_usd >= quota.max_cost_usd_per_day:
        return (
            f"${total.cost_usd:.4f} spent today reached max_cost_usd_per_day "
            f"${quota.max_cost_usd_per_day:.2f}"
        )
    tokens = total.input_tokens + total.output_tokens
    if quota.max_tokens_per_day is not None and tokens >= quota.max_tokens_per_day:
        return f"{tokens} tokens used today reached max_tokens_per_day {quota.max_tokens_per_day}"
    return None
