"""Leases and rate windows: limits that every process sharing one store obeys.

A lease is one row per held slot of a limit (``executions``, ``agent:<id>``). Taking one is
one transaction that holds the write lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock
per limit name on PostgreSQL): read the limit's slots, insert the lowest free one if fewer
than the limit are held (expired leases are dropped only when every slot is taken). Taking
and giving back run plain SQL on the hot path's connection (every execution pays them;
SQLAlchemy Core costs four times as much). A rate window is the earliest time the next call
of a rate-limited agent may start; a caller takes the next turn and moves it on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, text, update

from baton.store.base import Lease, OwnerProcess
from baton.store.hotpath import StepLogWriter
from baton.store.schema import leases, rate_windows

_INSERT_LEASE = ("INSERT INTO leases (name, slot, holder, acquired_at, expires_at, owner_host, owner_pid,"
                 " owner_start) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})")
_PG_LOCK_SPACE = 0x62A70  # high bits of every advisory lock key that guards a limit


def limit_lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for the limit ``name``."""
    digest = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big")
    return (_PG_LOCK_SPACE << 32) | digest


class LeaseMethods:
    """The Store's lease and rate-window methods (mixed into :class:`~baton.store.sql.SqlStore`)."""

    _dialect: str
    _steps: StepLogWriter

    # provided by SqlStore, which mixes this class in
    _now: Callable[[], datetime]
    _write: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]

    def _limit_lock(self, conn: Connection, name: str) -> None:
        if self._dialect == "postgresql":  # SQLite: BEGIN IMMEDIATE holds the write lock already
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": limit_lock_key(name)})

    def acquire_lease(
        self, name: str, limit: int, holder: str, *, ttl: timedelta, owner: OwnerProcess | None = None
    ) -> Lease | None:
        """Take a free slot of ``name`` for ``holder`` if fewer than ``limit`` are held."""
        raw = self._steps
        p, t = raw.placeholder, raw.time
        with raw.transaction(f"a lease of {name!r}") as cursor:
            if self._dialect == "postgresql":  # SQLite: BEGIN IMMEDIATE holds the write lock already
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (limit_lock_key(name),))
            now = self._now()
            cursor.execute(f"SELECT slot, expires_at <= {p} FROM leases WHERE name = {p}", (t(now), name))
            held = cursor.fetchall()
            used = {slot for slot, _ in held}
            if len(used) >= limit:
                expired = {slot for slot, gone in held if gone}
                if not expired:
                    return None
                cursor.execute(f"DELETE FROM leases WHERE name = {p} AND expires_at <= {p}", (name, t(now)))
                used -= expired
                if len(used) >= limit:
                    return None
            slot = next(i for i in range(len(used) + 1) if i not in used)
            lease = Lease(name, slot, holder, owner, now, now + ttl)
            cursor.execute(_INSERT_LEASE.format(p=p), (
                name, slot, holder, t(now), t(lease.expires_at),
                owner.host if owner else None, owner.pid if owner else None, owner.start if owner else None))
        return lease

    def release_lease(self, name: str, slot: int, holder: str) -> None:
        """Give a slot back (nothing happens if it expired and someone else holds it now)."""
        p = self._steps.placeholder
        with self._steps.transaction(f"a lease of {name!r}") as cursor:
            cursor.execute(f"DELETE FROM leases WHERE name = {p} AND slot = {p} AND holder = {p}",
                           (name, slot, holder))

    def renew_leases(self, holder: str, ttl: timedelta) -> int:
        """Push back the expiry of every lease ``holder`` holds; how many it still holds."""
        with self._write() as conn:
            return conn.execute(
                update(leases).where(leases.c.holder == holder).values(expires_at=self._now() + ttl)
            ).rowcount

    def drop_leases(self, holder: str) -> int:
        """Release every lease of ``holder`` (a process that ended, or was found dead)."""
        with self._write() as conn:
            return conn.execute(delete(leases).where(leases.c.holder == holder)).rowcount

    def list_leases(self, name: str | None = None) -> list[Lease]:
        """Leases held now (expired ones included until someone takes their slot)."""
        query = select(leases).order_by(leases.c.name, leases.c.slot)
        if name is not None:
            query = query.where(leases.c.name == name)
        with self._read() as conn:
            return [_lease(row) for row in conn.execute(query)]

    def take_rate_turn(self, name: str, interval: timedelta, now: datetime) -> datetime:
        """When the caller's call may start; the next turn moves ``interval`` after it."""
        with self._write() as conn:
            self._limit_lock(conn, name)
            reserved = _window(conn, name)
            start = now if reserved is None or reserved < now else reserved
            _set_window(conn, name, start + interval, exists=reserved is not None)
        return start

    def hold_rate(self, name: str, until: datetime) -> None:
        """No call of ``name`` starts before ``until`` (a provider's retry-after)."""
        with self._write() as conn:
            self._limit_lock(conn, name)
            reserved = _window(conn, name)
            if reserved is None or reserved < until:
                _set_window(conn, name, until, exists=reserved is not None)


def _window(conn: Connection, name: str) -> datetime | None:
    next_at: datetime | None = conn.execute(
        select(rate_windows.c.next_at).where(rate_windows.c.name == name)).scalar()
    return next_at


def _set_window(conn: Connection, name: str, next_at: datetime, *, exists: bool) -> None:
    if exists:
        conn.execute(update(rate_windows).where(rate_windows.c.name == name).values(next_at=next_at))
    else:
        conn.execute(insert(rate_windows).values(name=name, next_at=next_at))


def _lease_values(lease: Lease) -> dict[str, Any]:
    owner = lease.owner
    return {
        "name": lease.name, "slot": lease.slot, "holder": lease.holder,
        "acquired_at": lease.acquired_at, "expires_at": lease.expires_at,
        "owner_host": owner.host if owner else None, "owner_pid": owner.pid if owner else None,
        "owner_start": owner.start if owner else None,
    }


def _lease(row: Row[Any]) -> Lease:
    m = row._mapping
    owner = (OwnerProcess(m["owner_host"], m["owner_pid"], m["owner_start"])
             if m["owner_host"] is not None and m["owner_pid"] is not None else None)
    return Lease(m["name"], m["slot"], m["holder"], owner, m["acquired_at"], m["expires_at"])


__all__ = ["LeaseMethods", "limit_lock_key"]
