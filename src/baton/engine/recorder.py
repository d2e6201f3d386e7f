"""Turns events into durable log rows and fans them out to live subscribers.

Step transitions are written with their log rows in one transaction before the engine
moves on; chatty events (agent output) are buffered and flushed with the next
transition, when the buffer fills, or by a periodic flush.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

from baton.engine.events import AgentOutput, Event, to_log
from baton.models import ExecutionLog, StepRun
from baton.observability.redact import redact
from baton.store.base import Store, UsageRecord

_FLUSH_ROWS = 200
_FLUSH_SECONDS = 0.5


class Recorder:
    """Persists an execution's events and broadcasts them to subscribers."""

    def __init__(self, store: Store, trace_id: str,
                 observers: Sequence[Callable[[Event], None]] = ()) -> None:
        self.store = store
        self.trace_id = trace_id
        self.observers = list(observers)
        self.history: list[Event] = []
        self._subscribers: list[asyncio.Queue[Event | None]] = []
        self._buffer: list[ExecutionLog] = []
        self._flusher: asyncio.Task[None] | None = None
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

    def transition(self, run: StepRun, *events: Event, usage: UsageRecord | None = None) -> None:
        """Commit a step's new state with its events, buffered rows and usage, atomically."""
        run, events = redact(run), redact(events)
        for event in events:
            self._publish(event)
            self._buffer.append(to_log(event, self.trace_id))
        logs, self._buffer = self._buffer, []
        self.store.save_step(run, logs, usage)

    def finish(self, event: Event,
               commit: Callable[[list[ExecutionLog]], None]) -> None:
        """Publish the final event and hand its row, with every buffered row, to ``commit``
        (which writes them together with the execution's terminal status)."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        event = redact(event)
        self._publish(event)
        self._buffer.append(to_log(event, self.trace_id))
        logs, self._buffer = self._buffer, []
        commit(logs)

    def flush(self) -> None:
        if self._buffer:
            logs, self._buffer = self._buffer, []
            self.store.append_logs(logs)

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
        finally:
            self._closed = True
            for queue in self._subscribers:
                queue.put_nowait(None)
