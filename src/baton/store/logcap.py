"""The rules every stored log row passes through (pure logic; no I/O).

For one execution, in the order rows arrive:

- ``seq`` continues the execution's sequence (1, 2, 3, ...), assigned here, never by callers.
- Time never goes backwards: a row older than the last stored one takes that row's
  time, and its own time is kept in ``metadata["original_timestamp"]``.
- The log is capped at ``max_bytes`` (message + metadata JSON, UTF-8 bytes). Once a
  DEBUG/INFO row would cross the cap it and every later DEBUG/INFO row are dropped (and
  counted), and one WARNING marker row "log truncated at N bytes" is stored instead.
  WARNING, ERROR and CRITICAL rows, and rows whose metadata has ``"final": true``, are
  always stored, so an execution's errors and final status survive any amount of output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baton.models import ExecutionLog, LogLevel
from baton.store.types import clean_text, dumps, utc

_ALWAYS_KEPT = LogLevel.WARNING.rank

# (id, execution_id, seq, step_id, level, message, timestamp, metadata_json, trace_id)
LogRow = tuple[str, str, int, str | None, str, str, datetime, str, str]
LOG_COLUMNS = (
    "id",
    "execution_id",
    "seq",
    "step_id",
    "level",
    "message",
    "timestamp",
    "metadata",
    "trace_id",
)


@dataclass(slots=True)
class LogState:
    """An execution's log bookkeeping, as stored on its ``executions`` row."""

    last_seq: int
    last_at: datetime | None
    log_bytes: int
    truncated: bool
    dropped: int


def byte_size(value: str) -> int:
    """UTF-8 length of ``value`` (without encoding ASCII text)."""
    return len(value) if value.isascii() else len(value.encode("utf-8"))


def admit(state: LogState, log: ExecutionLog, max_bytes: int) -> list[LogRow]:
    """The rows to store for ``log`` (none, itself, or a truncation marker); updates ``state``."""
    metadata: dict[str, Any] = log.metadata
    at = utc(log.timestamp)
    if state.last_at is not None and at < state.last_at:
        metadata = {**metadata, "original_timestamp": at.isoformat()}
        at = state.last_at
    message = clean_text(log.message)
    meta_json = dumps(metadata)
    size = byte_size(message) + byte_size(meta_json)
    important = log.level.rank >= _ALWAYS_KEPT or metadata.get("final") is True
    if important or (not state.truncated and state.log_bytes + size <= max_bytes):
        state.log_bytes += size
        return [_row(state, log, log.id, log.level, message, meta_json, at)]
    state.dropped += 1
    if state.truncated:
        return []
    state.truncated = True
    marker = f"log truncated at {state.log_bytes} bytes"
    marker_json = dumps({"truncated": True, "max_log_bytes": max_bytes})
    state.log_bytes += byte_size(marker) + byte_size(marker_json)
    return [_row(state, log, f"{log.id}-truncated", LogLevel.WARNING, marker, marker_json, at)]


def _row(
    state: LogState,
    log: ExecutionLog,
    row_id: str,
    level: LogLevel,
    message: str,
    meta_json: str,
    at: datetime,
) -> LogRow:
    state.last_seq += 1
    state.last_at = at
    return (
        row_id,
        log.execution_id,
        state.last_seq,
        log.step_id,
        level.value,
        message,
        at,
        meta_json,
        log.trace_id,
    )
