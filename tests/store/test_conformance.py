"""The Store contract, run against every backend: agents, executions, step runs and logs."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from baton.models import (
    Agent,
    AgentStatus,
    ExecutionContext,
    ExecutionStatus,
    IllegalTransition,
    LogLevel,
    StepRun,
    StepStatus,
)
from baton.models.state import AGENT_TRANSITIONS, EXECUTION_TRANSITIONS, RESUMABLE
from baton.store import AlreadyExists, IntegrityViolation, NotFound
from baton.store.base import ExecutionState, OwnerProcess
from baton.store.sql import SqlStore
from tests.store.helpers import FakeClock, log_row

NewExecution = Callable[..., ExecutionContext]


def make_agent(agent_id: str = "claude", **fields: object) -> Agent:
    values: dict[str, object] = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "capabilities": ["code_review"],
        "config": {"api_key": "sk-ant-secret-value", "max_tokens": 4096},
        "interface": "api",
    }
    values.update(fields)
    return Agent(id=agent_id, **values)  # type: ignore[arg-type]


# -- agents ------------------------------------------------------------------------------------


def test_agent_round_trip_keeps_definition_and_masks_credentials(store: SqlStore) -> None:
    agent = make_agent(
        config={
            "api_key": "sk-ant-secret-value",
            "max_tokens": 4096,
            "headers": {"Authorization": "Bearer abc"},
            "base_url": "http://127.0.0.1:9/v1",
        }
    )
    store.upsert_agent(agent)

    got = store.get_agent("claude")

    assert got is not None
    assert (got.provider, got.model, got.capabilities, got.name) == (
        "anthropic",
        "claude-sonnet-4-5",
        ["code_review"],
        "claude",
    )
    assert got.config == {
        "api_key": "***",
        "max_tokens": 4096,
        "headers": {"Authorization": "***"},
        "base_url": "http://127.0.0.1:9/v1",
    }
    assert got.status is AgentStatus.UNREGISTERED
    assert got.created_at.tzinfo is not None
    assert store.get_agent("nobody") is None


def test_agent_env_references_are_stored_as_written(store: SqlStore) -> None:
    store.upsert_agent(make_agent(config={"api_key": "${ANTHROPIC_API_KEY}"}))

    got = store.get_agent("claude")

    assert got is not None and got.config == {"api_key": "${ANTHROPIC_API_KEY}"}


def test_upsert_updates_definition_but_not_status(store: SqlStore) -> None:
    store.upsert_agent(make_agent())
    store.set_agent_status("claude", AgentStatus.REGISTERING)

    store.upsert_agent(make_agent(model="claude-opus-4-1", status=AgentStatus.ERROR))

    got = store.get_agent("claude")
    assert got is not None
    assert got.model == "claude-opus-4-1"
    assert got.status is AgentStatus.REGISTERING


def test_list_and_remove_agents(store: SqlStore) -> None:
    for agent_id in ("zed", "alpha", "mid"):
        store.upsert_agent(make_agent(agent_id))

    assert [a.id for a in store.list_agents()] == ["alpha", "mid", "zed"]
    store.remove_agent("mid")
    assert [a.id for a in store.list_agents()] == ["alpha", "zed"]
    with pytest.raises(NotFound, match="agent 'mid' not found"):
        store.remove_agent("mid")


AGENT_PAIRS = [(a, b) for a, b in itertools.product(AgentStatus, AgentStatus) if a != b]


@pytest.mark.parametrize(("current", "target"), AGENT_PAIRS, ids=lambda s: s.value)
def test_agent_transitions_follow_the_state_machine(
    store: SqlStore, current: AgentStatus, target: AgentStatus
) -> None:
    store.upsert_agent(make_agent(status=current))

    if target in AGENT_TRANSITIONS[current]:
        assert store.set_agent_status("claude", target).status is target
        expected = target
    else:
        with pytest.raises(IllegalTransition):
            store.set_agent_status("claude", target)
        expected = current
    got = store.get_agent("claude")
    assert got is not None and got.status is expected


def test_agent_health_check_time_only_moves_forward(store: SqlStore) -> None:
    store.upsert_agent(make_agent(status=AgentStatus.ACTIVE))
    later = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    earlier = later - timedelta(minutes=5)

    first = store.set_agent_status("claude", AgentStatus.ACTIVE, health_checked_at=later)
    second = store.set_agent_status("claude", AgentStatus.ACTIVE, health_checked_at=earlier)

    assert first.last_health_check == later
    assert second.last_health_check == later
    assert second.status is AgentStatus.ACTIVE


def test_unknown_agent_status_change_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound):
        store.set_agent_status("ghost", AgentStatus.ACTIVE)


# -- executions ----------------------------------------------------------------------------------


def test_execution_round_trip(store: SqlStore, tmp_path: Path) -> None:
    ctx = ExecutionContext(
        workflow_id="review",
        workspace_dir=str(tmp_path),
        parameters={"base": "main", "n": 3, "nested": {"list": [1, 2]}},
        environment={"CI": "true"},
        shared_config={"max_concurrent_executions": 2},
        start_time=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
    )
    store.create_execution(ctx, workflow_snapshot={"id": "review", "steps": [{"id": "a"}]})

    record = store.get_execution(ctx.id)

    assert record is not None
    assert record.context.model_dump() == ctx.model_dump()
    assert record.context.start_time.tzinfo is not None
    assert record.context.start_time.utcoffset() == timedelta(0)
    assert record.workflow_snapshot == {"id": "review", "steps": [{"id": "a"}]}
    assert (record.log_bytes, record.log_truncated, record.owner) == (0, False, None)
    assert store.get_execution("missing") is None


def test_duplicate_execution_id_is_refused(store: SqlStore, new_execution: NewExecution) -> None:
    ctx = new_execution()
    with pytest.raises(AlreadyExists):
        store.create_execution(ctx, workflow_snapshot={})


EXECUTION_PAIRS = list(itertools.product(ExecutionStatus, ExecutionStatus))


@pytest.mark.parametrize(("current", "target"), EXECUTION_PAIRS, ids=lambda s: s.value)
def test_execution_transitions_follow_the_state_machine(
    store: SqlStore,
    new_execution: NewExecution,
    current: ExecutionStatus,
    target: ExecutionStatus,
) -> None:
    ctx = new_execution(status=current)

    if target in EXECUTION_TRANSITIONS[current]:
        updated = store.set_execution_status(ctx.id, target, error="boom")
        assert updated.status is target
        assert (updated.end_time is not None) == target.is_terminal
        if updated.end_time is not None:
            assert updated.end_time >= updated.start_time
        assert updated.error == "boom"
        expected = target
    else:
        with pytest.raises(IllegalTransition):
            store.set_execution_status(ctx.id, target)
        expected = current
    record = store.get_execution(ctx.id)
    assert record is not None and record.context.status is expected


@pytest.mark.parametrize("current", list(ExecutionStatus), ids=lambda s: s.value)
def test_resume_goes_back_to_pending_only_from_resumable_states(
    store: SqlStore, new_execution: NewExecution, current: ExecutionStatus
) -> None:
    ctx = new_execution(status=current, end_time=datetime.now(UTC), error="crashed")

    if current in RESUMABLE:
        resumed = store.set_execution_status(ctx.id, ExecutionStatus.PENDING, resume=True)
        assert resumed.status is ExecutionStatus.PENDING
        assert resumed.end_time is None and resumed.error is None
    else:
        with pytest.raises(IllegalTransition):
            store.set_execution_status(ctx.id, ExecutionStatus.PENDING, resume=True)


def test_resume_must_target_pending(store: SqlStore, new_execution: NewExecution) -> None:
    ctx = new_execution(status=ExecutionStatus.FAILED)
    with pytest.raises(IllegalTransition, match="resume"):
        store.set_execution_status(ctx.id, ExecutionStatus.RUNNING, resume=True)


def test_terminal_status_sets_end_time_from_the_store_clock(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    clock = FakeClock(datetime.now(UTC) + timedelta(hours=1))
    store = make_store(clock=clock)
    ctx = new_execution(into=store, status=ExecutionStatus.RUNNING)

    done = store.set_execution_status(ctx.id, ExecutionStatus.COMPLETED)

    assert done.end_time == clock.now


def test_status_change_of_unknown_execution_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound, match="execution 'nope' not found"):
        store.set_execution_status("nope", ExecutionStatus.RUNNING)


def test_list_executions_filters_and_pages_newest_first(store: SqlStore, new_execution: NewExecution) -> None:
    base = datetime(2026, 2, 1, tzinfo=UTC)
    made = [
        new_execution(
            workflow_id="review" if i % 2 else "fix",
            start_time=base + timedelta(minutes=i),
            status=ExecutionStatus.FAILED if i == 3 else ExecutionStatus.PENDING,
        )
        for i in range(7)
    ]
    newest_first = [c.id for c in reversed(made)]

    assert [c.id for c in store.list_executions(limit=50)] == newest_first
    page1 = store.list_executions(limit=3)
    page2 = store.list_executions(limit=3, before=page1[-1].id)
    page3 = store.list_executions(limit=3, before=page2[-1].id)
    assert [c.id for c in page1 + page2 + page3] == newest_first
    assert [c.id for c in store.list_executions(workflow_id="fix")] == [
        c.id for c in reversed(made) if c.workflow_id == "fix"
    ]
    assert [c.id for c in store.list_executions(status=ExecutionStatus.FAILED)] == [made[3].id]
    with pytest.raises(NotFound):
        store.list_executions(before="unknown")


def test_claims_expire_without_heartbeat(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    clock = FakeClock()
    store = make_store(clock=clock)
    ctx = new_execution(into=store, status=ExecutionStatus.RUNNING)

    assert store.claim_execution(ctx.id, "worker-a") is True
    assert store.claim_execution(ctx.id, "worker-a") is True  # re-claiming your own
    assert store.claim_execution(ctx.id, "worker-b") is False
    clock.advance(25)
    store.heartbeat("worker-a")
    clock.advance(25)
    assert store.claim_execution(ctx.id, "worker-b") is False  # heartbeat 25 s ago: alive
    clock.advance(6)
    assert store.claim_execution(ctx.id, "worker-b") is True  # silent for 31 s: stale
    record = store.get_execution(ctx.id)
    assert record is not None
    assert (record.owner, record.heartbeat_at) == ("worker-b", clock.now)
    with pytest.raises(NotFound):
        store.claim_execution("missing", "worker-a")
    # a dead owner's claim dropped: another claims at once; dropping someone else's does nothing
    store.disown_execution(ctx.id, "worker-a")
    assert store.claim_execution(ctx.id, "worker-a") is False
    store.disown_execution(ctx.id, "worker-b")
    record = store.get_execution(ctx.id)
    assert record is not None
    assert (record.owner, record.heartbeat_at, record.owner_process) == (None, None, None)
    assert store.claim_execution(ctx.id, "worker-a") is True


def test_start_execution_claims_and_runs_a_pending_execution_in_one_write(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    clock = FakeClock()
    store = make_store(clock=clock)
    ctx = new_execution(into=store)
    owner = OwnerProcess("host-a", 4242, "start-1")

    assert store.start_execution(ctx.id, "w1", process=owner) is True

    record = store.get_execution(ctx.id)
    assert record is not None
    assert record.context.status is ExecutionStatus.RUNNING
    assert (record.owner, record.heartbeat_at, record.owner_process) == ("w1", clock.now, owner)


def test_resume_drops_the_previous_runs_claim(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    # `baton run` fails (or pauses for an approval) and exits; `baton resume` seconds later, in
    # another process, must hold the execution, or a read command takes its run for the dead one's
    clock = FakeClock()
    store = make_store(clock=clock)
    ctx = new_execution(into=store)
    assert store.start_execution(ctx.id, "run-1", process=OwnerProcess("h", 100, "s1")) is True
    store.finish_execution(ctx.id, ExecutionStatus.FAILED, error="exit 1")

    store.set_execution_status(ctx.id, ExecutionStatus.PENDING, resume=True)
    record = store.get_execution(ctx.id)
    assert record is not None
    assert (record.owner, record.heartbeat_at, record.owner_process) == (None, None, None)

    assert store.start_execution(ctx.id, "resume-2", process=OwnerProcess("h", 200, "s2")) is True
    record = store.get_execution(ctx.id)
    assert record is not None
    assert (record.context.status, record.owner, record.owner_process) == (
        ExecutionStatus.RUNNING, "resume-2", OwnerProcess("h", 200, "s2"))


def test_a_resumer_holds_the_claim_from_the_moment_it_resumes(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    # a worker claims a dead worker's execution and resumes it: no moment without a claim, so a
    # second delivery of the same execution waits instead of resuming it a second time
    clock = FakeClock()
    store = make_store(clock=clock)
    ctx = new_execution(into=store)
    assert store.start_execution(ctx.id, "w1", process=OwnerProcess("h", 100, "s1")) is True
    clock.advance(60)  # w1 is dead: its heartbeat went stale
    assert store.claim_execution(ctx.id, "w2") is True
    store.set_execution_status(ctx.id, ExecutionStatus.FAILED, error="w1 died")
    store.set_execution_status(ctx.id, ExecutionStatus.PENDING, resume=True, owner="w2")
    record = store.get_execution(ctx.id)
    assert record is not None
    assert (record.context.status, record.owner, record.heartbeat_at) == (ExecutionStatus.PENDING, "w2", clock.now)
    assert store.claim_execution(ctx.id, "w3") is False
    assert store.start_execution(ctx.id, "w2", process=OwnerProcess("h", 200, "s2")) is True


def test_start_execution_changes_nothing_when_the_execution_is_not_pending(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    store = make_store(clock=FakeClock())
    cancelled = new_execution(into=store)
    store.set_execution_status(cancelled.id, ExecutionStatus.CANCELLED, error="by user")

    with pytest.raises(IllegalTransition):
        store.start_execution(cancelled.id, "w1", process=OwnerProcess("h", 1, None))
    record = store.get_execution(cancelled.id)
    assert record is not None
    # the claim is rolled back with the refused move
    assert (record.context.status, record.owner, record.owner_process) == (ExecutionStatus.CANCELLED, None, None)
    with pytest.raises(NotFound):
        store.start_execution("missing", "w1")


def test_start_execution_keeps_a_live_owners_claim(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    clock = FakeClock()
    store = make_store(clock=clock)
    ctx = new_execution(into=store)
    store.claim_execution(ctx.id, "w1")

    assert store.start_execution(ctx.id, "w2") is False  # as claim_execution: w1 is alive

    record = store.get_execution(ctx.id)
    assert record is not None
    assert (record.context.status, record.owner) == (ExecutionStatus.RUNNING, "w1")


def test_execution_states_reads_status_and_error_of_many(
    store: SqlStore, new_execution: NewExecution
) -> None:
    running = new_execution(status=ExecutionStatus.RUNNING)
    cancelled = new_execution(status=ExecutionStatus.RUNNING)
    store.set_execution_status(cancelled.id, ExecutionStatus.CANCELLED, error="stop")
    many = [new_execution() for _ in range(3)]

    states = store.execution_states([running.id, cancelled.id, "missing", running.id,
                                     *(c.id for c in many)])

    assert states[running.id] == ExecutionState(ExecutionStatus.RUNNING, None)
    assert states[cancelled.id] == ExecutionState(ExecutionStatus.CANCELLED, "stop")
    assert "missing" not in states
    assert len(states) == 5
    assert store.execution_states([]) == {}


def test_heartbeat_touches_only_the_owners_unfinished_executions(
    make_store: Callable[..., SqlStore], new_execution: NewExecution
) -> None:
    clock = FakeClock()
    store = make_store(clock=clock)
    running = new_execution(into=store, status=ExecutionStatus.RUNNING)
    finished = new_execution(into=store, status=ExecutionStatus.RUNNING)
    other = new_execution(into=store, status=ExecutionStatus.RUNNING)
    for ctx, owner in ((running, "w1"), (finished, "w1"), (other, "w2")):
        store.claim_execution(ctx.id, owner)
    store.set_execution_status(finished.id, ExecutionStatus.COMPLETED)
    claimed_at = clock.now
    clock.advance(10)

    store.heartbeat("w1")

    def beat(ctx: ExecutionContext) -> datetime | None:
        record = store.get_execution(ctx.id)
        assert record is not None
        return record.heartbeat_at

    assert beat(running) == clock.now
    assert beat(finished) == claimed_at
    assert beat(other) == claimed_at


# -- step runs -------------------------------------------------------------------------------------


def test_save_step_upserts_and_lists_in_first_saved_order(
    store: SqlStore, new_execution: NewExecution
) -> None:
    ctx = new_execution(status=ExecutionStatus.RUNNING)
    start = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    store.save_step(
        StepRun(
            execution_id=ctx.id,
            step_id="zeta",
            status=StepStatus.RUNNING,
            agent_id="sh",
            attempt=1,
            started_at=start,
        )
    )
    store.save_step(StepRun(execution_id=ctx.id, step_id="alpha", status=StepStatus.PENDING))
    done = StepRun(
        execution_id=ctx.id,
        step_id="zeta",
        status=StepStatus.FAILED,
        agent_id="sh",
        attempt=2,
        iteration=1,
        started_at=start,
        ended_at=start + timedelta(seconds=3),
        output={"text": "x", "n": [1, 2]},
        error="exit 1",
        error_type="AgentFailed",
        cache_hit=True,
    )
    store.save_step(done)

    steps = store.list_steps(ctx.id)

    assert [s.step_id for s in steps] == ["zeta", "alpha"]
    assert steps[0].model_dump() == done.model_dump()
    assert steps[1].output is None and steps[1].status is StepStatus.PENDING
    assert store.list_steps("other") == []


def test_step_of_unknown_execution_is_an_integrity_violation(store: SqlStore) -> None:
    ghost = ExecutionContext.model_construct(id="ghost", trace_id="0" * 31 + "1")
    with pytest.raises(IntegrityViolation, match="'ghost'"):
        store.save_step(StepRun(execution_id="ghost", step_id="a"), [log_row(ghost, "hi")])
    assert store.list_steps("ghost") == []
    assert store.list_logs("ghost") == []


def test_step_ending_before_it_starts_is_refused(store: SqlStore, new_execution: NewExecution) -> None:
    ctx = new_execution()
    start = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(IntegrityViolation, match="before it starts"):
        store.save_step(
            StepRun(execution_id=ctx.id, step_id="a", started_at=start, ended_at=start - timedelta(seconds=1))
        )


def test_save_step_is_atomic_with_its_logs(store: SqlStore, new_execution: NewExecution) -> None:
    ctx = new_execution()
    store.save_step(StepRun(execution_id=ctx.id, step_id="a"), [log_row(ctx, "first", id="dup")])

    running = StepRun(execution_id=ctx.id, step_id="a", status=StepStatus.RUNNING)
    with pytest.raises(IntegrityViolation):
        store.save_step(running, [log_row(ctx, "second"), log_row(ctx, "again", id="dup")])

    assert store.list_steps(ctx.id)[0].status is StepStatus.PENDING
    assert [g.message for g in store.list_logs(ctx.id)] == ["first"]
    # the store is still usable and numbering continues without a gap
    store.save_step(running, [log_row(ctx, "third")])
    assert [(g.seq, g.message) for g in store.list_logs(ctx.id)] == [(1, "first"), (2, "third")]


# -- logs --------------------------------------------------------------------------------------------


def test_logs_are_numbered_by_the_store(store: SqlStore, new_execution: NewExecution) -> None:
    ctx, other = new_execution(), new_execution()
    store.append_logs([log_row(ctx, "a", seq=99), log_row(other, "x"), log_row(ctx, "b")])
    store.save_step(StepRun(execution_id=ctx.id, step_id="s"), [log_row(ctx, "c")])

    assert [(g.seq, g.message) for g in store.list_logs(ctx.id)] == [(1, "a"), (2, "b"), (3, "c")]
    assert [(g.seq, g.message) for g in store.list_logs(other.id)] == [(1, "x")]


def test_log_batch_with_an_unknown_execution_writes_nothing(
    store: SqlStore, new_execution: NewExecution
) -> None:
    ctx = new_execution()
    ghost = ExecutionContext.model_construct(id="ghost", trace_id=ctx.trace_id)

    with pytest.raises(IntegrityViolation, match="'ghost'"):
        store.append_logs([log_row(ctx, "kept?"), log_row(ghost, "orphan")])

    assert store.list_logs(ctx.id) == []


def test_log_round_trip_keeps_every_field(store: SqlStore, new_execution: NewExecution) -> None:
    ctx = new_execution()
    at = datetime(2026, 6, 1, 12, 0, 0, 500, tzinfo=timezone(timedelta(hours=-5)))
    row = log_row(
        ctx,
        "héllo ✓",
        level=LogLevel.ERROR,
        step_id="s1",
        timestamp=at,
        metadata={"exit_code": 2, "files": ["a.py"], "nested": {"ok": False}},
    )

    store.append_logs([row])

    (got,) = store.list_logs(ctx.id)
    assert got.model_dump() == {**row.model_dump(), "seq": 1}
    assert got.timestamp.utcoffset() == timedelta(0) and got.timestamp == at


def test_older_log_rows_are_clamped_to_keep_time_monotonic(
    store: SqlStore, new_execution: NewExecution
) -> None:
    ctx = new_execution()
    t0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    store.append_logs([log_row(ctx, "a", timestamp=t0 + timedelta(seconds=10))])

    store.append_logs(
        [
            log_row(ctx, "late", timestamp=t0, metadata={"k": 1}),
            log_row(ctx, "next", timestamp=t0 + timedelta(seconds=11)),
        ]
    )

    a, late, nxt = store.list_logs(ctx.id)
    assert late.timestamp == a.timestamp == t0 + timedelta(seconds=10)
    assert late.metadata == {"k": 1, "original_timestamp": t0.isoformat()}
    assert nxt.timestamp == t0 + timedelta(seconds=11)
    assert "original_timestamp" not in nxt.metadata


def test_list_logs_filters(store: SqlStore, new_execution: NewExecution) -> None:
    ctx = new_execution()
    levels = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR, LogLevel.CRITICAL]
    store.append_logs(
        [log_row(ctx, f"{lv.value}-{step}", level=lv, step_id=step) for step in ("a", "b") for lv in levels]
    )

    assert len(store.list_logs(ctx.id)) == 10
    assert [g.message for g in store.list_logs(ctx.id, step_id="b", min_level=LogLevel.ERROR)] == [
        "error-b",
        "critical-b",
    ]
    assert [g.level for g in store.list_logs(ctx.id, min_level=LogLevel.WARNING)] == [
        LogLevel.WARNING,
        LogLevel.ERROR,
        LogLevel.CRITICAL,
    ] * 2
    page = store.list_logs(ctx.id, after_seq=3, limit=4)
    assert [g.seq for g in page] == [4, 5, 6, 7]
    assert store.list_logs(ctx.id, after_seq=10) == []


def test_nul_characters_are_stored_as_replacement_characters(
    store: SqlStore, new_execution: NewExecution
) -> None:
    ctx = new_execution(status=ExecutionStatus.RUNNING)
    store.save_step(
        StepRun(
            execution_id=ctx.id,
            step_id="sh",
            output={"text": "bin\x00ary", "k\x00": ["\x00"]},
            error="exit\x001",
        ),
        [log_row(ctx, "out\x00put", metadata={"line": "a\x00b", "literal": "\\u0000"})],
    )
    store.set_execution_status(ctx.id, ExecutionStatus.FAILED, error="failed\x00")

    (step,) = store.list_steps(ctx.id)
    (row,) = store.list_logs(ctx.id)
    record = store.get_execution(ctx.id)
    assert step.output == {"text": "bin\ufffdary", "k\ufffd": ["\ufffd"]}
    assert step.error == "exit\ufffd1"
    assert row.message == "out\ufffdput"
    assert row.metadata == {"line": "a\ufffdb", "literal": "\\u0000"}
    assert record is not None and record.context.error == "failed\ufffd"


def test_finish_execution_writes_status_and_final_rows_together(
    store: SqlStore, new_execution: NewExecution
) -> None:
    from baton.models import ExecutionLog, IllegalTransition

    ctx = new_execution()
    store.set_execution_status(ctx.id, ExecutionStatus.RUNNING)
    final = ExecutionLog(execution_id=ctx.id, message="execution completed", trace_id=ctx.trace_id,
                         metadata={"final": True})
    done = store.finish_execution(ctx.id, ExecutionStatus.COMPLETED, logs=[final])
    assert done.status is ExecutionStatus.COMPLETED and done.end_time is not None
    stored = store.get_context(ctx.id)
    assert stored is not None and (stored.status, stored.end_time, stored.error) == (
        done.status, done.end_time, done.error)
    assert [row.message for row in store.list_logs(ctx.id)][-1] == "execution completed"
    with pytest.raises(IllegalTransition):
        store.finish_execution(ctx.id, ExecutionStatus.CANCELLED,
                               logs=[ExecutionLog(execution_id=ctx.id, message="late",
                                                  trace_id=ctx.trace_id)])
    # the refused transition wrote nothing
    assert "late" not in [row.message for row in store.list_logs(ctx.id)]
    record = store.get_execution(ctx.id)
    assert record is not None and record.context.status is ExecutionStatus.COMPLETED
