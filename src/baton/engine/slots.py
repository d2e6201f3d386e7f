"""Concurrency limits that hold across every process sharing one store.

``global.max_concurrent_executions`` and each agent's ``max_concurrency`` are counted in
the store as leases (:meth:`~baton.store.base.Store.acquire_lease`). A slot is taken in two
steps: first from this process's own semaphore (so executions of one process queue in order
without touching the store), then as a lease in the store. A process that finds every slot
held polls with a growing, jittered delay (50 ms up to 1 s) and says once why it waits.

A lease carries its process (host, pid, start token) and expires unless renewed; the engine
renews its leases with its heartbeat. A lease of a process that is gone (kill -9, crash) is
taken back as soon as another process on the same host needs the slot; one of a process on
another host when it expires (:data:`LEASE_TTL` after its last renewal).

An execution takes its slot once and gives it back when it ends. An agent's slot is kept
for a short grace after a call, so the next call of the same process (the next step of a
chain) reuses it without another write. A slot given back while callers of this process
queue for it is handed to the next of them without a store round trip, for at most
:data:`_HANDOFF_SECONDS` after it was taken from the store (then it goes back to the store,
so other processes' pollers can find it free).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from baton.engine.clock import Clock
from baton.store.base import Lease, OwnerProcess, Store
from baton.workspace import procinfo

LEASE_TTL = timedelta(seconds=30)
_RENEW_SECONDS = 10.0
_POLL_FIRST = 0.05
_POLL_MAX = 1.0
_KEEP_SECONDS = 0.1
_HANDOFF_SECONDS = 1.0


class SharedSlots:
    """Leases on the limits of one Baton; ``holder`` is unique to this instance."""

    def __init__(self, store: Store, clock: Clock, owner: OwnerProcess, ttl: timedelta = LEASE_TTL) -> None:
        self.store = store
        self.clock = clock
        self.owner = owner
        self.ttl = ttl
        self.holder = f"{owner.host}:{owner.pid}:{owner.start or '-'}:{secrets.token_hex(4)}"
        self._local: dict[str, asyncio.Semaphore] = {}
        self._idle: dict[str, list[Lease]] = {}
        self._queued: dict[str, int] = {}
        self._taken: dict[tuple[str, int], float] = {}
        self._held = 0
        self._renewed = 0.0

    @contextlib.asynccontextmanager
    async def hold(self, name: str, limit: int, *, what: str,
                   on_wait: Callable[[str], None] | None = None, check: Callable[[], None] | None = None,
                   keep: bool = False) -> AsyncIterator[None]:
        """Hold one of ``limit`` slots of ``name`` (``what`` names the limit for the user).

        ``on_wait`` is told once, with the reason, if the caller has to wait; ``check`` is
        called between polls of the store (it raises to give up waiting). ``keep``: keep
        the lease a moment after use, for this process's next caller.
        """
        told = False

        def waiting(reason: str) -> None:
            nonlocal told
            if on_wait is not None and not told:
                told = True
                on_wait(reason)

        local = self._local.get(name)
        if local is None:
            local = self._local[name] = asyncio.Semaphore(limit)
        if local.locked():
            waiting(f"all {limit} slots of {what} are in use in this process")
        self._queued[name] = self._queued.get(name, 0) + 1
        try:
            await local.acquire()
        finally:
            self._queued[name] -= 1
        try:
            lease = self._reuse(name) or await self._acquire(name, limit, what, waiting, check)
            try:
                yield
            finally:
                self._give_back(lease, keep or self._hand_off(lease))
        finally:
            local.release()

    def renew(self) -> None:
        """Push back the expiry of this process's leases (called with the heartbeat)."""
        now = self.clock.monotonic()
        if self._held and now - self._renewed >= _RENEW_SECONDS:
            self._renewed = now
            self.store.renew_leases(self.holder, self.ttl)

    def close(self) -> None:
        """Give back every lease (kept ones included)."""
        self._idle.clear()
        self._taken.clear()
        if self._held:
            self._held = 0
            self.store.drop_leases(self.holder)

    # -- internals ---------------------------------------------------------------------------
    async def _acquire(self, name: str, limit: int, what: str, waiting: Callable[[str], None],
                       check: Callable[[], None] | None) -> Lease:
        delay = _POLL_FIRST
        while True:
            lease = self.store.acquire_lease(name, limit, self.holder, ttl=self.ttl, owner=self.owner)
            if lease is not None:
                now = self.clock.monotonic()
                if not self._held:
                    self._renewed = now
                self._held += 1
                self._taken[(name, lease.slot)] = now
                return lease
            held = self.store.list_leases(name)
            if _reclaim(self.store, held):
                continue
            waiting(f"all {limit} slots of {what} are in use ({_holders(held)})")
            await self.clock.sleep(delay * (0.5 + self.clock.random()))
            delay = min(delay * 2, _POLL_MAX)
            if check is not None:
                check()

    def _hand_off(self, lease: Lease) -> bool:
        """Whether a caller of this process queues for ``lease``'s limit and may take it over."""
        if not self._queued.get(lease.name):
            return False
        taken = self._taken.get((lease.name, lease.slot), 0.0)
        return self.clock.monotonic() - taken < _HANDOFF_SECONDS

    def _reuse(self, name: str) -> Lease | None:
        idle = self._idle.get(name)
        return idle.pop() if idle else None

    def _give_back(self, lease: Lease, keep: bool) -> None:
        if keep:
            with contextlib.suppress(RuntimeError):  # no running loop: give it back now
                self._idle.setdefault(lease.name, []).append(lease)
                asyncio.get_running_loop().call_later(_KEEP_SECONDS, self._release_idle, lease)
                return
            self._idle[lease.name].remove(lease)
        self._release(lease)

    def _release_idle(self, lease: Lease) -> None:
        idle = self._idle.get(lease.name, [])
        if lease in idle:
            idle.remove(lease)
            with contextlib.suppress(Exception):  # unreleased, it expires
                self._release(lease)

    def _release(self, lease: Lease) -> None:
        self._held = max(0, self._held - 1)
        self._taken.pop((lease.name, lease.slot), None)
        self.store.release_lease(lease.name, lease.slot, lease.holder)


def _reclaim(store: Store, held: list[Lease]) -> bool:
    """Drop the leases of processes on this host that are gone; whether any were."""
    dead = {lease.holder for lease in held if lease.owner is not None and procinfo.is_alive(
        procinfo.ProcessIdentity(lease.owner.host, lease.owner.pid, lease.owner.start)) is False}
    for holder in dead:
        store.drop_leases(holder)
    return bool(dead)


def _holders(held: list[Lease]) -> str:
    owners = sorted({(lease.owner.host, lease.owner.pid) for lease in held if lease.owner is not None})
    if not owners:
        return "by other processes"
    hosts = {host for host, _ in owners}
    pids = ", ".join(str(pid) for _, pid in owners)
    where = f" on {next(iter(hosts))}" if len(hosts) == 1 else ""
    return f"by process{'es' if len(owners) > 1 else ''} {pids}{where}"
