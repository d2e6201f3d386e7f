"""Column types shared by the schema and the migrations: UTC timestamps and JSON documents.

Timestamps are stored in UTC and always come back timezone-aware. On PostgreSQL they are
``timestamptz``; on SQLite they are fixed-width ISO-8601 text (``YYYY-MM-DD HH:MM:SS.ffffff``)
so that text order is time order and ``WHERE at >= :since`` works on the column.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from baton.observability.redact import redactor
from baton.store.reads import stored_time, utc

__all__ = ["JSONDocument", "UTCDateTime", "clean_text", "dumps", "loads", "sqlite_text", "utc"]


def sqlite_text(value: datetime) -> str:
    """The SQLite storage form of a timestamp: UTC, fixed width, sortable as text."""
    offset = value.utcoffset()
    if offset:  # not UTC (naive values are taken to be UTC already)
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return sqlite_text(value)
        return utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return stored_time(value)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(default=_default, ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact JSON for storage; datetimes, enums, sets and pydantic models are converted.

    NUL characters become U+FFFD and registered secrets are masked (see :func:`clean_text`).
    """
    text = _ENCODER.encode(value)
    if "\\u0000" in text:
        text = _ENCODER.encode(_without_nul(value))
    return redactor().redact_text(text)


def clean_text(value: str) -> str:
    """``value`` as it may be stored: every registered secret masked, NUL as U+FFFD.

    This and :func:`dumps` are the one path every text takes into the store (events, tool
    calls and results, outputs, errors, configuration versions), so nothing the redactor
    knows of rests in the database. PostgreSQL cannot store NUL in text or JSONB, and command
    output sometimes contains it; both backends store the same replacement.
    """
    value = value.replace("\x00", "\ufffd") if "\x00" in value else value
    return redactor().redact_text(value)


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


def loads(text: str | bytes) -> Any:
    """Parse a stored JSON document."""
    return json.loads(text)


JSONDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
"""A JSON column: JSONB on PostgreSQL, JSON text on SQLite."""
