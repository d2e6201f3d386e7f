"""The agent registry: configured agents recorded in the store, and their health.

Registration follows the seed's Agent state machine through ``Store.set_agent_status``:
a new agent is stored UNREGISTERED, moves to REGISTERING while it is checked, then to
ACTIVE (the check passed) or ERROR (it failed). A later check of an ACTIVE agent keeps it
ACTIVE or moves it to ERROR; an agent in ERROR goes through REGISTERING again. An
INACTIVE agent (disabled by an operator) keeps its status: the check is only recorded.
Every check records ``last_health_check``.

The engine, the API and the workers honour the stored status: an agent in ERROR or
INACTIVE is not used (:func:`unusable_reason`; fallbacks and the alternatives message
apply). ``baton agents disable NAME`` moves an ACTIVE agent to INACTIVE, ``enable`` back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from baton.agents.base import AgentUnavailable, HealthReport
from baton.agents.factory import create_adapter
from baton.agents.health import AdapterFor, check_adapter
from baton.errors import BatonError
from baton.models import Agent, AgentStatus
from baton.store.base import Store

_PARALLEL_CHECKS = 4


class AgentStateError(BatonError):
    """The agent's status does not allow the change asked for."""

    cli_exit_code = 2


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One agent's health check and the status it left the agent in."""

    agent_id: str
    ok: bool
    detail: str
    version: str | None
    status: AgentStatus
    checked_at: datetime | None


def unusable_reason(stored: Agent | None) -> str | None:
    """Why the registry says an agent must not be used (ERROR or INACTIVE), or None."""
    if stored is None:
        return None
    if stored.status is AgentStatus.INACTIVE:
        return f"agent {stored.id!r} is disabled; enable it with `baton agents enable {stored.id}`"
    if stored.status is AgentStatus.ERROR:
        when = stored.last_health_check.isoformat(timespec="seconds") if stored.last_health_check else "?"
        return (f"agent {stored.id!r} failed its last health check ({when}); fix it, then run "
                f"`baton agents check {stored.id}`")
    return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AgentRegistry:
    """Registers the agents of a configuration in a store and records their health."""

    def __init__(
        self,
        store: Store,
        agents: Mapping[str, Agent],
        *,
        adapter_factory: AdapterFor = create_adapter,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.agents = dict(agents)
        self.adapter_factory = adapter_factory
        self.now = now

    def stored(self, agent_id: str) -> Agent | None:
        """The agent as the store has it (status, last health check), or None if never registered."""
        return self.store.get_agent(agent_id)

    def ensure(self, agent_id: str) -> Agent:
        """Store the agent's current definition (a new agent starts UNREGISTERED)."""
        agent = self.agents[agent_id]
        if self.store.get_agent(agent_id) is None:
            fresh = agent.model_copy(update={"status": AgentStatus.UNREGISTERED, "last_health_check": None})
            self.store.upsert_agent(fresh)
        else:
            self.store.upsert_agent(agent)
        stored = self.store.get_agent(agent_id)
        assert stored is not None
        return stored

    async def check(self, agent_id: str, *, live: bool = False) -> CheckResult:
        """Register (or re-check) one agent: its health decides ACTIVE or ERROR."""
        stored = self.ensure(agent_id)
        if stored.status in (AgentStatus.UNREGISTERED, AgentStatus.ERROR):
            stored = self.store.set_agent_status(agent_id, AgentStatus.REGISTERING)
        report = await self._report(self.agents[agent_id], live)
        if stored.status is AgentStatus.INACTIVE:
            target = AgentStatus.INACTIVE
        else:
            target = AgentStatus.ACTIVE if report.ok else AgentStatus.ERROR
        stored = self.store.set_agent_status(agent_id, target, health_checked_at=self.now())
        return CheckResult(
            agent_id=agent_id,
            ok=report.ok,
            detail=report.detail,
            version=report.version,
            status=stored.status,
            checked_at=stored.last_health_check,
        )

    async def check_many(self, agent_ids: Iterable[str], *, live: bool = False) -> list[CheckResult]:
        """Check several agents, a few at a time; results in the order asked."""
        gate = asyncio.Semaphore(_PARALLEL_CHECKS)

        async def one(agent_id: str) -> CheckResult:
            async with gate:
                return await self.check(agent_id, live=live)

        return list(await asyncio.gather(*(one(a) for a in agent_ids)))

    def disable(self, agent_id: str) -> Agent:
        """ACTIVE → INACTIVE: the agent stays configured but is not used."""
        stored = self.store.get_agent(agent_id)
        if stored is None or stored.status in (AgentStatus.UNREGISTERED, AgentStatus.REGISTERING):
            raise AgentStateError(f"agent {agent_id!r} is not registered yet; run `baton agents check "
                                  f"{agent_id}` first (only an active agent can be disabled)")
        if stored.status is AgentStatus.ERROR:
            raise AgentStateError(f"agent {agent_id!r} is in error, so it is not used already; only an "
                                  "active agent can be disabled")
        if stored.status is AgentStatus.INACTIVE:
            return stored
        return self.store.set_agent_status(agent_id, AgentStatus.INACTIVE)

    def enable(self, agent_id: str) -> Agent:
        """INACTIVE → ACTIVE."""
        stored = self.store.get_agent(agent_id)
        if stored is None or stored.status is not AgentStatus.INACTIVE:
            status = stored.status.value if stored else "unregistered"
            raise AgentStateError(f"agent {agent_id!r} is {status}, not disabled; `baton agents check "
                                  f"{agent_id}` registers or re-checks it")
        return self.store.set_agent_status(agent_id, AgentStatus.ACTIVE)

    def forget(self, agent_id: str) -> bool:
        """Remove the agent from the store; False when it was never registered."""
        if self.store.get_agent(agent_id) is None:
            return False
        self.store.remove_agent(agent_id)
        return True

    async def _report(self, agent: Agent, live: bool) -> HealthReport:
        try:
            adapter = self.adapter_factory(agent)
        except AgentUnavailable as exc:
            return HealthReport(ok=False, detail=str(exc))
        return await check_adapter(adapter, live)
