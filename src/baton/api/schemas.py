"""Request and response bodies of the HTTP API (they make up its OpenAPI document)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")


_STRING = {"type": "string"}
# what _one_workspace checks, said in the schema too, so clients (and fuzzers) know it
_WORKSPACE_RULES: dict[str, Any] = {"allOf": [
    {"not": {"required": ["workspace_dir", "repo"],
             "properties": {"workspace_dir": _STRING, "repo": _STRING}}},
    {"if": {"required": ["ref"], "properties": {"ref": _STRING}},
     "then": {"required": ["repo"], "properties": {"repo": _STRING}}},
]}


def _encodable(data: Any) -> Any:
    """JSON may carry lone surrogates (``"\\ud962"``); no store or log can hold them."""
    try:
        json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (a lone surrogate code point is not)") from None
    return data


TRIGGER_DOC = ("the front end that started the execution: cli, api, mcp, action, acp, dashboard or "
               "python (null: recorded before Baton kept it)")


class ExecutionCreate(BaseModel):
    """Start a workflow. Returns at once (202); the execution runs on a worker."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_WORKSPACE_RULES)

    _valid_unicode = model_validator(mode="before")(_encodable)

    workflow_id: str = Field(min_length=1, max_length=128)
    parameters: dict[str, Any] = Field(default_factory=dict)
    workspace_dir: str | None = Field(
        default=None,
        max_length=4096,
        description="A directory on the server, under one of api.workspace_roots.",
    )
    repo: str | None = Field(
        default=None,
        max_length=2048,
        description="A git repository to clone into a fresh workspace before the run.",
    )
    ref: str | None = Field(default=None, max_length=255, description="Branch or tag of `repo`.")
    timeout_seconds: int | None = Field(
        default=None, ge=10, le=3600, description="Longest running time; then the execution fails."
    )
    priority: int = Field(default=5, ge=1, le=10, description="1 runs first, 10 last.")
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The same key (per token) never starts a second execution; "
        "the Idempotency-Key header works too.",
    )

    @model_validator(mode="after")
    def _one_workspace(self) -> ExecutionCreate:
        if self.workspace_dir is not None and self.repo is not None:
            raise ValueError("give workspace_dir or repo, not both")
        if self.ref is not None and self.repo is None:
            raise ValueError("ref needs repo")
        return self


class ExecutionAccepted(BaseModel):
    """An execution accepted for running."""

    execution_id: str
    workflow_id: str
    status: str
    idempotent_replay: bool = False
    links: dict[str, str]


class StepResult(BaseModel):
    """One step of an execution, as far as it got."""

    step_id: str
    status: str
    agent_id: str | None
    attempt: int
    iteration: int
    cache_hit: bool
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None
    error_type: str | None
    output: dict[str, Any] | None


class ExecutionDetail(BaseModel):
    """An execution: status, progress, current steps, step results, usage, cost, error."""

    execution_id: str
    workflow_id: str
    status: str
    progress: float = Field(ge=0, le=1)
    current_steps: list[str]
    steps: list[StepResult]
    usage: dict[str, int]
    cost_usd: float
    error: str | None
    parameters: dict[str, Any]
    workspace_dir: str
    trace_id: str
    start_time: datetime
    end_time: datetime | None
    owner: str | None
    config_hash: str | None = None
    config_version: str | None = None
    trigger: str | None = Field(default=None, description=TRIGGER_DOC)
    submitted_by: str | None = None
    queue: str | None = None
    priority: int | None = None
    timeout_seconds: int | None = None


class ExecutionSummary(BaseModel):
    """An execution in a listing."""

    execution_id: str
    workflow_id: str
    status: str
    start_time: datetime
    end_time: datetime | None
    error: str | None
    config_hash: str | None = None
    config_version: str | None = None
    trigger: str | None = Field(default=None, description=TRIGGER_DOC)


class Page(BaseModel, Generic[T]):
    """A page of items; pass ``next_cursor`` as ``cursor`` for the next one (null: last page)."""

    items: list[T]
    next_cursor: str | None


class LogEntry(BaseModel):
    """One log row of an execution (``seq`` orders them and is the SSE event id)."""

    seq: int
    id: str
    timestamp: datetime
    level: str
    step_id: str | None
    message: str
    metadata: dict[str, Any]


class ApproveRequest(BaseModel):
    """Approve (or reject) a step waiting for a human."""

    model_config = ConfigDict(extra="forbid")

    _valid_unicode = model_validator(mode="before")(_encodable)

    step: str | None = Field(default=None, description="Needed when several steps wait.")
    approved: bool = True
    reason: str | None = Field(default=None, max_length=2000)


class ExecutionState(BaseModel):
    """An execution's status after an action on it."""

    execution_id: str
    status: str
    detail: str | None = None


class WorkflowSummary(BaseModel):
    id: str
    name: str | None
    type: str
    description: str
    steps: int
    parameters: dict[str, Any]


class WorkflowDetail(WorkflowSummary):
    definition: dict[str, Any]
    mermaid: str


class AgentInfo(BaseModel):
    id: str
    name: str | None
    provider: str
    model: str
    interface: str
    capabilities: list[str]
    status: str
    last_health_check: datetime | None
    available: bool
    unavailable_reason: str | None


class AgentCheck(BaseModel):
    agent_id: str
    ok: bool
    detail: str
    version: str | None
    status: str
    checked_at: datetime | None


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str | None
    method: str
    path: str
    status_code: int
    target: str | None
    request_id: str
    client: str | None
    detail: dict[str, Any]


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, Check]
