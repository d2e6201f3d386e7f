"""The JSON export format of executions and configuration versions (no I/O here).

An execution document::

    {"format": "baton.execution", "format_version": 1, "exported_at": "...",
     "execution": {<ExecutionContext fields>}, "workflow_snapshot": {...},
     "log_bytes": 123, "log_truncated": false,
     "steps": [{<StepRun fields>}, ...], "logs": [{<ExecutionLog fields incl. seq>}, ...]}

A configuration version document (one per version, in a list)::

    {"format": "baton.config_version", "format_version": 1, "version": "1.2.0",
     "content": "...", "content_hash": "<sha256 hex>", "applied_at": "...", "applied_by": "..."}
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError, field_validator

from baton.models import ExecutionContext, ExecutionLog, StepRun
from baton.store.base import ConfigVersion, ExecutionRecord
from baton.store.errors import IntegrityViolation, StoreError
from baton.store.types import utc

EXECUTION_FORMAT = "baton.execution"
CONFIG_FORMAT = "baton.config_version"
FORMAT_VERSION = 1


def content_hash(content: str) -> str:
    """The SHA-256 hex digest identifying a configuration's content."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class ExecutionBundle:
    """An execution with everything recorded about it, as read from a document."""

    record: ExecutionRecord
    steps: list[StepRun]
    logs: list[ExecutionLog]
    usage: list[dict[str, Any]] = field(default_factory=list)  # rows for the usage table


_USAGE_INTS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def usage_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """One usage row (tokens and cost of an agent call) as JSON-able data."""
    return {
        "step_id": row["step_id"], "agent_id": row["agent_id"], "model": row["model"],
        "workflow_id": row["workflow_id"], **{k: int(row[k]) for k in _USAGE_INTS},
        "cost_usd": float(row["cost_usd"]), "at": utc(row["at"]).isoformat(),
    }


def _usage_rows(execution_id: str, items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise StoreError("execution export: usage must be a list")
    rows = []
    for item in items:
        try:
            rows.append({
                "execution_id": execution_id, "step_id": str(item["step_id"]),
                "agent_id": str(item["agent_id"]), "model": str(item["model"]),
                "workflow_id": str(item["workflow_id"]), **{k: int(item[k]) for k in _USAGE_INTS},
                "cost_usd": float(item["cost_usd"]), "at": utc(datetime.fromisoformat(str(item["at"]))),
            })
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"execution export {execution_id!r}: bad usage row ({exc})") from None
    return rows


class _ImportedContext(ExecutionContext):
    # An imported execution ran elsewhere: its workspace need not exist on this machine.
    @field_validator("workspace_dir")
    @classmethod
    def _workspace(cls, value: str) -> str:
        return value


def execution_document(
    record: ExecutionRecord, steps: list[StepRun], logs: list[ExecutionLog]
) -> dict[str, Any]:
    """The JSON-able export of one execution."""
    return {
        "format": EXECUTION_FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "execution": record.context.model_dump(mode="json"),
        "workflow_snapshot": record.workflow_snapshot,
        "log_bytes": record.log_bytes,
        "log_truncated": record.log_truncated,
        "steps": [s.model_dump(mode="json") for s in steps],
        "logs": [log.model_dump(mode="json") for log in logs],
    }


def read_execution_document(data: dict[str, Any]) -> ExecutionBundle:
    """Validate an execution document; raise StoreError / IntegrityViolation if it is bad."""
    _check_format(data, EXECUTION_FORMAT)
    try:
        ctx_data = _ImportedContext.model_validate(data["execution"]).model_dump()
        ctx = ExecutionContext.model_construct(**ctx_data)
        steps = [StepRun.model_validate(s) for s in data.get("steps", [])]
        logs = [ExecutionLog.model_validate(row) for row in data.get("logs", [])]
    except (KeyError, TypeError) as exc:
        raise StoreError(f"execution export is missing {exc}; was it written by Baton?") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StoreError(f"execution export is invalid at {where}: {first['msg']}") from None
    for owner in [s.execution_id for s in steps] + [g.execution_id for g in logs]:
        if owner != ctx.id:
            raise IntegrityViolation(f"execution export {ctx.id!r} contains a row of execution {owner!r}")
    logs.sort(key=lambda row: row.seq)
    previous_seq, previous_at = 0, None
    for row in logs:
        at = utc(row.timestamp)
        if row.seq <= previous_seq:
            raise IntegrityViolation(
                f"execution export {ctx.id!r}: log seq {row.seq} is not positive and unique"
            )
        if previous_at is not None and at < previous_at:
            raise IntegrityViolation(
                f"execution export {ctx.id!r}: log seq {row.seq} is older than the row before it"
            )
        previous_seq, previous_at = row.seq, at
    snapshot = data.get("workflow_snapshot") or {}
    if not isinstance(snapshot, dict):
        raise StoreError("execution export: workflow_snapshot must be an object")
    record = ExecutionRecord(
        context=ctx,
        workflow_snapshot=snapshot,
        log_bytes=int(data.get("log_bytes", 0)),
        log_truncated=bool(data.get("log_truncated", False)),
    )
    return ExecutionBundle(record=record, steps=steps, logs=logs,
                           usage=_usage_rows(ctx.id, data.get("usage", [])))


def config_document(version: ConfigVersion) -> dict[str, Any]:
    """The JSON-able export of one applied configuration version."""
    return {
        "format": CONFIG_FORMAT,
        "format_version": FORMAT_VERSION,
        "version": version.version,
        "content": version.content,
        "content_hash": version.content_hash,
        "applied_at": version.applied_at.isoformat(),
        "applied_by": version.applied_by,
    }


def read_config_document(data: dict[str, Any]) -> ConfigVersion:
    """Validate one configuration version document (including its content hash)."""
    _check_format(data, CONFIG_FORMAT)
    try:
        version = ConfigVersion(
            version=str(data["version"]),
            content=str(data["content"]),
            content_hash=str(data["content_hash"]),
            applied_at=utc(datetime.fromisoformat(str(data["applied_at"]))),
            applied_by=str(data["applied_by"]),
        )
    except KeyError as exc:
        raise StoreError(f"configuration export is missing {exc}; was it written by Baton?") from None
    except ValueError as exc:
        raise StoreError(f"configuration export has a bad applied_at: {exc}") from None
    if content_hash(version.content) != version.content_hash:
        raise IntegrityViolation(
            f"configuration version {version.version!r}: content does not match its "
            "content_hash; the export was modified"
        )
    return version


def _check_format(data: Any, expected: str) -> None:
    if not isinstance(data, dict) or data.get("format") != expected:
        raise StoreError(f'not a {expected} export (missing "format": "{expected}")')
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise StoreError(
            f"{expected} export has format_version {version!r}; this Baton reads version "
            f"{FORMAT_VERSION}, upgrade Baton to import it"
        )
