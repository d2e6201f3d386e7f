"""The DBOS side of Baton's workers: the durable workflow, its queue, and enqueueing.

One DBOS workflow, ``baton.execution(execution_id)``, wraps one step that runs (or
resumes) a Baton execution to its end. DBOS gives the queue (rows in its system
database: the PostgreSQL Baton already uses, schema ``dbos``; on SQLite a file beside
Baton's), the atomic hand-off of each queued job to exactly one worker, priorities, and
recovery: a workflow left PENDING by a dead executor is re-enqueued by
``DBOS._recover_pending_workflows`` and the step runs again on another worker, where
``Baton.resume`` restores the steps that had completed, so none of them runs twice.

Who declares an executor dead is Baton's business (:mod:`baton.workers.registry`); DBOS
alone only recovers an executor's workflows when that same executor restarts.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig, EnqueueOptions

from baton import __version__
from baton.store.engine import normalize_url

APP_NAME = "baton"
APP_VERSION = f"baton-{__version__}"
WORKFLOW_NAME = "baton.execution"

Runner = Callable[[str], Awaitable[str]]
_runner: Runner | None = None
_lock = threading.Lock()


def system_database_url(store_url: str) -> str:
    """Where DBOS keeps its queue: the same PostgreSQL database (schema ``dbos``), or for a
    SQLite store a ``<name>-dbos.db`` file beside it (SQLite has no schemas)."""
    parsed = normalize_url(store_url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").expanduser().resolve()
        return f"sqlite:///{path.with_name(path.stem + '-dbos' + (path.suffix or '.db'))}"
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def system_database_engine(url: str) -> sa.Engine | None:
    """For a SQLite queue, an engine tuned like Baton's own store (WAL, synchronous=NORMAL):
    DBOS's default rollback journal fsyncs several times per enqueue (~20 ms). Writers still
    take the lock at BEGIN (IMMEDIATE), as DBOS's own SQLite engine does. None for PostgreSQL.
    """
    if not url.startswith("sqlite"):
        return None
    engine = sa.create_engine(
        url, pool_size=10, max_overflow=10, connect_args={"timeout": 30, "check_same_thread": False}
    )

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


def set_runner(runner: Runner | None) -> None:
    """The coroutine that runs an execution in this process (the worker's)."""
    global _runner
    with _lock:
        _runner = runner


@DBOS.step(name="baton.run_execution")
async def run_execution(execution_id: str) -> str:
    runner = _runner
    if runner is None:
        raise RuntimeError("no Baton worker is running in this process")
    return await runner(execution_id)


@DBOS.workflow(name=WORKFLOW_NAME)
async def baton_execution(execution_id: str) -> str:
    return await run_execution(execution_id)


def launch(
    store_url: str, executor_id: str, *, queue: str, concurrency: int, polling_seconds: float = 0.5
) -> None:
    """Start DBOS in this process as executor ``executor_id`` and listen to ``queue``.

    Call it from a thread with no running event loop: workflows then run on DBOS's own
    background loop, apart from any server loop of the process.
    """
    url = system_database_url(store_url)
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": url,
        "system_database_engine": system_database_engine(url),
        "executor_id": executor_id,
        "application_version": APP_VERSION,
        "log_level": "WARNING",
        "enable_otlp": False,
        "sys_db_pool_size": 10,
    }
    DBOS(config=config)
    DBOS.listen_queues([queue])
    DBOS.launch()
    DBOS.register_queue(
        queue,
        worker_concurrency=concurrency,
        polling_interval_sec=polling_seconds,
        on_conflict="always_update",
    )


def recover(executor_ids: list[str]) -> int:
    """Re-enqueue the PENDING workflows of dead executors; returns how many."""
    return len(DBOS._recover_pending_workflows(executor_ids))


def shutdown() -> None:
    DBOS.destroy(workflow_completion_timeout_sec=0)


@dataclass(slots=True)
class _Job:
    """One enqueue waiting for a group commit."""

    options: EnqueueOptions
    execution_id: str
    woken: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to commit the next group
    queued: bool = False
    error: BaseException | None = None


class Dispatcher:
    """Enqueues executions for the workers, from any process (a DBOS client, no launch).

    On a SQLite queue, enqueues from concurrent requests share a transaction (group
    commit): the first caller commits what is waiting, the callers that arrive meanwhile
    wait and the first of them commits the next group. Each caller returns once its own
    enqueue is committed; a group that fails is retried one enqueue at a time, so each
    caller gets its own answer.
    """

    def __init__(self, store_url: str) -> None:
        url = system_database_url(store_url)
        # the client never migrates; the first process to use a database creates the schema
        DBOS.migrate(url)
        self._engine = system_database_engine(url)
        self._client = DBOSClient(
            system_database_url=url,
            system_database_engine=self._engine,
            application_name=APP_NAME,
            system_database_pool_size=10,
        )
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._committing = False

    def enqueue(self, execution_id: str, *, queue: str, priority: int, job_id: str | None = None) -> str:
        """Queue ``execution_id`` for a worker; the DBOS workflow id defaults to the
        execution id, so queueing the same execution twice queues it once."""
        options: EnqueueOptions = {
            "workflow_name": WORKFLOW_NAME,
            "queue_name": queue,
            "workflow_id": job_id or execution_id,
            "priority": priority,
        }
        if self._engine is None:  # PostgreSQL: the client's own connection pool
            handle: Any = self._client.enqueue(options, execution_id)
            return str(handle.get_workflow_id())
        job = _Job(options, execution_id)
        with self._lock:
            self._waiting.append(job)
            job.lead = not self._committing
            self._committing = True
        if not job.lead:
            job.woken.wait()
        if job.lead:
            self._commit_next_group()
        if job.error is not None:
            raise job.error
        return str(options["workflow_id"])

    def _commit_next_group(self) -> None:
        with self._lock:
            group, self._waiting = self._waiting, []
        try:
            self._commit(group)
        finally:
            with self._lock:
                if self._waiting:  # arrived meanwhile: the first of them commits them
                    self._waiting[0].lead = True
                    self._waiting[0].woken.set()
                else:
                    self._committing = False
            for job in group:
                if not job.queued and job.error is None:
                    job.error = RuntimeError("the enqueue was interrupted")
                if not job.lead:
                    job.woken.set()

    def _commit(self, group: list[_Job]) -> None:
        if len(group) > 1:
            assert self._engine is not None
            try:
                with self._engine.begin() as conn:
                    for job in group:
                        self._client.enqueue_in_transaction(conn, job.options, job.execution_id)
            except Exception:
                pass  # nothing committed: each one alone below, with its own error
            else:
                for job in group:
                    job.queued = True
                return
        for job in group:
            try:
                self._client.enqueue(job.options, job.execution_id)
                job.queued = True
            except Exception as exc:
                job.error = exc

    def check(self) -> None:
        self._client.check_connection()

    def close(self) -> None:
        self._client.destroy()
        if self._engine is not None:
            self._engine.dispose()
