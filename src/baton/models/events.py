"""The typed events of an execution. Every front end consumes this one stream, and every
event becomes one ExecutionLog row (see :func:`to_log`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from baton.models.enums import LogLevel
from baton.models.execution import ExecutionLog, new_id
from baton.wording import counted


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True, kw_only=True)
class Event:
    """Base of all execution events."""

    kind: ClassVar[str] = "event"
    level: ClassVar[LogLevel] = LogLevel.INFO
    execution_id: str
    timestamp: datetime = field(default_factory=_now)

    @property
    def step_id(self) -> str | None:
        return getattr(self, "step", None)

    def message(self) -> str:
        return self.kind

    def data(self) -> dict[str, Any]:
        """The event's own fields (shallow: events are never mutated after creation)."""
        return {name: getattr(self, name) for name in _field_names(self.kind, type(self))}


@dataclass(slots=True, kw_only=True)
class ExecutionQueued(Event):
    kind: ClassVar[str] = "execution.queued"
    workflow_id: str
    reason: str = "waiting for a free execution slot"

    def message(self) -> str:
        return f"execution queued: {self.reason}"


@dataclass(slots=True, kw_only=True)
class ExecutionStarted(Event):
    kind: ClassVar[str] = "execution.started"
    workflow_id: str
    parameters: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False
    steps: list[str] = field(default_factory=list)
    trace_id: str = ""

    def message(self) -> str:
        verb = "resumed" if self.resumed else "started"
        return f"execution {verb}: workflow {self.workflow_id}"


@dataclass(slots=True, kw_only=True)
class CredentialsInWorkspace(Event):
    """The workspace's git config holds a token that the agents of writing steps can read."""

    kind: ClassVar[str] = "execution.credentials"
    level: ClassVar[LogLevel] = LogLevel.WARNING
    keys: list[str]
    steps: list[str]

    def message(self) -> str:
        return (f"the workspace's git config holds a token ({', '.join(self.keys)}) that the agent of "
                f"{counted(len(self.steps), 'writing step')} ({', '.join(self.steps)}) can read and push "
                "with; remove it with `git config --local --unset-all KEY` (in GitHub Actions: "
                "actions/checkout with persist-credentials: false; `baton github action` removes it itself)")


@dataclass(slots=True, kw_only=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step.started"
    step: str
    agent_id: str
    attempt: int = 1
    iteration: int = 1

    def message(self) -> str:
        return f"step {self.step} started on {self.agent_id} (attempt {self.attempt})"


@dataclass(slots=True, kw_only=True)
class AgentOutput(Event):
    kind: ClassVar[str] = "agent.output"
    level: ClassVar[LogLevel] = LogLevel.DEBUG
    step: str
    agent_id: str
    event_kind: str
    text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        return f"{self.agent_id} {self.event_kind}: {self.text[:500]}"


@dataclass(slots=True, kw_only=True)
class PermissionDecision(Event):
    """An ACP agent asked to act and Baton's policy answered (``agent.permission``).

    ``decision`` is ``allow`` or ``reject``; ``tool_kind`` the ACP kind (read, edit, delete,
    move, search, execute, think, fetch, other); ``paths`` the files named by the request;
    ``command`` the command line of an ``execute`` request; ``option_id`` the option chosen
    (None: answered ``cancelled``); ``reason`` why.
    """

    kind: ClassVar[str] = "agent.permission"
    step: str
    agent_id: str
    tool_call_id: str = ""
    tool_kind: str = "other"
    title: str = ""
    decision: str = "reject"
    reason: str = ""
    option_id: str | None = None
    paths: list[str] = field(default_factory=list)
    command: str | None = None

    def message(self) -> str:
        target = self.command or ", ".join(self.paths) or self.title
        verb = "allowed" if self.decision == "allow" else "rejected"
        return f"{self.agent_id} {self.tool_kind} {verb}: {target} ({self.reason})"


@dataclass(slots=True, kw_only=True)
class StepRetrying(Event):
    kind: ClassVar[str] = "step.retrying"
    level: ClassVar[LogLevel] = LogLevel.WARNING
    step: str
    agent_id: str
    attempt: int
    delay_seconds: float
    error_type: str
    error: str

    def message(self) -> str:
        return (f"step {self.step} attempt {self.attempt} on {self.agent_id} failed "
                f"({self.error_type}: {self.error}); retrying in {self.delay_seconds:.2f}s")


@dataclass(slots=True, kw_only=True)
class StepQueued(Event):
    """A started step waits for a slot of its agent (``max_concurrency``, any process)."""

    kind: ClassVar[str] = "step.queued"
    step: str
    agent_id: str
    reason: str

    def message(self) -> str:
        return f"step {self.step} waits for a slot of {self.agent_id}: {self.reason}"


@dataclass(slots=True, kw_only=True)
class StepRunning(Event):
    """A step that waited for a slot of its agent got one; its call starts."""

    kind: ClassVar[str] = "step.running"
    step: str
    agent_id: str

    def message(self) -> str:
        return f"step {self.step} got a slot of {self.agent_id}"


@dataclass(slots=True, kw_only=True)
class RateLimitWait(Event):
    kind: ClassVar[str] = "step.rate_limited"
    step: str
    agent_id: str
    wait_seconds: float
    queued_ahead: int = 0
    reason: str = ""

    def message(self) -> str:
        return (f"step {self.step} waits ~{self.wait_seconds:.2f}s for {self.agent_id} "
                f"({self.reason}; {counted(self.queued_ahead, 'call')} ahead)")


@dataclass(slots=True, kw_only=True)
class FallbackAgent(Event):
    kind: ClassVar[str] = "step.fallback"
    level: ClassVar[LogLevel] = LogLevel.WARNING
    step: str
    from_agent: str
    to_agent: str
    error: str

    def message(self) -> str:
        return f"step {self.step}: {self.from_agent} gave up ({self.error}); falling back to {self.to_agent}"


@dataclass(slots=True, kw_only=True)
class CacheHit(Event):
    kind: ClassVar[str] = "step.cache_hit"
    step: str
    agent_id: str
    key: str
    replayed_diff: bool = False

    def message(self) -> str:
        extra = " (workspace diff re-applied)" if self.replayed_diff else ""
        return f"step {self.step}: cache hit for {self.agent_id}{extra}"


@dataclass(slots=True, kw_only=True)
class StepSkipped(Event):
    kind: ClassVar[str] = "step.skipped"
    step: str
    reason: str

    def message(self) -> str:
        return f"step {self.step} skipped: {self.reason}"


@dataclass(slots=True, kw_only=True)
class StepCompleted(Event):
    kind: ClassVar[str] = "step.completed"
    step: str
    agent_id: str
    output_key: str
    duration_seconds: float
    usage: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    exit_code: int | None = None
    cache_hit: bool = False
    files_changed: list[str] = field(default_factory=list)
    iteration: int = 1

    def message(self) -> str:
        return f"step {self.step} completed in {self.duration_seconds:.2f}s"


@dataclass(slots=True, kw_only=True)
class StepFailed(Event):
    kind: ClassVar[str] = "step.failed"
    level: ClassVar[LogLevel] = LogLevel.ERROR
    step: str
    agent_id: str | None
    error_type: str
    error: str
    allowed: bool = False
    attempts: int = 1
    usage: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None

    def message(self) -> str:
        note = " (allowed to fail)" if self.allowed else ""
        return f"step {self.step} failed{note}: {self.error_type}: {self.error}"


@dataclass(slots=True, kw_only=True)
class StepWaiting(Event):
    kind: ClassVar[str] = "step.waiting"
    level: ClassVar[LogLevel] = LogLevel.WARNING
    step: str
    message_text: str

    def message(self) -> str:
        return f"step {self.step} waits for approval: {self.message_text}"


@dataclass(slots=True, kw_only=True)
class BudgetUpdate(Event):
    kind: ClassVar[str] = "execution.budget"
    level: ClassVar[LogLevel] = LogLevel.DEBUG
    total_tokens: int
    cost_usd: float

    def message(self) -> str:
        return f"usage so far: {self.total_tokens} tokens, ${self.cost_usd:.4f}"


@dataclass(slots=True, kw_only=True)
class ExecutionCompleted(Event):
    kind: ClassVar[str] = "execution.completed"
    status: str
    error: str | None = None
    duration_seconds: float = 0.0
    total_tokens: int = 0
    cost_usd: float = 0.0

    def message(self) -> str:
        tail = f": {self.error}" if self.error else ""
        return f"execution {self.status}{tail}"


def to_log(event: Event, trace_id: str) -> ExecutionLog:
    """The ExecutionLog row for an event."""
    level = event.level
    if isinstance(event, ExecutionCompleted) and event.status != "completed":
        level = LogLevel.ERROR if event.status == "failed" else LogLevel.WARNING
    if isinstance(event, PermissionDecision) and event.decision != "allow":
        level = LogLevel.WARNING
    meta = event.data()
    meta["event"] = event.kind
    if isinstance(event, ExecutionCompleted):
        meta["final"] = True
    return ExecutionLog(  # validating (in Rust) costs less than model_construct's Python loop
        id=new_id(),
        execution_id=event.execution_id,
        step_id=event.step_id,
        level=level,
        message=event.message(),
        timestamp=event.timestamp,
        metadata=meta,
        trace_id=trace_id,
        seq=0,
    )


_FIELDS: dict[str, tuple[str, ...]] = {}


def _field_names(kind: str, cls: type[Event]) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(
            f.name for f in fields(cls) if f.name not in ("execution_id", "timestamp"))
    return names


