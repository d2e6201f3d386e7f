"""Log rows are capped per execution (errors and the final row survive) and time-ordered."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton.models import ExecutionContext, ExecutionStatus, LogLevel, StepRun, StepStatus
from baton.store.sql import SqlStore
from tests.store.helpers import log_row

NewExecution = Callable[..., ExecutionContext]
CAP = 2_000


def stored_size(message: str, metadata: dict[str, object]) -> int:
    meta = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
    return len(message.encode()) + len(meta.encode())


@pytest.fixture
def capped(make_store: Callable[..., SqlStore]) -> SqlStore:
    return make_store(max_log_bytes=CAP)


def test_cap_drops_chatter_but_keeps_errors_and_the_final_row(
    capped: SqlStore, new_execution: NewExecution
) -> None:
    ctx = new_execution(into=capped, status=ExecutionStatus.RUNNING)
    chatter = [log_row(ctx, f"output line {i:03d} " + "x" * 80, step_id="s") for i in range(40)]
    capped.append_logs(chatter[:30])
    capped.append_logs(
        [
            *chatter[30:],
            log_row(ctx, "agent failed: exit 2", level=LogLevel.ERROR, step_id="s"),
            log_row(ctx, "debug noise", level=LogLevel.DEBUG),
            log_row(ctx, "retrying", level=LogLevel.WARNING, step_id="s"),
            log_row(ctx, "critical", level=LogLevel.CRITICAL),
        ]
    )
    capped.save_step(
        StepRun(execution_id=ctx.id, step_id="s", status=StepStatus.FAILED),
        [log_row(ctx, "execution failed", metadata={"final": True, "status": "failed"})],
    )

    rows = capped.list_logs(ctx.id)
    messages = [g.message for g in rows]
    kept_chatter = [m for m in messages if m.startswith("output line")]
    per_line = stored_size(chatter[0].message, {})
    assert len(kept_chatter) == CAP // per_line  # every line that fitted, in order
    assert kept_chatter == [c.message for c in chatter[: len(kept_chatter)]]
    marker = f"log truncated at {len(kept_chatter) * per_line} bytes"
    assert messages[len(kept_chatter) :] == [
        marker,
        "agent failed: exit 2",
        "retrying",
        "critical",
        "execution failed",
    ]
    assert rows[len(kept_chatter)].level is LogLevel.WARNING
    assert rows[-1].metadata == {"final": True, "status": "failed"}
    assert [g.seq for g in rows] == list(range(1, len(rows) + 1))

    record = capped.get_execution(ctx.id)
    assert record is not None and record.log_truncated
    assert record.log_bytes == sum(stored_size(g.message, g.metadata) for g in rows)
    assert record.log_bytes > CAP  # kept rows may go over the cap; chatter may not


def test_under_the_cap_nothing_is_dropped(capped: SqlStore, new_execution: NewExecution) -> None:
    ctx = new_execution(into=capped)
    rows = [log_row(ctx, "y" * 90, level=LogLevel.DEBUG) for _ in range(CAP // 100)]

    capped.append_logs(rows)

    assert len(capped.list_logs(ctx.id)) == len(rows)
    record = capped.get_execution(ctx.id)
    assert record is not None and not record.log_truncated
    assert record.log_bytes == sum(stored_size(r.message, {}) for r in rows)


def test_cap_counts_utf8_bytes_of_message_and_metadata(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    store = make_store(max_log_bytes=100)
    ctx = new_execution(into=store)
    row = log_row(ctx, "é" * 20, metadata={"k": "ü" * 10})  # 40 + 28 bytes

    store.append_logs([row, log_row(ctx, "z" * 40)])

    assert [g.message for g in store.list_logs(ctx.id)] == ["é" * 20, "log truncated at 68 bytes"]


def test_caps_are_per_execution(capped: SqlStore, new_execution: NewExecution) -> None:
    full, fresh = new_execution(into=capped), new_execution(into=capped)
    capped.append_logs([log_row(full, "x" * 500) for _ in range(5)])

    capped.append_logs([log_row(fresh, "hello")])

    assert [g.message for g in capped.list_logs(fresh.id)] == ["hello"]


OFFSETS = st.lists(st.integers(min_value=-3600, max_value=3600), min_size=1, max_size=25)


@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(OFFSETS, min_size=1, max_size=4))
def test_stored_time_never_goes_backwards(
    store: SqlStore, new_execution: NewExecution, batches: list[list[int]]
) -> None:
    ctx = new_execution()  # a fresh execution per example
    t0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    sent = []
    for offsets in batches:
        rows = [
            log_row(ctx, f"m{len(sent) + i}", timestamp=t0 + timedelta(seconds=s))
            for i, s in enumerate(offsets)
        ]
        sent.extend(rows)
        store.append_logs(rows)

    got = store.list_logs(ctx.id)

    assert [g.message for g in got] == [r.message for r in sent]
    assert [g.seq for g in got] == list(range(1, len(sent) + 1))
    high = None
    for original, stored in zip(sent, got, strict=True):
        high = original.timestamp if high is None else max(high, original.timestamp)
        assert stored.timestamp == high
        clamped = original.timestamp < high
        assert ("original_timestamp" in stored.metadata) == clamped
        if clamped:
            assert stored.metadata["original_timestamp"] == original.timestamp.isoformat()
