"""Server-Sent Events of an execution, tailed from the durable log.

Every ExecutionLog row becomes one event: ``id`` is the row's ``seq``, ``event`` the engine
event kind (``step.completed``...), ``data`` the row as JSON. Because the stream reads the
store rather than an in-memory bus, it works whichever process or machine runs the
execution, and a client that reconnects with ``Last-Event-ID: <seq>`` gets exactly the
rows after that one. When the execution has ended and its last row is delivered, one
``execution.end`` event (without an id) tells the client to stop reconnecting.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baton.api.service import ApiService

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
END_GRACE_SECONDS = 2.0
_BATCH = 500


def format_event(*, data: Any, event: str | None = None, event_id: int | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    payload = json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":"))
    lines.extend(f"data: {part}" for part in payload.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


async def execution_events(service: ApiService, execution_id: str, after: int | None) -> AsyncIterator[bytes]:
    """The SSE byte stream of one execution, starting after log ``seq`` ``after``."""
    from baton.api.service import log_entry

    store = service.store
    service.metrics.sse_streams.inc()
    try:
        yield b"retry: 2000\n\n"
        last = after if after is not None else 0
        quiet_since: float | None = None
        last_sent = time.monotonic()
        while True:
            rows = await asyncio.to_thread(store.list_logs, execution_id, after_seq=last, limit=_BATCH)
            for row in rows:
                entry = log_entry(row)
                yield format_event(
                    data=entry.model_dump(mode="json"),
                    event=str(row.metadata.get("event") or "log"),
                    event_id=row.seq,
                )
                last = row.seq
            if rows:
                quiet_since = None
                last_sent = time.monotonic()
                if len(rows) == _BATCH:
                    continue
            else:
                record = await asyncio.to_thread(store.get_execution, execution_id)
                if record is None:
                    return
                status = record.context.status
                if status.is_terminal:
                    now = time.monotonic()
                    quiet_since = quiet_since or now
                    if await _ended(service, execution_id, last) or now - quiet_since >= END_GRACE_SECONDS:
                        yield format_event(
                            data={
                                "execution_id": execution_id,
                                "status": status.value,
                                "error": record.context.error,
                            },
                            event="execution.end",
                        )
                        return
                if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                    yield b": keep-alive\n\n"
                    last_sent = time.monotonic()
            await asyncio.sleep(POLL_SECONDS)
    finally:
        service.metrics.sse_streams.dec()


async def _ended(service: ApiService, execution_id: str, last: int) -> bool:
    """Whether the newest log row (seq ``last``) is the final row of a run."""
    if last <= 0:
        return False
    rows = await asyncio.to_thread(service.store.list_logs, execution_id, after_seq=last - 1, limit=1)
    return bool(rows and rows[0].seq == last and rows[0].metadata.get("final"))
