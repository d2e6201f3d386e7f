"""LangGraph checkpoints in the store's own database, serialised as JSON (never pickle).

The SQLite store's file doubles as the checkpoint database (LangGraph's ``checkpoints``
and ``writes`` tables beside Baton's); a PostgreSQL store gets LangGraph's PostgreSQL
saver on the same server and database. :class:`JsonSerde` is the only serializer either
saver is given: it writes JSON with a few tagged types LangGraph itself stores (sets,
tuples, interrupts, sends) and refuses anything else, so a checkpoint can never carry a
pickle in or out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from langgraph.checkpoint.base import WRITES_IDX_MAP, BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Interrupt, Send
from sqlalchemy.engine import URL, make_url

from baton.engine.errors import EngineError

_TAG = "__baton__"
_SQLITE_BUSY_SECONDS = 30.0
# dataclasses (Interrupt) and datetimes go through _default, so they come back as themselves
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


class CheckpointError(EngineError):
    """A checkpoint could not be written or read (unsupported value, unknown format)."""


class CheckpointedError(Exception):
    """An exception LangGraph stored in a checkpoint, brought back as its type and text."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name


class JsonSerde:
    """LangGraph's ``SerializerProtocol`` over JSON; unknown types are an error, not a pickle.

    orjson writes the JSON (a checkpoint holds the whole state, so this is on the hot path);
    only values JSON lacks go through a hook, as tagged objects (``{"__baton__": "set",
    "v": [...]}``). Tuples are written as arrays (LangGraph reads its tuple-valued writes,
    the interrupts, as sequences); dict keys must be strings.
    """

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        try:
            return "json", orjson.dumps(obj, default=_default, option=_ORJSON_OPTIONS)
        except TypeError as exc:
            if isinstance(exc.__cause__, CheckpointError):
                raise exc.__cause__ from None
            raise CheckpointError(f"checkpoint value is not JSON-serialisable: {exc}") from None

    def loads_typed(self, data: tuple[str, bytes | None]) -> Any:
        kind, payload = data
        if kind == "null" or payload is None:
            return None
        if kind != "json":
            raise CheckpointError(f"checkpoint value stored as {kind!r}; Baton reads only JSON checkpoints")
        return json.loads(payload, object_hook=_hook)


def _default(obj: Any) -> Any:
    if isinstance(obj, set | frozenset):
        return {_TAG: "set", "v": list(obj)}
    if isinstance(obj, Interrupt):
        return {_TAG: "interrupt", "value": obj.value, "id": obj.id}
    if isinstance(obj, Send):
        return {_TAG: "send", "node": obj.node, "arg": obj.arg}
    if isinstance(obj, datetime):
        return {_TAG: "datetime", "v": obj.isoformat()}
    if isinstance(obj, bytes):
        return {_TAG: "bytes", "v": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, BaseException):
        return {_TAG: "error", "type": type(obj).__name__, "message": str(obj)}
    raise CheckpointError(
        f"a {type(obj).__module__}.{type(obj).__qualname__} cannot be stored in a checkpoint "
        "(Baton checkpoints hold JSON values only)"
    )


_DECODERS: dict[str, tuple[frozenset[str], Any]] = {
    "set": (frozenset({_TAG, "v"}), lambda d: set(d["v"])),
    "interrupt": (frozenset({_TAG, "value", "id"}), lambda d: Interrupt(value=d["value"], id=d["id"])),
    "send": (frozenset({_TAG, "node", "arg"}), lambda d: Send(d["node"], d["arg"])),
    "datetime": (frozenset({_TAG, "v"}), lambda d: datetime.fromisoformat(d["v"])),
    "bytes": (frozenset({_TAG, "v"}), lambda d: base64.b64decode(d["v"])),
    "error": (frozenset({_TAG, "type", "message"}), lambda d: CheckpointedError(d["type"], d["message"])),
}


def _hook(obj: dict[str, Any]) -> Any:
    tag = obj.get(_TAG)
    if tag is None:
        return obj
    decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
    if decoder is None or decoder[0] != obj.keys():
        return obj  # an ordinary dict that happens to use the key
    return decoder[1](obj)


class _SqliteSaver(AsyncSqliteSaver):
    """LangGraph's SQLite saver on an autocommit connection, writing each batch as one statement.

    The store writes the same file synchronously from the event loop. With the driver's
    default transactions the saver would hold the write lock between its INSERT and its
    COMMIT (two round trips through the event loop), and a store write waiting on that
    lock would block the very loop that has to send the COMMIT. In autocommit mode every
    statement is its own transaction, so pending writes go in as one multi-row INSERT.
    """

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        if not writes:
            return
        verb = "REPLACE" if all(w[0] in WRITES_IDX_MAP for w in writes) else "IGNORE"
        conf = config["configurable"]
        params: list[Any] = []
        for idx, (channel, value) in enumerate(writes):
            params.extend(
                (
                    str(conf["thread_id"]),
                    str(conf["checkpoint_ns"]),
                    str(conf["checkpoint_id"]),
                    task_id,
                    task_path,
                    WRITES_IDX_MAP.get(channel, idx),
                    channel,
                    *self.serde.dumps_typed(value),
                )
            )
        rows = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(writes))
        query = (
            f"INSERT OR {verb} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
            f"task_path, idx, channel, type, value) VALUES {rows}"
        )
        await self.setup()
        async with self.lock:
            await self.conn.execute(query, params)


def checkpoint_url(store: Any, configured: str | None, root: Path) -> str:
    """The database the checkpoints go to: the store's own (its engine URL when it has one)."""
    engine = getattr(store, "engine", None)
    if engine is not None and getattr(engine, "url", None) is not None:
        url: URL = engine.url
        return url.render_as_string(hide_password=False)
    if configured:
        return configured
    return f"sqlite:///{(root / '.baton' / 'baton.db').resolve()}"


@asynccontextmanager
async def open_checkpointer(url: str) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """A ready LangGraph saver (tables created) for the SQLite file or PostgreSQL URL ``url``."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        import aiosqlite

        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise CheckpointError("checkpoints need a SQLite file, not an in-memory database")
        conn = await aiosqlite.connect(database, isolation_level=None, timeout=_SQLITE_BUSY_SECONDS)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(_SQLITE_BUSY_SECONDS * 1000)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            saver = _SqliteSaver(conn, serde=JsonSerde())
            await saver.setup()
            yield saver
        finally:
            await conn.close()
    elif backend in ("postgresql", "postgres"):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        async with AsyncPostgresSaver.from_conn_string(conninfo, serde=JsonSerde()) as pg:
            await pg.setup()
            yield pg
    else:
        raise CheckpointError(f"checkpoints support sqlite and postgresql databases, not {backend!r}")


async def copy_checkpoints(source_url: str, target_url: str) -> tuple[int, int]:
    """Copy every LangGraph checkpoint (and its pending writes) from one store's database to
    another's through the savers; returns (checkpoints in source, checkpoints in target)."""
    async with open_checkpointer(source_url) as source, open_checkpointer(target_url) as target:
        found = [tup async for tup in source.alist(None)]
        found.sort(key=lambda t: str(t.checkpoint["id"]))  # ids are time-ordered: parents first
        for tup in found:
            conf = tup.config["configurable"]
            parent = tup.parent_config or {"configurable": {"thread_id": conf["thread_id"],
                                                             "checkpoint_ns": conf.get("checkpoint_ns", "")}}
            written = await target.aput(parent, tup.checkpoint, tup.metadata,
                                        dict(tup.checkpoint.get("channel_versions") or {}))
            by_task: dict[str, list[tuple[str, Any]]] = {}
            for task_id, channel, value in tup.pending_writes or []:
                by_task.setdefault(task_id, []).append((channel, value))
            for task_id, writes in by_task.items():
                await target.aput_writes(written, writes, task_id)
        copied = [tup async for tup in target.alist(None)]
    return len(found), len(copied)


__all__ = ["CheckpointError", "JsonSerde", "checkpoint_url", "copy_checkpoints", "open_checkpointer"]
