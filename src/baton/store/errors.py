"""Errors raised by the store.

Exception tree::

    BatonError                          (baton.errors)
    ├── ModelError
    │   └── IllegalTransition           a status change the state machine forbids
    │                                   (raised by the store too, from baton.models)
    └── StoreError                      anything the store refuses or cannot do
        ├── StoreUnavailable            the database cannot be opened or reached
        ├── SchemaMismatch              the database schema is newer than this Baton
        ├── NotFound                    no agent / execution / config version with that id
        ├── AlreadyExists               importing something whose id is already stored
        ├── ConfigVersionImmutable      an applied configuration version with new content
        ├── IntegrityViolation          unknown foreign key, step ending before it started,
        │                               export data that does not match its own checksum
        └── InvalidArgument             a query option the store does not know (also ValueError)
"""

from __future__ import annotations

from baton.errors import BatonError


class StoreError(BatonError):
    """Base class of every error raised by :mod:`baton.store`."""


class StoreUnavailable(StoreError):
    """The database could not be opened or reached."""


class SchemaMismatch(StoreError):
    """The database was migrated by a newer Baton than the one running."""


class NotFound(StoreError):
    """The record asked for does not exist."""

    cli_exit_code = 2

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class AlreadyExists(StoreError):
    """An import would overwrite a record that is already stored."""

    cli_exit_code = 2

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} already exists; refusing to overwrite it")


class ConfigVersionImmutable(StoreError):
    """A configuration version that was applied once cannot take different content."""

    cli_exit_code = 2

    def __init__(self, version: str) -> None:
        self.version = version
        super().__init__(
            f"configuration version {version!r} is already applied with different content; "
            f"applied versions are immutable, so bump `version:` (e.g. to "
            f"{_suggest_bump(version)!r}) and apply again"
        )


class IntegrityViolation(StoreError):
    """A write that would break a data-integrity rule (foreign key, time order)."""


class InvalidArgument(StoreError, ValueError):
    """A query argument outside what the store supports."""


def _suggest_bump(version: str) -> str:
    core = version.split("+", 1)[0].split("-", 1)[0]
    parts = core.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[0]}.{parts[1]}.{int(parts[2]) + 1}"
    return f"{version}.1"


_DISK_FULL = ("database or disk is full", "no space left on device", "disk full")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (a driver's error without its SQL)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_disk_full(exc: BaseException) -> bool:
    """Whether a database error means the disk (or database) is full."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(marker in text for marker in _DISK_FULL)
