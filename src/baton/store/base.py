"""The Store interface: one contract, two backends (SQLite file, PostgreSQL).

Every status change goes through the seed's state machines; the conformance suite in
``tests/store/`` runs the same tests against every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from baton.models import (
    AgentStatus,
    ExecutionContext,
    ExecutionLog,
    ExecutionStatus,
    LogLevel,
    StepRun,
)

if TYPE_CHECKING:
    from baton.models.agent import Agent


@dataclass(slots=True)
class ConfigVersion:
    """One applied configuration version; its content never changes once applied."""

    version: str
    content: str
    content_hash: str
    applied_at: datetime
    applied_by: str


@dataclass(slots=True)
class AuditEntry:
    """Who applied which configuration version, when, and what changed (unified diff)."""

    id: int
    version: str
    actor: str
    at: datetime
    action: str
    diff: str


@dataclass(slots=True)
class CacheEntry:
    """A stored agent answer for a cache key (and the workspace diff it made, if any)."""

    key: str
    agent_id: str
    output: dict[str, Any]
    diff: str | None
    created_at: datetime
    expires_at: datetime | None
    hits: int = 0


@dataclass(slots=True)
class UsageRecord:
    """Tokens and cost of one agent call."""

    execution_id: str
    step_id: str
    agent_id: str
    model: str
    workflow_id: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    at: datetime | None = None


@dataclass(slots=True)
class UsageTotal:
    """Usage summed over a group (agent, model, workflow, day or execution)."""

    group: str
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class OwnerProcess:
    """The process that runs an execution: host, pid and start token (see workspace.procinfo)."""

    host: str
    pid: int
    start: str | None


@dataclass(frozen=True, slots=True)
class OwnedGroup:
    """A process group an execution's agent runs in (``start``: its leader's start token)."""

    pgid: int
    host: str
    start: str | None


@dataclass(frozen=True, slots=True)
class Lease:
    """One held slot of a limit that every process sharing the store obeys (``name``:
    ``executions`` or ``agent:<id>``); ``holder`` names the holding process."""

    name: str
    slot: int
    holder: str
    owner: OwnerProcess | None
    acquired_at: datetime
    expires_at: datetime


@dataclass(slots=True)
class ExecutionRecord:
    """An execution as stored: its context plus what the engine needs to resume it."""

    context: ExecutionContext
    workflow_snapshot: dict[str, Any] = field(default_factory=dict)
    log_bytes: int = 0
    log_truncated: bool = False
    owner: str | None = None
    heartbeat_at: datetime | None = None
    owner_process: OwnerProcess | None = None


@dataclass(frozen=True, slots=True)
class ExecutionState:
    """An execution's status and error, as stored now (``end_time``: when it ended, where
    the reader knows it)."""

    status: ExecutionStatus
    error: str | None
    end_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class StepWrite:
    """One step transition as the engine commits it: the step's state (None: log rows
    only), its log rows and the usage of its agent call."""

    run: StepRun | None
    logs: Sequence[ExecutionLog] = ()
    usage: UsageRecord | None = None


class Store(Protocol):
    """Durable state of Baton. Implementations must be safe to share across asyncio tasks."""

    # -- agents ---------------------------------------------------------------------------
    def upsert_agent(self, agent: Agent) -> None: ...
    def get_agent(self, agent_id: str) -> Agent | None: ...
    def list_agents(self) -> list[Agent]: ...
    def set_agent_status(
        self, agent_id: str, status: AgentStatus, *, health_checked_at: datetime | None = None
    ) -> Agent: ...
    def remove_agent(self, agent_id: str) -> None: ...

    # -- configuration versions -------------------------------------------------------------
    def apply_config(self, version: str, content: str, *, actor: str) -> ConfigVersion: ...
    def get_config_version(self, version: str) -> ConfigVersion | None: ...
    def list_config_versions(self) -> list[ConfigVersion]: ...
    def config_audit(self, limit: int = 100) -> list[AuditEntry]: ...

    # -- executions ---------------------------------------------------------------------------
    def create_execution(
        self, ctx: ExecutionContext, *, workflow_snapshot: dict[str, Any]
    ) -> None: ...
    def get_execution(self, execution_id: str) -> ExecutionRecord | None: ...
    def get_context(self, execution_id: str) -> ExecutionContext | None: ...
    def match_execution_ids(self, prefix: str, limit: int = 2) -> list[str]: ...
    def list_executions(
        self,
        *,
        status: ExecutionStatus | None = None,
        workflow_id: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[ExecutionContext]: ...
    def set_execution_status(
        self,
        execution_id: str,
        status: ExecutionStatus,
        *,
        error: str | None = None,
        resume: bool = False,
        owner: str | None = None,
    ) -> ExecutionContext: ...
    def finish_execution(
        self,
        execution_id: str,
        status: ExecutionStatus,
        *,
        error: str | None = None,
        logs: Sequence[ExecutionLog] = (),
    ) -> ExecutionState: ...
    def claim_execution(
        self, execution_id: str, owner: str, *, process: OwnerProcess | None = None
    ) -> bool: ...
    def start_execution(
        self, execution_id: str, owner: str, *, process: OwnerProcess | None = None
    ) -> bool: ...
    def execution_states(self, execution_ids: Sequence[str]) -> dict[str, ExecutionState]: ...
    def heartbeat(self, owner: str) -> None: ...
    def disown_execution(self, execution_id: str, owner: str) -> None: ...
    def running_on(self, host: str) -> list[ExecutionRecord]: ...
    def track_process(self, execution_id: str, step_id: str, group: OwnedGroup) -> None: ...
    def untrack_process(self, execution_id: str, pgid: int) -> None: ...
    def tracked_processes(self, execution_id: str) -> list[OwnedGroup]: ...

    # -- limits shared by every process on the store ------------------------------------------
    # A lease is one slot of a limit; it expires unless its holder renews it. ``acquire_lease``
    # first drops expired leases of ``name``, then takes the lowest free slot if fewer than
    # ``limit`` are held (None otherwise), atomically across processes.
    def acquire_lease(
        self, name: str, limit: int, holder: str, *, ttl: timedelta, owner: OwnerProcess | None = None
    ) -> Lease | None: ...
    def release_lease(self, name: str, slot: int, holder: str) -> None: ...
    def renew_leases(self, holder: str, ttl: timedelta) -> int: ...
    def drop_leases(self, holder: str) -> int: ...
    def list_leases(self, name: str | None = None) -> list[Lease]: ...
    # Rate windows: ``take_rate_turn`` returns when the caller's call may start (``now`` or
    # the reserved next turn, whichever is later) and moves the next turn ``interval`` later;
    # ``hold_rate`` keeps every call of ``name`` from starting before ``until``. ``now``
    # comes from the caller: processes sharing a store must agree on wall time.
    def take_rate_turn(self, name: str, interval: timedelta, now: datetime) -> datetime: ...
    def hold_rate(self, name: str, until: datetime) -> None: ...

    # -- step runs and logs (one transaction: a step transition and its log rows) ----------
    def save_step(
        self, run: StepRun, logs: Sequence[ExecutionLog] = (), usage: UsageRecord | None = None
    ) -> None: ...
    def save_steps(self, writes: Sequence[StepWrite]) -> None: ...
    def list_steps(self, execution_id: str) -> list[StepRun]: ...
    def append_logs(self, logs: Sequence[ExecutionLog]) -> None: ...
    def list_logs(
        self,
        execution_id: str,
        *,
        step_id: str | None = None,
        min_level: LogLevel | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> list[ExecutionLog]: ...

    # -- cache ---------------------------------------------------------------------------------
    def cache_get(self, key: str, now: datetime) -> CacheEntry | None: ...
    def cache_put(self, entry: CacheEntry) -> None: ...
    def cache_clear(self) -> int: ...

    # -- usage ---------------------------------------------------------------------------------
    def record_usage(self, record: UsageRecord) -> None: ...
    def usage_totals(self, *, by: str, since: datetime | None = None) -> list[UsageTotal]: ...

    # -- export / import -------------------------------------------------------------------------
    def export_execution(self, execution_id: str) -> dict[str, Any]: ...
    def import_execution(self, data: dict[str, Any]) -> str: ...
    def export_config_versions(self) -> list[dict[str, Any]]: ...
    def import_config_versions(self, data: list[dict[str, Any]]) -> int: ...

    def close(self) -> None: ...
