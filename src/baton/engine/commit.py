"""Group commit: the step transitions of every execution of one Baton, written together.

A write queued while the event loop runs one round of callbacks is committed at the start
of the next, in one transaction with every other write queued meanwhile (with a thousand
executions in flight, a hundred transitions share a commit). Each execution still waits
for its own transitions to be committed before it starts its next step
(:meth:`Recorder.durable`), so what a crash can lose is what it could lose before: the
transition of a step that had just ended.
"""

from __future__ import annotations

import asyncio

from baton.store.base import StepWrite, Store
from baton.store.errors import IntegrityViolation


class GroupCommit:
    """Queues step writes and commits them together, once per turn of the event loop."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: list[tuple[StepWrite, asyncio.Future[None]]] = []

    def add(self, write: StepWrite) -> asyncio.Future[None]:
        """Queue ``write``; the future is done once it is committed (or failed)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if not self._queue:
            loop.call_soon(self.commit)
        self._queue.append((write, done))
        return done

    def commit(self) -> None:
        """Commit everything queued now (also called directly when a caller must not wait)."""
        batch, self._queue = self._queue, []
        if not batch:
            return
        try:
            self.store.save_steps([write for write, _ in batch])
        except IntegrityViolation:
            # one bad write must not take its neighbours (other executions) down with it
            for write, done in batch:
                try:
                    self.store.save_steps([write])
                except Exception as exc:
                    _fail(done, exc)
                else:
                    _settle(done)
            return
        except Exception as exc:
            for _, done in batch:
                _fail(done, exc)
            return
        for _, done in batch:
            _settle(done)


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _fail(done: asyncio.Future[None], exc: Exception) -> None:
    if not done.done():
        done.set_exception(exc)
        done.exception()  # reported by whoever waits for it, not as "never retrieved"
