"""The Run page's live feed: Server-Sent Events tailed from the execution's durable log.

Each new log row is sent as ``event: log`` carrying the row already rendered (escaped,
redacted) for the log list; a row that changes a step or the execution is followed by
``event: state``, on which the page re-reads its state fragment. Reading the store (not an
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
IDLE_POLL_SECONDS = 1.0  # an ended execution: only a resume can add rows
_BATCH = 500


def _event(name: str, data: str) -> bytes:
    lines = [f"event: {name}"] + [f"data: {part}" for part in data.splitlines() or [""]]
    return ("\n".join(lines) + "\n\n").encode()


async def run_feed(store: SqlStore, execution_id: str, after: int) -> AsyncIterator[bytes]:
    """The byte stream of the Run page of ``execution_id``, from log ``seq`` ``after`` on.

    The stream stays open after the execution ends (polling slowly): a resume, from this page
    or elsewhere, continues the same execution and the page follows it.
    """
    yield b"retry: 1000\n\n"
    last = after
    quiet_since = time.monotonic()
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
        now = time.monotonic()
        if rows:
            quiet_since = last_sent = now
            if len(rows) == _BATCH:
                continue
        elif now - last_sent >= KEEPALIVE_SECONDS:
            yield b": keep-alive\n\n"
            last_sent = now
        idle = now - quiet_since >= END_GRACE_SECONDS and await _ended(store, execution_id)
        await asyncio.sleep(IDLE_POLL_SECONDS if idle else POLL_SECONDS)


async def _ended(store: SqlStore, execution_id: str) -> bool:
    record = await asyncio.to_thread(store.get_execution, execution_id)
    return record is None or record.context.status.is_terminal
