"""A Baton worker: takes executions from a DBOS queue and runs them to their end.

Identity: a worker's id (``--worker-id``, ``BATON_WORKER_ID``, else ``host:pid``) is at
once its DBOS executor id, the ``owner`` it writes on the executions it runs, and its row
in the ``workers`` table. A heartbeat thread refreshes all three every
``deployment.heartbeat_seconds`` and, on the same beat, looks for workers silent for
``deployment.dead_after_seconds``: the one worker that wins the claim on a dead one has
DBOS re-enqueue that executor's workflows, and whichever worker dequeues one resumes the
execution from its last completed step.

Running an execution (:meth:`Worker.run`): skip it if it already ended (cancelled while
queued, or finished before a crash let DBOS see it); claim it in the store (only one live
owner at a time: a worker waits while another live worker still holds it); check out its
``repo`` if it has one; then ``Baton.resume`` when it has step runs (a crash, an
approval) or ``Baton.start_pending`` when it has none, under its ``timeout_seconds``.

Stopping: SIGTERM/SIGINT drain the worker (no new execution starts; those dequeued
meanwhile are parked) for up to ``--drain-seconds``; then it marks itself ``stopped`` and
exits without touching the executions still running, which other workers take over at
once, from their last completed step, like after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from baton.engine import Baton
from baton.engine.core import ExecutionHandle, ExecutionResult
from baton.errors import BatonError
from baton.models import Configuration, ExecutionStatus
from baton.models.errors import IllegalTransition
from baton.store.sql import SqlStore
from baton.workers import dbos_runtime
from baton.workers.registry import DRAINING, STOPPED, WorkerRegistry
from baton.workers.submissions import Submission, SubmissionStore
from baton.workspace.remote import RepoNotAllowed, parse_repo, transport_args

log = logging.getLogger("baton.worker")

EXIT_FENCED = 75  # the worker was declared dead while it ran; its supervisor restarts it


def default_worker_id() -> str:
    return os.environ.get("BATON_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How one worker process runs."""

    worker_id: str
    queue: str
    concurrency: int
    heartbeat_seconds: float
    dead_after_seconds: float
    polling_seconds: float = 0.5
    drain_seconds: float = 30.0


class Worker:
    """Runs queued executions of one configuration with one store."""

    def __init__(
        self,
        configuration: Configuration,
        store: SqlStore,
        root: Path,
        settings: WorkerSettings,
        store_url: str,
        config_path: Path | None = None,
    ) -> None:
        # settings.concurrency bounds this worker (its queue's concurrency); the configured
        # global.max_concurrent_executions bounds every process on the store (leases)
        self.configuration = configuration
        self.settings = settings
        self.store = store
        self.store_url = store_url
        # the observers `Baton.from_config` would attach: logs, and traces/metrics when enabled
        from baton.observability.setup import setup

        self.baton = Baton(self.configuration, store, root=root, observers=setup(self.configuration, root),
                           config_path=config_path)
        self.baton.require_applied_config()  # refuse to serve a configuration edited but not applied
        self.baton.owner = settings.worker_id
        self.registry = WorkerRegistry(store.engine)
        self.submissions = SubmissionStore(store.engine)
        self.draining = False
        self.recovered: list[str] = []
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._running: dict[str, ExecutionHandle] = {}

    @property
    def id(self) -> str:
        return self.settings.worker_id

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Register, launch DBOS on the queue, and start the heartbeat (no event loop here)."""
        s = self.settings
        self.registry.register(
            s.worker_id, queue=s.queue, host=socket.gethostname(), pid=os.getpid(), concurrency=s.concurrency
        )
        dbos_runtime.set_runner(self.run)
        dbos_runtime.launch(
            self.store_url,
            s.worker_id,
            queue=s.queue,
            concurrency=s.concurrency,
            polling_seconds=s.polling_seconds,
        )
        self._beat = threading.Thread(target=self._heartbeat_loop, name="baton-heartbeat", daemon=True)
        self._beat.start()
        log.info("worker %s listening on queue %s (concurrency %d)", s.worker_id, s.queue, s.concurrency)

    def drain_and_exit(self, code: int = 0) -> None:
        """Stop starting executions, wait for running ones (up to ``drain_seconds``), then
        exit the process leaving whatever still runs to the other workers."""
        self.draining = True
        with contextlib.suppress(Exception):
            self.registry.set_status(self.id, DRAINING)
        deadline = time.monotonic() + self.settings.drain_seconds
        while self._running and time.monotonic() < deadline:
            time.sleep(0.1)
        left = sorted(self._running)
        with contextlib.suppress(Exception):
            self.registry.set_status(self.id, STOPPED)
        if left:
            log.warning(
                "worker %s stops with %d execution(s) still running; other workers resume them: %s",
                self.id,
                len(left),
                ", ".join(left),
            )
        self._stop.set()
        _kill_child_groups()
        logging.shutdown()
        os._exit(code)

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            log.info("worker %s got signal %d: draining", self.id, signum)
            threading.Thread(target=self.drain_and_exit, daemon=True).start()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # -- heartbeat and recovery -------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        s = self.settings
        while not self._stop.wait(s.heartbeat_seconds):
            self.beat_once()

    def beat_once(self) -> None:
        try:
            if not self.registry.beat(self.id):
                log.error(
                    "worker %s was declared dead by another worker while it ran; its "
                    "executions belong to others now: exiting",
                    self.id,
                )
                _kill_child_groups()
                os._exit(EXIT_FENCED)
            self.store.heartbeat(self.id)
            dead = self.registry.claim_dead(self.id, timedelta(seconds=self.settings.dead_after_seconds))
            if dead:
                count = dbos_runtime.recover(dead)
                self.recovered.extend(dead)
                log.warning(
                    "worker %s recovered %d queued job(s) of dead worker(s) %s",
                    self.id,
                    count,
                    ", ".join(dead),
                )
        except Exception as exc:  # a database hiccup: try again on the next beat
            log.warning("worker %s heartbeat failed: %s", self.id, " ".join(str(exc).split()))

    # -- running one execution ---------------------------------------------------------------------
    async def run(self, execution_id: str) -> str:
        """Run (or resume) one execution to its end; returns its final status."""
        if self.draining:
            await _park_forever()
        store = self.store
        record = await asyncio.to_thread(store.get_execution, execution_id)
        if record is None:
            log.error("queued execution %s does not exist; skipping it", execution_id)
            return "missing"
        if record.context.status.is_terminal:
            return record.context.status.value
        while not await asyncio.to_thread(store.claim_execution, execution_id, self.id):
            await asyncio.sleep(self.settings.heartbeat_seconds)
            record = await asyncio.to_thread(store.get_execution, execution_id)
            if record is None or record.context.status.is_terminal:
                return "missing" if record is None else record.context.status.value
        if self.draining:
            await _park_forever()
        submission = await asyncio.to_thread(self.submissions.get, execution_id)
        if submission is not None and submission.repo:
            error = await _checkout(Path(record.context.workspace_dir), submission)
            if error is not None:
                return self._fail(execution_id, error)
        started = None
        if submission is not None:
            started = await asyncio.to_thread(self.submissions.mark_started, execution_id)
        steps = await asyncio.to_thread(store.list_steps, execution_id)
        if steps or record.context.status is not ExecutionStatus.PENDING:
            handle = self.baton.resume(execution_id)
        else:
            handle = self.baton.start_pending(execution_id)
        self._running[execution_id] = handle
        try:
            return await self._wait(handle, submission, started)
        finally:
            self._running.pop(execution_id, None)

    async def _wait(
        self, handle: ExecutionHandle, submission: Submission | None, started: datetime | None
    ) -> str:
        timeout = submission.timeout_seconds if submission is not None else None
        try:
            if timeout and started is not None:
                remaining = timeout - (datetime.now(UTC) - started).total_seconds()
                try:
                    result = await asyncio.wait_for(asyncio.shield(handle.wait()), max(remaining, 0.01))
                except TimeoutError:
                    with contextlib.suppress(IllegalTransition):
                        self.store.set_execution_status(
                            handle.id,
                            ExecutionStatus.FAILED,
                            error=f"timed out after {timeout}s (timeout_seconds of the request)",
                        )
                    handle.cancel()
                    result = await handle.wait()
            else:
                result = await handle.wait()
        except Exception as exc:  # the engine already recorded the failure on the execution
            log.error("execution %s failed in the engine: %s", handle.id, " ".join(str(exc).split()))
            return ExecutionStatus.FAILED.value
        await self._publish(handle, result)
        return result.status.value

    async def _publish(self, handle: ExecutionHandle, result: ExecutionResult) -> None:
        """Push and open the pull request of a built-in writing workflow, as ``baton run`` does."""
        if handle.workflow.config.get("publish") not in ("pull_request", "pr_fix"):
            return
        if result.status is not ExecutionStatus.COMPLETED:
            return
        from baton.integrations.hooks import publish

        try:
            published = await publish(self.baton, handle.workflow, result)
        except BatonError as exc:
            log.error("execution %s: publishing failed: %s", handle.id, " ".join(str(exc).split()))
            return
        for note in published.notes:
            log.info("execution %s: %s", handle.id, note)

    def _fail(self, execution_id: str, error: str) -> str:
        with contextlib.suppress(IllegalTransition):
            self.store.set_execution_status(execution_id, ExecutionStatus.FAILED, error=error)
        return ExecutionStatus.FAILED.value


async def _park_forever() -> None:
    """A draining worker never starts what it dequeued: it waits to exit; another worker
    recovers the job once this one is marked stopped."""
    while True:
        await asyncio.sleep(3600)


async def _checkout(workspace: Path, submission: Submission) -> str | None:
    """Clone the submission's repo into its (empty) workspace; an error message or None."""
    if (workspace / ".git").exists():
        return None  # cloned before a crash
    try:
        source = parse_repo(str(submission.repo))
    except RepoNotAllowed as exc:
        return str(exc)
    argv = ["git", *transport_args(local=source.is_local), "clone", "--quiet", "--depth", "1"]
    if submission.ref:
        argv += ["--branch", submission.ref]
    argv += ["--", source.url, str(workspace)]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 600)
    except TimeoutError:
        proc.kill()
        return f"git clone of {submission.repo} took longer than 600s"
    if proc.returncode != 0:
        reason = " ".join(err.decode(errors="replace").split())[:300]
        return f"git clone of {submission.repo} failed: {reason}"
    return None


def _kill_child_groups() -> None:
    """SIGKILL the process groups of this process's children (agent CLIs run in their own)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            with contextlib.suppress(OSError):
                os.killpg(int(fields[2]), signal.SIGKILL) if int(fields[2]) != os.getpgid(me) else os.kill(
                    int(entry.name), signal.SIGKILL
                )
