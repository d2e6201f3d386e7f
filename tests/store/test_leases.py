"""Conformance: leases and rate windows hold limits across processes sharing one store
(every test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from baton.store import Lease, OwnerProcess
from baton.store.sql import SqlStore
from tests.store.helpers import FakeClock

TTL = timedelta(seconds=30)
ME = OwnerProcess("host-a", 101, "boot:1")


def test_a_limit_hands_out_at_most_limit_slots_lowest_first(store: SqlStore) -> None:
    got = [store.acquire_lease("executions", 3, f"p{i}", ttl=TTL, owner=ME) for i in range(4)]
    assert [lease.slot if lease else None for lease in got] == [0, 1, 2, None]
    assert [lease.holder for lease in store.list_leases("executions")] == ["p0", "p1", "p2"]
    assert store.list_leases("executions")[0].owner == ME
    store.release_lease("executions", 1, "p1")
    again = store.acquire_lease("executions", 3, "p9", ttl=TTL)
    assert again is not None and again.slot == 1 and again.owner is None
    # limits are counted per name
    assert store.acquire_lease("agent:claude", 1, "p0", ttl=TTL) is not None
    assert store.acquire_lease("agent:claude", 1, "p1", ttl=TTL) is None


def test_release_by_someone_else_changes_nothing(store: SqlStore) -> None:
    lease = store.acquire_lease("executions", 1, "p0", ttl=TTL)
    assert lease is not None
    store.release_lease("executions", lease.slot, "p1")
    assert store.acquire_lease("executions", 1, "p1", ttl=TTL) is None


def test_leases_expire_unless_renewed(make_store: Callable[..., SqlStore]) -> None:
    clock = FakeClock()
    store = make_store(clock=clock)
    first = store.acquire_lease("executions", 2, "p0", ttl=TTL)
    assert first is not None and first.expires_at == clock.now + TTL
    clock.advance(20)
    assert store.acquire_lease("executions", 2, "p1", ttl=TTL) is not None
    assert store.renew_leases("p1", TTL) == 1
    clock.advance(15)  # p0's lease expired 5 s ago, p1's renewed one holds
    taken = store.acquire_lease("executions", 2, "p2", ttl=TTL)
    assert taken is not None and taken.slot == 0
    assert store.acquire_lease("executions", 2, "p3", ttl=TTL) is None
    assert store.renew_leases("p0", TTL) == 0  # the expired holder learns it lost its slot
    assert sorted(lease.holder for lease in store.list_leases()) == ["p1", "p2"]


def test_drop_leases_frees_every_slot_of_a_holder(store: SqlStore) -> None:
    for name in ("executions", "agent:a", "agent:b"):
        assert store.acquire_lease(name, 1, "dead", ttl=TTL) is not None
    assert store.acquire_lease("executions", 1, "live", ttl=TTL) is None
    assert store.drop_leases("dead") == 3
    assert store.list_leases() == []
    lease = store.acquire_lease("executions", 1, "live", ttl=TTL)
    assert isinstance(lease, Lease) and lease.holder == "live"


def test_concurrent_acquirers_never_exceed_the_limit(make_store: Callable[..., SqlStore]) -> None:
    stores = [make_store() for _ in range(4)]
    limit, rounds = 2, 25
    held = 0
    peak = 0
    granted = 0
    guard = threading.Lock()
    start = threading.Barrier(len(stores))

    def worker(index: int, store: SqlStore) -> None:
        nonlocal held, peak, granted
        start.wait()
        for _ in range(rounds):
            lease = store.acquire_lease("executions", limit, f"p{index}", ttl=TTL)
            if lease is None:
                continue
            with guard:
                held += 1
                granted += 1
                peak = max(peak, held)
            with guard:  # counted down before the release: the count never lags the table
                held -= 1
            store.release_lease("executions", lease.slot, f"p{index}")

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0 < peak <= limit and granted >= rounds
    assert stores[0].list_leases() == []


def test_rate_turns_are_spaced_by_the_interval(store: SqlStore) -> None:
    clock = FakeClock()
    every = timedelta(seconds=30)  # requests_per_minute: 2
    t0 = clock.now
    starts = [store.take_rate_turn("agent:claude", every, t0) for _ in range(3)]
    assert starts == [t0, t0 + every, t0 + 2 * every]  # the third call waits a minute
    # an idle agent's next call starts at once
    later = t0 + timedelta(minutes=5)
    assert store.take_rate_turn("agent:claude", every, later) == later
    assert store.take_rate_turn("agent:other", every, t0) == t0


def test_hold_rate_delays_the_next_turn_but_never_brings_it_forward(store: SqlStore) -> None:
    clock = FakeClock()
    t0 = clock.now
    every = timedelta(seconds=1)
    store.hold_rate("agent:a", t0 + timedelta(seconds=7))  # a 429 with retry-after 7
    assert store.take_rate_turn("agent:a", every, t0) == t0 + timedelta(seconds=7)
    store.hold_rate("agent:a", t0)  # earlier than the next turn: ignored
    assert store.take_rate_turn("agent:a", every, t0) == t0 + timedelta(seconds=8)


def test_concurrent_rate_turns_are_all_distinct(make_store: Callable[..., SqlStore]) -> None:
    clock = FakeClock()
    stores = [make_store() for _ in range(4)]
    every = timedelta(seconds=1)
    starts: list[object] = []
    guard = threading.Lock()
    barrier = threading.Barrier(len(stores))

    def worker(store: SqlStore) -> None:
        barrier.wait()
        for _ in range(10):
            start = store.take_rate_turn("agent:a", every, clock.now)
            with guard:
                starts.append(start)

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(starts) == [clock.now + i * every for i in range(40)]  # type: ignore[operator]
