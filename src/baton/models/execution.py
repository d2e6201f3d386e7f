"""ExecutionContext, ExecutionLog and StepRun: what one run of a workflow is and leaves behind."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from baton.models.billing import billed_totals
from baton.models.enums import ExecutionStatus, LogLevel, StepStatus, Trigger


def _now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str = "") -> str:
    """A sortable, unique id (time-ordered UUIDv7 hex)."""
    return f"{prefix}{_uuid7_int():032x}"


def uuid7() -> uuid.UUID:
    return uuid.UUID(int=_uuid7_int())


def _uuid7_int() -> int:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64
    return value | (0b10 << 62) | (rand & ((1 << 62) - 1))


def new_trace_id() -> str:
    """A W3C trace id: 32 lowercase hex digits, not all zero."""
    return os.urandom(16).hex()


class ExecutionContext(BaseModel):
    """One execution of a workflow: where it runs, with what, and how far it got.

    Beyond the seed's fields: ``trace_id`` (shared by every ExecutionLog row and span),
    ``error`` (why it failed or was cancelled), ``config_hash`` and ``config_version``, and
    ``trigger`` (the front end that started it; None for executions recorded before Baton
    kept it).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    id: str = Field(default_factory=lambda: new_id())
    workflow_id: str
    workspace_dir: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    environment: dict[str, str] = Field(default_factory=dict)
    shared_config: dict[str, Any] = Field(default_factory=dict)
    start_time: datetime = Field(default_factory=_now)
    end_time: datetime | None = None
    status: ExecutionStatus = ExecutionStatus.PENDING
    trace_id: str = Field(default_factory=new_trace_id)
    error: str | None = None
    # the configuration it ran with: content hash of baton.yaml + .baton/workflows/*, and the
    # applied version with that content (None when it was never applied)
    config_hash: str | None = None
    config_version: str | None = None
    trigger: Trigger | None = None

    @field_validator("workspace_dir")
    @classmethod
    def _workspace(cls, value: str) -> str:
        if not os.path.isabs(value):
            raise ValueError(f"must be an absolute path, got {value!r}")
        if not os.path.isdir(value):
            raise ValueError(f"{value} is not a directory")
        if not os.access(value, os.W_OK | os.X_OK):
            raise ValueError(f"{value} is not writable")
        return value

    @field_validator("shared_config")
    @classmethod
    def _shared_config(cls, value: dict[str, Any]) -> dict[str, Any]:
        from baton.models.configuration import GlobalConfig

        unknown = set(value) - set(GlobalConfig.model_fields)
        if unknown:
            raise ValueError(f"unknown global setting(s): {', '.join(sorted(unknown))}")
        GlobalConfig.model_validate(value)
        return value


class ExecutionLog(BaseModel):
    """One log row of an execution; every engine event becomes one."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id())
    execution_id: str
    step_id: str | None = None
    level: LogLevel = LogLevel.INFO
    message: str
    timestamp: datetime = Field(default_factory=_now)
    metadata: dict[str, Any] = Field(default_factory=dict)
    trace_id: str
    seq: int = 0


def step_totals(runs: Iterable[StepRun]) -> tuple[dict[str, int], float]:
    """Billed token counts and cost summed over step runs (a cache hit bills nothing)."""
    return billed_totals((run.cache_hit, run.output) for run in runs)


class StepRun(BaseModel):
    """The durable record of one step in one execution (its latest attempt)."""

    model_config = ConfigDict(extra="forbid")

    execution_id: str
    step_id: str
    status: StepStatus = StepStatus.PENDING
    agent_id: str | None = None
    attempt: int = 0
    iteration: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    output: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None
    cache_hit: bool = False
