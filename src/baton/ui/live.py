"""The Run page's live feed: Server-Sent Events tailed from the execution's durable log.

Each new log row is sent as ``event: log`` carrying the row already rendered (escaped,
redacted) for the log list; a row that changes a step or the execution is followed by
``event: state``, on which the page re-reads its state fragment. When the execution has
ended and its final row is out, ``event: end`` closes the stream. Reading the store (not an
in-memory bus) makes the feed work whichever process runs the execution.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from baton.store.sql import SqlStore
from baton.ui.render import render

POLL_SECONDS = 0.1
KEEPALIVE_SECONDS = 15.0
END_GRACE_SECONDS = 2.0
_BATCH = 500


def _event(name: str, data: str) -> bytes:
    lines = [f"event: {name}"] + [f"data: {part}" for part in data.splitlines() or [""]]
    return ("\n".join(lines) + "\n\n").encode()


async def run_feed(store: SqlStore, execution_id: str, after: int) -> AsyncIterator[bytes]:
    """The byte stream of the Run page of ``execution_id``, from log ``seq`` ``after`` on."""
    yield b"retry: 1000\n\n"
    last = after
    quiet_since: float | None = None
    last_sent = time.monotonic()
    while True:
        rows = await asyncio.to_thread(store.list_logs, execution_id, after_seq=last, limit=_BATCH)
        changed = False
        for row in rows:
            html = render("_logline.html", row=row).replace("\n", "&#10;")
            yield _event("log", html)
            last = row.seq
            kind = str(row.metadata.get("event") or "")
            changed = changed or kind.startswith(("step.", "execution."))
        if changed:
            yield _event("state", str(last))
        if rows:
            quiet_since = None
            last_sent = time.monotonic()
            if len(rows) == _BATCH:
                continue
            if any(row.metadata.get("final") for row in rows) and await _ended(store, execution_id):
                yield _event("end", "")
                return
        else:
            record = await asyncio.to_thread(store.get_execution, execution_id)
            if record is None:
                return
            if record.context.status.is_terminal:
                now = time.monotonic()
                quiet_since = quiet_since or now
                if now - quiet_since >= END_GRACE_SECONDS:
                    yield _event("state", str(last))
                    yield _event("end", "")
                    return
            if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                yield b": keep-alive\n\n"
                last_sent = time.monotonic()
        await asyncio.sleep(POLL_SECONDS)


async def _ended(store: SqlStore, execution_id: str) -> bool:
    record = await asyncio.to_thread(store.get_execution, execution_id)
    return record is None or record.context.status.is_terminal
