"""Small helpers shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from baton.models import ExecutionContext, ExecutionLog, LogLevel


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def log_row(
    ctx: ExecutionContext, message: str, *, level: LogLevel = LogLevel.INFO, **fields: Any
) -> ExecutionLog:
    """An ExecutionLog of ``ctx`` carrying its trace id."""
    return ExecutionLog(execution_id=ctx.id, message=message, level=level, trace_id=ctx.trace_id, **fields)
