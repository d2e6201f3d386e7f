"""The dispatcher's group commit on a SQLite queue: enqueues from concurrent callers share
transactions, yet each caller returns only once its own job is in the queue, and a
failing job fails its own caller alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dbos import DBOSClient

from baton.workers.dbos_runtime import Dispatcher, system_database_url


@pytest.fixture
def dispatcher(tmp_path: Path) -> Iterator[Dispatcher]:
    d = Dispatcher(f"sqlite:///{tmp_path / 'baton.db'}")
    yield d
    d.close()


@pytest.fixture
def client(tmp_path: Path, dispatcher: Dispatcher) -> Iterator[DBOSClient]:
    c = DBOSClient(system_database_url=system_database_url(f"sqlite:///{tmp_path / 'baton.db'}"))
    yield c
    c.destroy()


def _at_once(calls: list[Callable[[], str]]) -> list[str | BaseException]:
    """Run ``calls`` in threads released together; each one's result or exception."""
    results: list[str | BaseException] = [RuntimeError("not run")] * len(calls)
    gate = threading.Barrier(len(calls))

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _queued(client: DBOSClient, queue: str) -> dict[str, str]:
    return {w.workflow_id: w.status for w in client.list_queued_workflows(queue_name=queue)}


def test_concurrent_enqueues_all_reach_the_queue(dispatcher: Dispatcher, client: DBOSClient) -> None:
    ids = [f"exec-{i:03d}" for i in range(40)]
    calls: list[Callable[[], str]] = [
        lambda i=i: dispatcher.enqueue(i, queue="q", priority=5) for i in ids  # type: ignore[misc]
    ]
    assert _at_once(calls) == ids  # each caller gets its own workflow id back
    queued = _queued(client, "q")
    assert sorted(queued) == ids and set(queued.values()) == {"ENQUEUED"}
    # queueing the same execution again (from many callers at once) queues it once
    again = _at_once([lambda: dispatcher.enqueue("exec-000", queue="q", priority=5)] * 8)
    assert again == ["exec-000"] * 8
    assert sorted(_queued(client, "q")) == ids


def test_a_failing_enqueue_fails_its_own_caller_alone(dispatcher: Dispatcher, client: DBOSClient) -> None:
    # "taken" already names another workflow: enqueueing an execution under that id conflicts
    client.enqueue({"workflow_name": "someone.else", "queue_name": "other", "workflow_id": "taken"}, "x")
    ids = [f"ok-{i:02d}" for i in range(12)]
    calls: list[Callable[[], str]] = [
        lambda i=i: dispatcher.enqueue(i, queue="q", priority=5) for i in ids  # type: ignore[misc]
    ]
    calls.insert(6, lambda: dispatcher.enqueue("x", queue="q", priority=5, job_id="taken"))
    results = _at_once(calls)
    failed = results.pop(6)
    assert isinstance(failed, Exception) and "taken" in str(failed)
    assert results == ids
    queued = _queued(client, "q")
    assert sorted(queued) == ids
