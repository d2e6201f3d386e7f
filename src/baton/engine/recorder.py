"""Turns events into durable log rows and fans them out to live subscribers.

Step transitions are written with their log rows in one transaction, committed before
the execution starts its next step (with a :class:`GroupCommit`, together with other
executions' transitions of the same moment); chatty events (agent output) are buffered
and flushed with the next transition, when the buffer fills, or by a periodic flush.

A step's start is the exception: it is published at once but committed with the step's
next transition, or after ``_START_SECONDS`` (or with any earlier flush) if the step is
still running then. A step that ends at once costs one transaction instead of two; a
process killed before the start was committed leaves the step not started, and resuming
runs it again, as it does a step left RUNNING.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

from baton.engine.commit import GroupCommit
from baton.models import ExecutionLog, StepRun
from baton.models.events import AgentOutput, Event, to_log
from baton.observability.redact import redact
from baton.store.base import StepWrite, Store, UsageRecord

_FLUSH_ROWS = 200
_FLUSH_SECONDS = 0.5
_START_SECONDS = 0.1


class Recorder:
    """Persists an execution's events and broadcasts them to subscribers."""

    def __init__(self, store: Store, trace_id: str,
                 observers: Sequence[Callable[[Event], None]] = (),
                 committer: GroupCommit | None = None) -> None:
        self.store = store
        self.committer = committer
        self._unsettled: list[asyncio.Future[None]] = []
        self.trace_id = trace_id
        self.observers = list(observers)
        self.history: list[Event] = []
        self._subscribers: list[asyncio.Queue[Event | None]] = []
        self._buffer: list[ExecutionLog] = []
        self._flusher: asyncio.Task[None] | None = None
        self._starting: dict[str, StepRun] = {}  # published, not committed yet
        self._start_timer: asyncio.TimerHandle | None = None
        self._closed = False

    # -- fan-out ---------------------------------------------------------------------------
    def _publish(self, event: Event) -> None:
        self.history.append(event)
        for observer in self.observers:
            observer(event)
        for queue in self._subscribers:
            queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[Event]:
        """Every event so far, then live ones until the execution ends."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        for event in self.history:
            queue.put_nowait(event)
        if self._closed:
            queue.put_nowait(None)
        else:
            self._subscribers.append(queue)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(queue)

    # -- persistence -------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Record an event; agent output is buffered, everything else is written now."""
        event = redact(event)
        self._publish(event)
        self._buffer.append(to_log(event, self.trace_id))
        if not isinstance(event, AgentOutput) or len(self._buffer) >= _FLUSH_ROWS:
            self.flush()
        elif self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._delayed_flush())

    def start(self, run: StepRun, event: Event) -> None:
        """A step's RUNNING state and its event: published now, committed with the step's
        next transition or within ``_START_SECONDS``."""
        run, event = redact(run), redact(event)
        self._publish(event)
        self._buffer.append(to_log(event, self.trace_id))
        self._starting[run.step_id] = run
        if self._start_timer is None:
            self._start_timer = asyncio.get_running_loop().call_later(_START_SECONDS, self._timed_flush)

    def transition(self, run: StepRun, *events: Event, usage: UsageRecord | None = None) -> None:
        """Commit a step's new state with its events, buffered rows and usage, atomically."""
        run, events = redact(run), redact(events)
        for event in events:
            self._publish(event)
            self._buffer.append(to_log(event, self.trace_id))
        # this write supersedes an uncommitted start
        if self._starting.pop(run.step_id, None) is not None and not self._starting:
            self._cancel_start_timer()
        logs, self._buffer = self._buffer, []
        self._write(StepWrite(run, logs, usage))

    def finish(self, event: Event,
               commit: Callable[[list[ExecutionLog]], None]) -> None:
        """Publish the final event and hand its row, with every buffered row, to ``commit``
        (which writes them together with the execution's terminal status)."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        self._write_starts()
        event = redact(event)
        self._publish(event)
        self._buffer.append(to_log(event, self.trace_id))
        logs, self._buffer = self._buffer, []
        self.commit_now()
        commit(logs)

    def flush(self) -> None:
        """Commit buffered rows and uncommitted starts."""
        self._write_starts()
        if self._buffer:
            logs, self._buffer = self._buffer, []
            self._write(StepWrite(None, logs))

    def _write(self, write: StepWrite) -> None:
        if self.committer is None:
            self.store.save_steps([write])
        else:
            self._unsettled.append(self.committer.add(write))

    async def durable(self) -> None:
        """Wait until every write so far is committed; raises what made one fail."""
        if self._unsettled and not self._unsettled[-1].done():
            # batches are committed in order: once the latest write is settled, all are
            with contextlib.suppress(Exception):
                await self._unsettled[-1]
        self._settle()

    def commit_now(self) -> None:
        """Commit every queued write now (where the caller cannot wait); raises as durable()."""
        if self.committer is not None and any(not done.done() for done in self._unsettled):
            self.committer.commit()
        self._settle()

    def _settle(self) -> None:
        done, self._unsettled = self._unsettled, []
        failure = next((d.exception() for d in done if d.done() and d.exception() is not None), None)
        self._unsettled = [d for d in done if not d.done()]
        if failure is not None:
            raise failure

    def _cancel_start_timer(self) -> None:
        if self._start_timer is not None:
            self._start_timer.cancel()
            self._start_timer = None

    def _write_starts(self) -> None:
        self._cancel_start_timer()
        while self._starting:
            run = self._starting.pop(next(iter(self._starting)))
            logs, self._buffer = self._buffer, []
            self._write(StepWrite(run, logs))

    def _timed_flush(self) -> None:
        self._start_timer = None
        # a store that cannot be written now fails the step's next transition, which says so
        with contextlib.suppress(Exception):
            self.flush()

    async def _delayed_flush(self) -> None:
        try:
            await asyncio.sleep(_FLUSH_SECONDS)
            self.flush()
        finally:
            self._flusher = None

    def close(self) -> None:
        """Flush and end every subscriber's stream (ended even when the flush fails)."""
        if self._closed:
            return
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        try:
            self.flush()
            self.commit_now()
        finally:
            self._closed = True
            for queue in self._subscribers:
                queue.put_nowait(None)
