"""Two writers at once (separate stores, i.e. separate connection pools, like two processes)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from baton.models import ExecutionContext, ExecutionStatus, IllegalTransition, StepRun
from baton.store.sql import SqlStore
from tests.store.helpers import log_row

NewExecution = Callable[..., ExecutionContext]
ROUNDS = 15


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same instant; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def runner(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_only_one_of_two_concurrent_transitions_wins(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    a, b = make_store(), make_store()
    for _ in range(ROUNDS):
        ctx = new_execution(into=a, status=ExecutionStatus.RUNNING)

        results = race(
            lambda ctx=ctx: a.set_execution_status(ctx.id, ExecutionStatus.COMPLETED),
            lambda ctx=ctx: b.set_execution_status(ctx.id, ExecutionStatus.CANCELLED),
        )

        winners = [r for r in results if isinstance(r, ExecutionContext)]
        losers = [r for r in results if isinstance(r, IllegalTransition)]
        assert (len(winners), len(losers)) == (1, 1), results
        record = a.get_execution(ctx.id)
        assert record is not None and record.context.status is winners[0].status


def test_same_transition_from_two_writers_happens_once(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    a, b = make_store(), make_store()
    for _ in range(ROUNDS):
        ctx = new_execution(into=a)
        results = race(
            lambda ctx=ctx: a.set_execution_status(ctx.id, ExecutionStatus.RUNNING),
            lambda ctx=ctx: b.set_execution_status(ctx.id, ExecutionStatus.RUNNING),
        )
        assert sum(isinstance(r, ExecutionContext) for r in results) == 1, results
        assert sum(isinstance(r, IllegalTransition) for r in results) == 1, results


def test_only_one_worker_claims_an_execution(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    a, b = make_store(), make_store()
    for _ in range(ROUNDS):
        ctx = new_execution(into=a, status=ExecutionStatus.RUNNING)
        results = race(
            lambda ctx=ctx: a.claim_execution(ctx.id, "worker-a"),
            lambda ctx=ctx: b.claim_execution(ctx.id, "worker-b"),
        )
        assert sorted(results) == [False, True], results
        record = a.get_execution(ctx.id)
        assert record is not None
        assert record.owner == ("worker-a" if results[0] else "worker-b")


def test_concurrent_log_writers_get_distinct_gapless_sequence_numbers(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    a, b = make_store(), make_store()
    ctx = new_execution(into=a, status=ExecutionStatus.RUNNING)

    def writer(store: SqlStore, name: str) -> None:
        for i in range(40):
            if i % 2:
                store.append_logs([log_row(ctx, f"{name}-{i}-a"), log_row(ctx, f"{name}-{i}-b")])
            else:
                store.save_step(
                    StepRun(execution_id=ctx.id, step_id=name),
                    [log_row(ctx, f"{name}-{i}-a"), log_row(ctx, f"{name}-{i}-b")],
                )

    results = race(lambda: writer(a, "a"), lambda: writer(b, "b"))

    assert results == [None, None]
    rows = a.list_logs(ctx.id)
    assert [g.seq for g in rows] == list(range(1, 161))
    assert all(x.timestamp <= y.timestamp for x, y in itertools.pairwise(rows))
    for name in ("a", "b"):  # each writer's rows stay in its own order
        mine = [g.message for g in rows if g.message.startswith(name)]
        assert mine == [f"{name}-{i}-{p}" for i in range(40) for p in "ab"]
