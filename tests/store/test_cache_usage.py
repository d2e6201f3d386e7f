"""The agent-answer cache (TTL, hit counts) and token/cost usage totals."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from baton.models import ExecutionContext
from baton.store import CacheEntry, IntegrityViolation, InvalidArgument, UsageRecord
from baton.store.sql import SqlStore

NewExecution = Callable[..., ExecutionContext]
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def entry(key: str, *, ttl: timedelta | None = timedelta(hours=1), **fields: object) -> CacheEntry:
    values: dict[str, object] = {
        "agent_id": "claude",
        "output": {"text": "LGTM", "usage": {"input_tokens": 10}},
        "diff": "--- a\n+++ b\n",
        "created_at": NOW,
        "expires_at": None if ttl is None else NOW + ttl,
    }
    values.update(fields)
    return CacheEntry(key=key, **values)  # type: ignore[arg-type]


def test_cache_hit_returns_the_entry_and_counts_hits(store: SqlStore) -> None:
    store.cache_put(entry("k1"))

    first = store.cache_get("k1", NOW)
    second = store.cache_get("k1", NOW + timedelta(minutes=59))

    assert first is not None and second is not None
    assert (first.hits, second.hits) == (1, 2)
    assert second.output == {"text": "LGTM", "usage": {"input_tokens": 10}}
    assert (second.agent_id, second.diff) == ("claude", "--- a\n+++ b\n")
    assert (second.created_at, second.expires_at) == (NOW, NOW + timedelta(hours=1))
    assert store.cache_get("unknown", NOW) is None


def test_expired_entries_are_ignored_and_not_counted(store: SqlStore) -> None:
    store.cache_put(entry("k1", ttl=timedelta(seconds=30)))

    assert store.cache_get("k1", NOW + timedelta(seconds=30)) is None
    assert store.cache_get("k1", NOW + timedelta(days=1)) is None
    fresh = store.cache_get("k1", NOW + timedelta(seconds=29))
    assert fresh is not None and fresh.hits == 1


def test_entries_without_expiry_never_expire(store: SqlStore) -> None:
    store.cache_put(entry("forever", ttl=None, diff=None))
    got = store.cache_get("forever", NOW + timedelta(days=3650))
    assert got is not None and got.expires_at is None and got.diff is None


def test_put_replaces_an_entry(store: SqlStore) -> None:
    store.cache_put(entry("k1"))
    store.cache_get("k1", NOW)
    store.cache_put(entry("k1", output={"text": "new"}, agent_id="codex"))

    got = store.cache_get("k1", NOW)

    assert got is not None
    assert (got.output, got.agent_id, got.hits) == ({"text": "new"}, "codex", 1)


def test_cache_clear_counts_deleted_entries(store: SqlStore) -> None:
    for i in range(3):
        store.cache_put(entry(f"k{i}"))
    assert store.cache_clear() == 3
    assert store.cache_get("k0", NOW) is None
    assert store.cache_clear() == 0


def _expected(records: list[UsageRecord], key: Callable[[UsageRecord], str]) -> dict[str, tuple]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0])
    for r in records:
        s = sums[key(r)]
        s[0] += 1
        s[1] += r.input_tokens
        s[2] += r.output_tokens
        s[3] += r.cache_read_tokens
        s[4] += r.cache_write_tokens
        s[5] += r.cost_usd
    return {k: (int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4]), v[5]) for k, v in sums.items()}


def test_usage_totals_equal_the_sum_of_records(store: SqlStore, new_execution: NewExecution) -> None:
    rng = random.Random(7)
    runs = [new_execution(workflow_id=w) for w in ("review", "fix", "review")]
    records = []
    for i in range(60):
        ctx = rng.choice(runs)
        agent, model = rng.choice(
            [("claude", "claude-sonnet-4-5"), ("codex", "gpt-5.5"), ("claude", "claude-opus-4-1")]
        )
        record = UsageRecord(
            execution_id=ctx.id,
            step_id=f"s{i % 4}",
            agent_id=agent,
            model=model,
            workflow_id=ctx.workflow_id,
            input_tokens=rng.randint(0, 50_000),
            output_tokens=rng.randint(0, 9_000),
            cache_read_tokens=rng.randint(0, 5_000),
            cache_write_tokens=rng.randint(0, 500),
            cost_usd=round(rng.uniform(0, 0.4), 6),
            at=NOW - timedelta(hours=rng.randint(0, 96), minutes=rng.randint(0, 59)),
        )
        store.record_usage(record)
        records.append(record)

    keys: dict[str, Callable[[UsageRecord], str]] = {
        "agent": lambda r: r.agent_id,
        "model": lambda r: r.model,
        "workflow": lambda r: r.workflow_id,
        "execution": lambda r: r.execution_id,
        "day": lambda r: r.at.astimezone(UTC).date().isoformat() if r.at else "",
    }
    for by, key in keys.items():
        totals = store.usage_totals(by=by)
        expected = _expected(records, key)
        assert [t.group for t in totals] == sorted(expected), by
        for t in totals:
            want = expected[t.group]
            got = (t.calls, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens)
            assert got == want[:5], (by, t.group)
            assert t.cost_usd == pytest.approx(want[5], abs=1e-9)

    since = NOW - timedelta(hours=24)
    recent = [r for r in records if r.at is not None and r.at >= since]
    by_agent = {t.group: t.calls for t in store.usage_totals(by="agent", since=since)}
    assert by_agent == {k: v[0] for k, v in _expected(recent, keys["agent"]).items()}


def test_usage_day_groups_by_utc_date(store: SqlStore, new_execution: NewExecution) -> None:
    ctx = new_execution()
    evening_in_new_york = datetime(2026, 7, 1, 21, 0, tzinfo=timezone(timedelta(hours=-5)))
    store.record_usage(
        UsageRecord(
            ctx.id,
            "s",
            "claude",
            "opus",
            ctx.workflow_id,
            input_tokens=1,
            at=datetime(2026, 7, 1, 23, 59, tzinfo=UTC),
        )
    )
    store.record_usage(
        UsageRecord(ctx.id, "s", "claude", "opus", ctx.workflow_id, input_tokens=2, at=evening_in_new_york)
    )  # 02:00 UTC, July 2
    assert [(t.group, t.input_tokens) for t in store.usage_totals(by="day")] == [
        ("2026-07-01", 1),
        ("2026-07-02", 2),
    ]


def test_usage_of_unknown_execution_is_refused(store: SqlStore) -> None:
    with pytest.raises(IntegrityViolation, match="'ghost'"):
        store.record_usage(UsageRecord("ghost", "s", "claude", "opus", "review"))
    assert store.usage_totals(by="agent") == []


def test_usage_totals_reject_unknown_grouping(store: SqlStore) -> None:
    with pytest.raises(InvalidArgument, match="agent, model, workflow, day, execution"):
        store.usage_totals(by="planet")
