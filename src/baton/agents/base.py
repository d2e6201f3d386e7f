"""The Agent protocol every adapter implements, its request/result types and its error tree.

Exception tree::

    BatonError
    └── AgentError                    retry_class says which RetryPolicy.retry_on entry applies
        ├── AgentUnavailable          binary/SDK missing or agent disabled   (not retried)
        ├── AgentTimeout              Baton's wall-clock limit hit; group killed   ("timeout")
        ├── RateLimited               HTTP 429 / quota; carries retry_after   ("rate_limited")
        ├── AgentFailed               crash, 5xx, non-zero exit; .retryable   ("agent_error")
        ├── InvalidOutput             answer does not match output_schema     ("invalid_output")
        └── BudgetExceeded            execution cost/token budget used up     (not retried)

Adapters translate vendor failures into this tree at their boundary; nothing above the
agents layer sees a vendor exception. A call that failed after the provider billed it
(invalid answer, error result, timeout after streamed usage) carries what it cost in
``usage`` / ``cost_usd``, so the engine counts it like a successful call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from baton.errors import BatonError
from baton.models import Agent, Permissions

RetryClass = Literal["timeout", "rate_limited", "agent_error", "invalid_output"]


class AgentError(BatonError):
    """An agent call that did not produce a usable result."""

    retry_class: RetryClass | None = "agent_error"
    retryable: bool = True
    # The agent's session when the call failed mid-session (ACP): a retry can resume it.
    session_id: str | None = None

    def __init__(self, message: str, *, agent_id: str | None = None) -> None:
        self.agent_id = agent_id
        self.usage = Usage()
        self.cost_usd: float | None = None
        super().__init__(message)

    def billed(self, usage: Usage, cost_usd: float | None) -> AgentError:
        """Record what the failed call cost (returns self, for ``raise exc.billed(...)``)."""
        self.usage = usage
        self.cost_usd = cost_usd
        return self


class AgentUnavailable(AgentError):
    """The agent cannot be called at all (missing binary or SDK, disabled agent)."""

    retry_class = None
    retryable = False


class AgentTimeout(AgentError):
    """The call exceeded the step's ``timeout_seconds``; its whole process group was killed."""

    retry_class = "timeout"


class RateLimited(AgentError):
    """The provider refused the call for rate or quota reasons."""

    retry_class = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None,
                 agent_id: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, agent_id=agent_id)


class AgentFailed(AgentError):
    """The agent ran and failed (crash, server error, bad credentials, non-zero exit)."""

    retry_class = "agent_error"

    def __init__(self, message: str, *, retryable: bool = True, exit_code: int | None = None,
                 agent_id: str | None = None) -> None:
        self.retryable = retryable
        self.exit_code = exit_code
        super().__init__(message, agent_id=agent_id)


class InvalidOutput(AgentError):
    """The agent answered, but not in the shape the step's ``output_schema`` demands."""

    retry_class = "invalid_output"


class BudgetExceeded(AgentError):
    """The execution's cost or token budget is used up."""

    retry_class = None
    retryable = False


@dataclass(slots=True)
class Usage:
    """Tokens consumed by one call (or a sum of calls)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        data = data or {}
        return cls(**{k: int(data.get(k, 0) or 0) for k in
                      ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")})


EventKind = Literal["text", "tool_use", "tool_result", "file_change", "command", "error",
                    "stderr", "status", "permission", "plan", "usage"]
# A "usage" event's data may hold the call's usage so far: {"usage": Usage.as_dict(), "cost_usd": float}.


@dataclass(slots=True)
class AgentEvent:
    """Something an agent did while running, streamed to the engine as it happens."""

    kind: EventKind
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


EventCallback = Callable[[AgentEvent], Awaitable[None]]


@dataclass(slots=True)
class AgentRequest:
    """Everything an adapter needs for one call."""

    prompt: str
    workspace_dir: Path
    timeout_seconds: float
    execution_id: str = ""
    step_id: str = ""
    attempt: int = 1
    output_schema: dict[str, Any] | None = None
    writes_workspace: bool = False
    session_id: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    artifacts_dir: Path | None = None
    template_context: dict[str, Any] = field(default_factory=dict)
    prompt_template: str | None = None
    allow_failure: bool = False
    trace_id: str | None = None
    # The step's permissions block (ACP agents lay it over the agent's own).
    permissions: Permissions | None = None


@dataclass(slots=True)
class AgentResult:
    """What one successful agent call produced."""

    text: str
    json: Any = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    session_id: str | None = None
    exit_code: int | None = 0
    files_changed: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0
    transcript_path: str | None = None
    model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_output(self) -> dict[str, Any]:
        """The JSON-serialisable record stored under the step's ``output_key``."""
        return {
            "text": self.text,
            "json": self.json,
            "usage": self.usage.as_dict(),
            "cost_usd": self.cost_usd,
            "session_id": self.session_id,
            "exit_code": self.exit_code,
            "files_changed": list(self.files_changed),
            "duration_seconds": round(self.duration_seconds, 6),
            "transcript_path": self.transcript_path,
            "model": self.model,
            "metadata": self.metadata,
        }

    @classmethod
    def from_output(cls, data: dict[str, Any]) -> AgentResult:
        return cls(
            text=data.get("text", ""),
            json=data.get("json"),
            usage=Usage.from_dict(data.get("usage")),
            cost_usd=data.get("cost_usd"),
            session_id=data.get("session_id"),
            exit_code=data.get("exit_code"),
            files_changed=list(data.get("files_changed") or []),
            duration_seconds=float(data.get("duration_seconds") or 0.0),
            transcript_path=data.get("transcript_path"),
            model=data.get("model"),
            metadata=dict(data.get("metadata") or {}),
        )


@dataclass(slots=True)
class HealthReport:
    """The outcome of checking that an agent can be called."""

    ok: bool
    detail: str
    version: str | None = None


class AgentBase:
    """What every adapter reads from its :class:`~baton.models.Agent`: config, endpoint, key.

    The one place the ``config`` keys shared by all kinds of agent are read; subclasses
    give ``default_base_url`` when their provider has one.
    """

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    @property
    def config(self) -> dict[str, Any]:
        return self.agent.config

    @property
    def default_base_url(self) -> str | None:
        return None

    @property
    def base_url(self) -> str | None:
        value = self.config.get("base_url")
        return str(value).rstrip("/") if value else self.default_base_url

    @property
    def api_key(self) -> str | None:
        value = self.config.get("api_key")
        return str(value) if value else None

    def call_name(self, request: AgentRequest) -> str:
        """``<step>-<attempt>-<agent>``: the name of one call's transcript, folder and home."""
        return f"{request.step_id or 'step'}-{request.attempt}-{self.agent.id}"


@runtime_checkable
class AgentAdapter(Protocol):
    """The one seam between the engine and an agent: CLI, API, shell or scripted."""

    agent: Agent

    @property
    def acts_on_workspace(self) -> bool:
        """True when calls may read or change the workspace (the cache keys on its state)."""
        ...

    async def run(self, request: AgentRequest, on_event: EventCallback) -> AgentResult:
        """Run one call, streaming events; raise an :class:`AgentError` on failure."""
        ...

    async def check(self, live: bool = False) -> HealthReport:
        """Verify that the agent can be called (binary, version, credentials)."""
        ...


async def _discard(_event: AgentEvent) -> None:
    return None


discard_events: EventCallback = _discard
