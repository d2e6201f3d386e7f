"""Executions export to JSON and import back unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from baton.models import ExecutionContext, ExecutionStatus, LogLevel, StepRun, StepStatus
from baton.store import AlreadyExists, IntegrityViolation, NotFound, StoreError
from baton.store.sql import SqlStore
from tests.store.helpers import log_row

NewExecution = Callable[..., ExecutionContext]


@pytest.fixture
def finished(store: SqlStore, new_execution: NewExecution) -> ExecutionContext:
    """A finished execution with two steps and a handful of log rows."""
    ctx = new_execution(parameters={"base": "main"}, status=ExecutionStatus.RUNNING)
    t0 = datetime(2026, 8, 1, 10, 0, tzinfo=UTC)
    store.save_step(
        StepRun(
            execution_id=ctx.id,
            step_id="diff",
            status=StepStatus.COMPLETED,
            agent_id="sh",
            attempt=1,
            started_at=t0,
            ended_at=t0 + timedelta(seconds=1),
            output={"text": "diff --git a/x b/x"},
        ),
        [log_row(ctx, "step diff completed", step_id="diff", timestamp=t0)],
    )
    store.save_step(
        StepRun(
            execution_id=ctx.id,
            step_id="review",
            status=StepStatus.FAILED,
            agent_id="claude",
            attempt=3,
            started_at=t0,
            error="rate limited",
            ended_at=t0 + timedelta(seconds=9),
            error_type="RateLimited",
        ),
        [
            log_row(
                ctx, "retrying", level=LogLevel.WARNING, step_id="review", timestamp=t0 - timedelta(seconds=1)
            ),  # clamped on the way in
            log_row(
                ctx,
                "step review failed",
                level=LogLevel.ERROR,
                step_id="review",
                timestamp=t0 + timedelta(seconds=9),
                metadata={"final": True},
            ),
        ],
    )
    store.set_execution_status(ctx.id, ExecutionStatus.FAILED, error="review failed")
    return ctx


def test_export_import_round_trip(
    store: SqlStore, make_store: Callable[..., SqlStore], finished: ExecutionContext
) -> None:
    document = json.loads(json.dumps(store.export_execution(finished.id)))  # JSON-able
    target = make_store(other=True)

    assert document["format"] == "baton.execution" and document["format_version"] == 1
    assert target.import_execution(document) == finished.id

    source_record, target_record = store.get_execution(finished.id), target.get_execution(finished.id)
    assert source_record is not None and target_record is not None
    assert target_record.context.model_dump() == source_record.context.model_dump()
    assert target_record.workflow_snapshot == source_record.workflow_snapshot
    assert (target_record.log_bytes, target_record.log_truncated) == (
        source_record.log_bytes,
        source_record.log_truncated,
    )
    assert [s.model_dump() for s in target.list_steps(finished.id)] == [
        s.model_dump() for s in store.list_steps(finished.id)
    ]
    assert [g.model_dump() for g in target.list_logs(finished.id)] == [
        g.model_dump() for g in store.list_logs(finished.id)
    ]
    assert target.export_execution(finished.id)["logs"] == document["logs"]


def test_imported_execution_continues_its_sequence_and_clock(
    store: SqlStore, make_store: Callable[..., SqlStore], finished: ExecutionContext
) -> None:
    target = make_store(other=True)
    target.import_execution(store.export_execution(finished.id))
    last = store.list_logs(finished.id)[-1]

    target.append_logs([log_row(finished, "after import", timestamp=datetime(2020, 1, 1, tzinfo=UTC))])

    newest = target.list_logs(finished.id)[-1]
    assert newest.seq == last.seq + 1
    assert newest.timestamp == last.timestamp


def test_import_refuses_an_existing_id(store: SqlStore, finished: ExecutionContext) -> None:
    document = store.export_execution(finished.id)
    with pytest.raises(AlreadyExists, match=finished.id):
        store.import_execution(document)


def test_import_validates_the_document(
    store: SqlStore, make_store: Callable[..., SqlStore], finished: ExecutionContext
) -> None:
    document = store.export_execution(finished.id)
    target = make_store(other=True)

    with pytest.raises(StoreError, match="format_version 2"):
        target.import_execution({**document, "format_version": 2})
    with pytest.raises(StoreError, match=r"not a baton\.execution export"):
        target.import_execution({"execution": document["execution"]})
    with pytest.raises(StoreError, match="invalid at status"):
        target.import_execution({**document, "execution": {**document["execution"], "status": "exploded"}})
    reordered = [
        {**row, "timestamp": "2001-01-01T00:00:00Z"} if row["seq"] == 3 else row for row in document["logs"]
    ]
    with pytest.raises(IntegrityViolation, match="older than the row before it"):
        target.import_execution({**document, "logs": reordered})
    foreign = [{**document["steps"][0], "execution_id": "someone-else"}]
    with pytest.raises(IntegrityViolation, match="someone-else"):
        target.import_execution({**document, "steps": foreign})
    assert target.get_execution(finished.id) is None


def test_import_accepts_a_workspace_that_does_not_exist_here(
    store: SqlStore, make_store: Callable[..., SqlStore], finished: ExecutionContext
) -> None:
    document = store.export_execution(finished.id)
    document["execution"]["workspace_dir"] = "/nonexistent/ci/runner/workspace"
    target = make_store(other=True)

    target.import_execution(document)

    record = target.get_execution(finished.id)
    assert record is not None
    assert record.context.workspace_dir == "/nonexistent/ci/runner/workspace"


def test_export_of_unknown_execution_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound):
        store.export_execution("missing")
