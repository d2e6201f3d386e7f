"""A batched step write that PostgreSQL picks as a deadlock's victim is run again, not failed:
another transaction locked the same executions in the other order, and rolling back is all it
takes (a worker's executions failed with "deadlock detected" once all their steps were done)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, text

from baton.models import ExecutionContext, StepRun, StepStatus
from baton.store.base import StepWrite
from baton.store.sql import SqlStore


def test_a_step_write_chosen_as_a_deadlock_victim_is_run_again(
    backend: str, make_store: Callable[..., SqlStore], new_execution: Callable[..., ExecutionContext],
    store_urls: tuple[str, str],
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite takes its write lock whole (BEGIN IMMEDIATE): no deadlock to break")
    store = make_store()
    first, second = sorted(new_execution().id for _ in range(2))
    writes = [StepWrite(StepRun(execution_id=x, step_id="s", status=StepStatus.RUNNING)) for x in (first, second)]
    failures: list[BaseException] = []

    def save() -> None:
        try:
            store.save_steps(writes)
        except BaseException as exc:
            failures.append(exc)

    other = create_engine(store_urls[0])
    try:
        with other.connect() as conn:
            conn.execute(text("UPDATE executions SET updated_at = now() WHERE id = :i"), {"i": second})
            writer = threading.Thread(target=save)
            writer.start()  # locks `first` (ids in order), then waits for `second`
            time.sleep(0.5)
            # waits for `first`: a deadlock; the writer has waited longer, so it is the victim
            conn.execute(text("UPDATE executions SET updated_at = now() WHERE id = :i"), {"i": first})
            conn.commit()
        writer.join(30)
    finally:
        other.dispose()
    assert not writer.is_alive()
    assert failures == []
    assert [s.status for x in (first, second) for s in store.list_steps(x)] == [StepStatus.RUNNING] * 2
