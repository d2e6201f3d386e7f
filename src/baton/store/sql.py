"""SqlStore: the Store on SQLAlchemy Core, for SQLite files and PostgreSQL.

Every write runs in one transaction that first locks what it reads (``BEGIN IMMEDIATE``
on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), so status changes, log sequence
numbers and claims stay correct when several processes share one database.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Table,
    Text,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError

from baton.config.masking import mask_secrets, mask_yaml_text
from baton.models import (
    AgentStatus,
    ExecutionContext,
    ExecutionLog,
    ExecutionStatus,
    IllegalTransition,
    LogLevel,
    StepRun,
    StepStatus,
    Trigger,
    agent_transition,
    execution_transition,
    resume_transition,
)
from baton.store import export
from baton.store.base import (
    AuditEntry,
    CacheEntry,
    ConfigVersion,
    ExecutionRecord,
    ExecutionState,
    OwnedGroup,
    OwnerProcess,
    StepWrite,
    UsageRecord,
    UsageTotal,
)
from baton.store.checkpoint import WalCheckpointer
from baton.store.engine import WRITE_OPTION
from baton.store.errors import (
    AlreadyExists,
    ConfigVersionImmutable,
    IntegrityViolation,
    InvalidArgument,
    NotFound,
    StoreUnavailable,
    first_line,
    is_disk_full,
)
from baton.store.hotpath import StepLogWriter
from baton.store.leasing import LeaseMethods
from baton.store.reads import CONTEXT_COLUMNS, Reads
from baton.store.schema import (
    agents,
    cache_entries,
    config_audit,
    config_versions,
    execution_logs,
    execution_processes,
    executions,
    step_runs,
    usage,
)
from baton.store.types import clean_text, dumps, utc

if TYPE_CHECKING:
    from baton.models.agent import Agent

DEFAULT_MAX_LOG_BYTES = 10 * 1024 * 1024
DEFAULT_CLAIM_TIMEOUT = timedelta(seconds=30)
USAGE_GROUPS = ("agent", "model", "workflow", "day", "execution")
_PG_CONFIG_LOCK = 0x62A70_0002
_CONTEXT_COLUMNS = tuple(executions.c[name] for name in CONTEXT_COLUMNS)
_ACTIVE = (ExecutionStatus.PENDING.value, ExecutionStatus.RUNNING.value)
_JSON_COLUMNS = frozenset({"parameters", "environment", "shared_config", "workflow_snapshot"})


def utc_now() -> datetime:
    return datetime.now(UTC)


class SqlStore(LeaseMethods):
    """The Store protocol over a SQLAlchemy engine (SQLite or PostgreSQL).

    ``max_log_bytes`` caps each execution's stored log (message + metadata JSON bytes);
    ``claim_timeout`` is how long a silent owner keeps its claim on an execution;
    ``clock`` is the wall clock (UTC) used for every timestamp the store sets.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
        claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.max_log_bytes = max_log_bytes
        self.claim_timeout = claim_timeout
        self._clock = clock
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._dialect = engine.dialect.name
        self._checkpointer = WalCheckpointer(engine.url.database or "") if self._dialect == "sqlite" else None
        self._steps = StepLogWriter(
            engine,
            max_log_bytes,
            on_commit=None if self._checkpointer is None else self._checkpointer.committed,
        )

    # -- plumbing ----------------------------------------------------------------------------
    def _now(self) -> datetime:
        return utc(self._clock())

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._writer.connect() as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            if is_disk_full(exc):
                raise StoreUnavailable(f"the store cannot be written: {first_line(exc)}") from None
            raise

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def reads(self) -> Iterator[Reads]:
        """The read statements of :mod:`baton.store.reads` on one pooled connection."""
        with self.engine.connect() as conn:
            yield self._reads_on(conn)

    def reader(self) -> Reads:
        """The read statements, each on a pooled connection of its own (so a reader kept
        open, as ``baton logs --follow`` keeps it, sees every new commit)."""

        def execute(sql: str, params: tuple[Any, ...]) -> Sequence[Row[Any]]:
            with self.engine.connect() as conn:
                return conn.exec_driver_sql(sql, params).all()

        return Reads(execute, postgres=self._dialect == "postgresql")

    def _reads_on(self, conn: Connection) -> Reads:
        def execute(sql: str, params: tuple[Any, ...]) -> Sequence[Row[Any]]:
            return conn.exec_driver_sql(sql, params).all()

        return Reads(execute, postgres=self._dialect == "postgresql")

    def _upsert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _lock(self, conn: Connection, key: int) -> None:
        """Serialize a critical section across processes (SQLite: BEGIN IMMEDIATE did it)."""
        if self._dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    # -- agents ------------------------------------------------------------------------------
    def upsert_agent(self, agent: Agent) -> None:
        """Insert or update an agent's definition; an existing agent keeps its status and
        health (those change only through :meth:`set_agent_status`)."""
        now = self._now()
        from baton.models.agent import AgentConfig

        definition = mask_secrets(agent.model_dump(mode="json", include=set(AgentConfig.model_fields)))
        stmt = self._upsert(agents).values(
            id=agent.id,
            status=agent.status.value,
            last_health_check=agent.last_health_check,
            config=definition,
            created_at=agent.created_at,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[agents.c.id],
            set_={"config": stmt.excluded.config, "updated_at": stmt.excluded.updated_at},
        )
        with self._write() as conn:
            conn.execute(stmt)

    def get_agent(self, agent_id: str) -> Agent | None:
        with self._read() as conn:
            row = conn.execute(select(agents).where(agents.c.id == agent_id)).first()
        return None if row is None else _agent(row)

    def list_agents(self) -> list[Agent]:
        with self._read() as conn:
            rows = conn.execute(select(agents).order_by(agents.c.id)).all()
        return [_agent(row) for row in rows]

    def set_agent_status(
        self, agent_id: str, status: AgentStatus, *, health_checked_at: datetime | None = None
    ) -> Agent:
        """Move an agent through its state machine. Setting the status it already has is
        not a transition: it only records ``health_checked_at``. The stored health-check
        time never moves backwards."""
        now = self._now()
        with self._write() as conn:
            row = conn.execute(select(agents).where(agents.c.id == agent_id).with_for_update()).first()
            if row is None:
                raise NotFound("agent", agent_id)
            current = AgentStatus(row.status)
            if status != current:
                agent_transition(current, status)
            checked = row.last_health_check
            if health_checked_at is not None:
                at = utc(health_checked_at)
                checked = at if checked is None or at > checked else checked
            conn.execute(
                update(agents)
                .where(agents.c.id == agent_id)
                .values(status=status.value, last_health_check=checked, updated_at=now)
            )
            fresh = conn.execute(select(agents).where(agents.c.id == agent_id)).one()
        return _agent(fresh)

    def remove_agent(self, agent_id: str) -> None:
        with self._write() as conn:
            if conn.execute(delete(agents).where(agents.c.id == agent_id)).rowcount == 0:
                raise NotFound("agent", agent_id)

    # -- configuration versions -----------------------------------------------------------------
    def apply_config(self, version: str, content: str, *, actor: str) -> ConfigVersion:
        """Record ``content`` as configuration ``version``. Re-applying identical content is
        a no-op audited as "reapply"; different content under an applied version raises
        :class:`ConfigVersionImmutable`. Every call writes an audit row whose diff is
        against the version applied most recently before it. Literal credentials in
        ``content`` are stored masked (``${VAR}`` references are kept as written)."""
        content = config_as_stored(content)
        digest = export.content_hash(content)
        now = self._now()
        with self._write() as conn:
            self._lock(conn, _PG_CONFIG_LOCK)
            existing = conn.execute(
                select(config_versions).where(config_versions.c.version == version)
            ).first()
            if existing is not None and existing.content_hash != digest:
                raise ConfigVersionImmutable(version)
            previous = self._current_config(conn)
            if existing is None:
                conn.execute(
                    insert(config_versions).values(
                        version=version,
                        content=content,
                        content_hash=digest,
                        applied_at=now,
                        applied_by=actor,
                    )
                )
                applied = ConfigVersion(version, content, digest, now, actor)
                action = "apply"
            else:
                applied = _config_version(existing)
                action = "reapply"
            conn.execute(
                insert(config_audit).values(
                    version=version,
                    actor=actor,
                    at=now,
                    action=action,
                    diff=clean_text(_unified_diff(previous, version, content)),
                )
            )
        return applied

    def _current_config(self, conn: Connection) -> tuple[str, str] | None:
        """(version, content) of the most recently applied configuration, if any."""
        row = conn.execute(
            select(config_versions.c.version, config_versions.c.content)
            .join(config_audit, config_audit.c.version == config_versions.c.version)
            .where(config_audit.c.action.in_(("apply", "reapply")))
            .order_by(config_audit.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else (row.version, row.content)

    def get_config_version(self, version: str) -> ConfigVersion | None:
        with self._read() as conn:
            row = conn.execute(select(config_versions).where(config_versions.c.version == version)).first()
        return None if row is None else _config_version(row)

    def list_config_versions(self) -> list[ConfigVersion]:
        with self._read() as conn:
            rows = conn.execute(
                select(config_versions).order_by(config_versions.c.applied_at, config_versions.c.version)
            ).all()
        return [_config_version(row) for row in rows]

    def config_audit(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` audit rows, newest first."""
        with self._read() as conn:
            rows = conn.execute(select(config_audit).order_by(config_audit.c.id.desc()).limit(limit)).all()
        return [
            AuditEntry(
                id=row.id,
                version=row.version,
                actor=row.actor,
                at=row.at,
                action=row.action,
                diff=row.diff,
            )
            for row in rows
        ]

    # -- executions ------------------------------------------------------------------------------
    def create_execution(self, ctx: ExecutionContext, *, workflow_snapshot: dict[str, Any]) -> None:
        values = _execution_values(ctx, workflow_snapshot, self._now())
        raw = self._steps
        p, t = raw.placeholder, raw.time
        json_value = f"{p}::jsonb" if self._dialect == "postgresql" else p
        columns = ", ".join(values)
        marks = ", ".join(json_value if name in _JSON_COLUMNS else p for name in values)
        params = [dumps(v) if name in _JSON_COLUMNS else t(v) if isinstance(v, datetime) else v
                  for name, v in values.items()]
        try:  # plain SQL on the hot path's connection: every execution pays it
            with raw.transaction(f"execution {ctx.id!r}") as cursor:
                cursor.execute(f"INSERT INTO executions ({columns}) VALUES ({marks})", params)
        except raw.integrity_error:
            raise AlreadyExists("execution", ctx.id) from None

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        with self.reads() as reads:
            row = reads.execution(execution_id)
        return None if row is None else _record(row)

    def get_context(self, execution_id: str) -> ExecutionContext | None:
        """The execution's context (status, error...) without its record's workflow snapshot."""
        with self.reads() as reads:
            row = reads.context(execution_id)
        return None if row is None else _context(row)

    def match_execution_ids(self, prefix: str, limit: int = 2) -> list[str]:
        """Ids of stored executions that start with ``prefix`` (at most ``limit``)."""
        with self.reads() as reads:
            return reads.match_ids(prefix, limit)

    def list_executions(
        self,
        *,
        status: ExecutionStatus | None = None,
        workflow_id: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[ExecutionContext]:
        """Executions newest first; ``before`` is the id of the last one of the previous page."""
        with self.reads() as reads:
            rows = reads.executions(status=None if status is None else status.value, workflow_id=workflow_id,
                                    limit=limit, before=before)
        if rows is None:
            raise NotFound("execution", before or "")
        return [_context(row) for row in rows]

    def set_execution_status(
        self,
        execution_id: str,
        status: ExecutionStatus,
        *,
        error: str | None = None,
        resume: bool = False,
        owner: str | None = None,
    ) -> ExecutionContext:
        """Move an execution through its state machine (``resume=True``: back to PENDING via
        :func:`resume_transition`, its claim handed to ``owner``, the resumer, or dropped when
        none is given). The row is locked while the transition is checked, so of two concurrent
        callers only one can take a given edge."""
        now = self._now()
        with self._write() as conn:
            row = conn.execute(
                select(*_CONTEXT_COLUMNS).where(executions.c.id == execution_id).with_for_update()
            ).first()
            if row is None:
                raise NotFound("execution", execution_id)
            current = ExecutionStatus(row.status)
            values: dict[str, Any] = {"updated_at": now}
            if resume:
                target = resume_transition(current)
                if status != target:
                    raise IllegalTransition(
                        "execution", current.value, f"{status.value} (resume)", [target.value]
                    )
                # the process that ran it before no longer holds it: the resumer does at once (no
                # moment without a claim, in which a second resumer could take it), or nobody
                values.update(
                    status=target.value, end_time=None, error=None if error is None else clean_text(error),
                    owner=owner, heartbeat_at=None if owner is None else now,
                    owner_host=None, owner_pid=None, owner_start=None,
                )
            else:
                execution_transition(current, status)
                values["status"] = status.value
                if status.is_terminal:
                    values["end_time"] = max(now, row.start_time)
                if error is not None:
                    values["error"] = clean_text(error)
            changed = conn.execute(
                update(executions)
                .where(executions.c.id == execution_id, executions.c.status == current.value)
                .values(**values)
            ).rowcount
            if changed != 1:  # the lock makes this unreachable; never overwrite blindly
                raise IllegalTransition("execution", current.value, status.value, [])
            fresh = self._reads_on(conn).context(execution_id)
        assert fresh is not None  # the row is locked
        return _context(fresh)

    def finish_execution(
        self,
        execution_id: str,
        status: ExecutionStatus,
        *,
        error: str | None = None,
        logs: Sequence[ExecutionLog] = (),
    ) -> ExecutionState:
        """Move a running execution to a terminal status and append its final log rows in
        one transaction, so a crash never leaves one without the other; what it stored."""
        if not status.is_terminal:
            raise InvalidArgument(f"finish_execution needs a terminal status, not {status.value!r}")
        groups = _by_execution(logs)
        groups.setdefault(execution_id, [])
        ended = self._steps.write((), groups, self._now(), what=f"execution {execution_id!r}",
                                  finish=(execution_id, status, error))
        assert ended is not None
        return ended

    def claim_execution(self, execution_id: str, owner: str, *, process: OwnerProcess | None = None
                        ) -> bool:
        """Make ``owner`` the execution's worker if nobody owns it or its owner has not sent
        a heartbeat for ``claim_timeout``. True if ``owner`` holds it now. ``process`` is the
        owner's host, pid and start token, so a later command can tell that it died."""
        now = self._now()
        stale = now - self.claim_timeout
        c = executions.c
        with self._write() as conn:
            claimed = conn.execute(
                update(executions)
                .where(
                    c.id == execution_id,
                    or_(
                        c.owner.is_(None),
                        c.owner == owner,
                        c.heartbeat_at.is_(None),
                        c.heartbeat_at < stale,
                    ),
                )
                .values(owner=owner, heartbeat_at=now, updated_at=now,
                        **({"owner_host": process.host, "owner_pid": process.pid,
                            "owner_start": process.start} if process is not None else {}))
            ).rowcount
            if claimed:
                return True
            exists = conn.execute(select(c.id).where(c.id == execution_id)).first()
        if exists is None:
            raise NotFound("execution", execution_id)
        return False

    def start_execution(self, execution_id: str, owner: str, *, process: OwnerProcess | None = None
                        ) -> bool:
        """Claim the execution as :meth:`claim_execution` does and move it from PENDING to
        RUNNING, in one transaction (nothing changes if the move is illegal: IllegalTransition,
        or NotFound). True if ``owner`` holds the claim now."""
        raw = self._steps
        p, t = raw.placeholder, raw.time
        now = self._now()
        stamp = t(now)
        owned = f", owner_host = {p}, owner_pid = {p}, owner_start = {p}" if process is not None else ""
        claim_params: tuple[Any, ...] = (owner, stamp, stamp)
        if process is not None:
            claim_params += (process.host, process.pid, process.start)
        claim_params += (execution_id, owner, t(now - self.claim_timeout))
        with raw.transaction(f"execution {execution_id!r}") as cursor:
            cursor.execute(
                f"UPDATE executions SET owner = {p}, heartbeat_at = {p}, updated_at = {p}{owned} "
                f"WHERE id = {p} AND (owner IS NULL OR owner = {p} OR heartbeat_at IS NULL "
                f"OR heartbeat_at < {p})", claim_params)
            claimed: bool = cursor.rowcount == 1
            cursor.execute(
                f"UPDATE executions SET status = {p}, updated_at = {p} WHERE id = {p} AND status = {p}",
                (ExecutionStatus.RUNNING.value, stamp, execution_id, ExecutionStatus.PENDING.value))
            if cursor.rowcount != 1:
                cursor.execute(f"SELECT status FROM executions WHERE id = {p}", (execution_id,))
                row = cursor.fetchone()
                if row is None:
                    raise NotFound("execution", execution_id)
                execution_transition(ExecutionStatus(row[0]), ExecutionStatus.RUNNING)
        return claimed

    def execution_states(self, execution_ids: Sequence[str]) -> dict[str, ExecutionState]:
        """Status and error of each of the executions that exists (one read per 500 ids)."""
        p = self._steps.placeholder
        states: dict[str, ExecutionState] = {}
        ids = list(dict.fromkeys(execution_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._steps.query(
                f"SELECT id, status, error FROM executions WHERE id IN ({', '.join(p for _ in chunk)})",
                chunk, "execution states")
            for execution_id, status, error in rows:
                states[execution_id] = ExecutionState(ExecutionStatus(status), error)
        return states

    def heartbeat(self, owner: str) -> None:
        """Refresh ``heartbeat_at`` of every unfinished execution ``owner`` holds."""
        c = executions.c
        with self._write() as conn:
            conn.execute(
                update(executions)
                .where(c.owner == owner, c.status.in_(_ACTIVE))
                .values(heartbeat_at=self._now())
            )

    def disown_execution(self, execution_id: str, owner: str) -> None:
        """Drop ``owner``'s claim on the execution (its process is gone), so that whoever
        resumes it claims it at once rather than after ``claim_timeout``."""
        c = executions.c
        with self._write() as conn:
            conn.execute(
                update(executions)
                .where(c.id == execution_id, c.owner == owner)
                .values(owner=None, heartbeat_at=None, owner_host=None, owner_pid=None, owner_start=None)
            )

    def running_on(self, host: str) -> list[ExecutionRecord]:
        """RUNNING executions whose owner process is on ``host``."""
        with self.reads() as reads:
            return [_record(row) for row in reads.running_on(host)]

    def track_process(self, execution_id: str, step_id: str, group: OwnedGroup) -> None:
        """Record a process group an agent of the execution runs in."""
        with self._write() as conn:
            conn.execute(self._upsert(execution_processes).values(
                execution_id=execution_id, pgid=group.pgid, host=group.host, start=group.start,
                step_id=step_id, started_at=self._now()).on_conflict_do_nothing())

    def untrack_process(self, execution_id: str, pgid: int) -> None:
        with self._write() as conn:
            conn.execute(delete(execution_processes).where(
                execution_processes.c.execution_id == execution_id,
                execution_processes.c.pgid == pgid))

    def tracked_processes(self, execution_id: str) -> list[OwnedGroup]:
        t = execution_processes.c
        with self._read() as conn:
            rows = conn.execute(select(t.pgid, t.host, t.start).where(
                t.execution_id == execution_id).order_by(t.started_at)).all()
        return [OwnedGroup(pgid=r.pgid, host=r.host, start=r.start) for r in rows]

    # -- step runs and logs ---------------------------------------------------------------------
    def save_step(
        self, run: StepRun, logs: Sequence[ExecutionLog] = (), usage: UsageRecord | None = None
    ) -> None:
        """Upsert a step's state, record its usage and append its log rows in one transaction."""
        self.save_steps([StepWrite(run, logs, usage)])

    def save_steps(self, writes: Sequence[StepWrite]) -> None:
        """Apply several step writes (of any executions) in order, in one transaction."""
        runs: list[StepRun] = []
        usages: list[UsageRecord] = []
        logs: list[ExecutionLog] = []
        for w in writes:
            logs.extend(w.logs)
            if w.run is None:
                continue
            run = w.run
            if run.started_at is not None and run.ended_at is not None and run.ended_at < run.started_at:
                raise IntegrityViolation(
                    f"step {run.step_id!r} of execution {run.execution_id!r} ends "
                    f"({run.ended_at.isoformat()}) before it starts ({run.started_at.isoformat()})"
                )
            if w.usage is not None and w.usage.execution_id != run.execution_id:
                raise IntegrityViolation(
                    f"usage of step {w.usage.step_id!r} belongs to execution {w.usage.execution_id!r}, "
                    f"not {run.execution_id!r}"
                )
            runs.append(run)
            if w.usage is not None:
                usages.append(w.usage)
        groups = _by_execution(logs)
        for run in runs:
            groups.setdefault(run.execution_id, [])
        if not runs and not logs:
            return
        what = f"step {runs[0].step_id!r}" if len(runs) == 1 else (
            f"{len(runs)} steps" if runs else "log row")
        self._steps.write(runs, groups, self._now(), what=what, usages=usages)

    def list_steps(self, execution_id: str) -> list[StepRun]:
        """The execution's step runs in the order they were first saved."""
        with self.reads() as reads:
            return [_step(row) for row in reads.steps(execution_id)]

    def append_logs(self, logs: Sequence[ExecutionLog]) -> None:
        """Append log rows (of any executions) in one transaction; the rules are in
        :mod:`baton.store.logcap`."""
        if logs:
            self._steps.write((), _by_execution(logs), self._now(), what="log row")

    def list_logs(
        self,
        execution_id: str,
        *,
        step_id: str | None = None,
        min_level: LogLevel | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> list[ExecutionLog]:
        """Log rows in ``seq`` order; ``after_seq`` is a cursor (rows with a greater seq)."""
        levels = None if min_level is None else min_level.and_above()
        with self.reads() as reads:
            rows = reads.logs(execution_id, step_id=step_id, levels=levels, after_seq=after_seq, limit=limit)
        return [_log(row) for row in rows]

    # -- cache ------------------------------------------------------------------------------------
    def cache_get(self, key: str, now: datetime) -> CacheEntry | None:
        """The unexpired entry for ``key`` (its hit count incremented), or None."""
        c = cache_entries.c
        at = utc(now)
        with self._write() as conn:
            hit = conn.execute(
                update(cache_entries)
                .where(c.key == key, or_(c.expires_at.is_(None), c.expires_at > at))
                .values(hits=c.hits + 1)
            ).rowcount
            if not hit:
                return None
            row = conn.execute(select(cache_entries).where(c.key == key)).one()
        return CacheEntry(
            key=row.key,
            agent_id=row.agent_id,
            output=row.output,
            diff=row.diff,
            created_at=row.created_at,
            expires_at=row.expires_at,
            hits=row.hits,
        )

    def cache_put(self, entry: CacheEntry) -> None:
        stmt = self._upsert(cache_entries).values(
            key=entry.key,
            agent_id=entry.agent_id,
            output=entry.output,
            diff=None if entry.diff is None else clean_text(entry.diff),
            created_at=entry.created_at,
            expires_at=entry.expires_at,
            hits=entry.hits,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[cache_entries.c.key],
            set_={
                name: stmt.excluded[name]
                for name in ("agent_id", "output", "diff", "created_at", "expires_at", "hits")
            },
        )
        with self._write() as conn:
            conn.execute(stmt)

    def cache_clear(self) -> int:
        """Delete every cache entry; return how many there were."""
        with self._write() as conn:
            return conn.execute(delete(cache_entries)).rowcount

    # -- usage ------------------------------------------------------------------------------------
    def record_usage(self, record: UsageRecord) -> None:
        with self._write() as conn:
            known = conn.execute(
                select(executions.c.id).where(executions.c.id == record.execution_id)
            ).first()
            if known is None:
                raise IntegrityViolation(
                    f"usage of step {record.step_id!r} refers to execution "
                    f"{record.execution_id!r}, which does not exist"
                )
            conn.execute(
                insert(usage).values(
                    execution_id=record.execution_id,
                    step_id=record.step_id,
                    agent_id=record.agent_id,
                    model=record.model,
                    workflow_id=record.workflow_id,
                    input_tokens=record.input_tokens,
                    output_tokens=record.output_tokens,
                    cache_read_tokens=record.cache_read_tokens,
                    cache_write_tokens=record.cache_write_tokens,
                    cost_usd=record.cost_usd,
                    at=record.at or self._now(),
                )
            )

    def usage_totals(self, *, by: str, since: datetime | None = None) -> list[UsageTotal]:
        """Usage summed per agent, model, workflow, day (UTC, ``YYYY-MM-DD``) or execution,
        ordered by group; ``since`` keeps records at or after that time."""
        group = self._usage_group(by)
        c = usage.c
        query = (
            select(
                group.label("grp"),
                func.count().label("calls"),
                func.sum(c.input_tokens).label("input_tokens"),
                func.sum(c.output_tokens).label("output_tokens"),
                func.sum(c.cache_read_tokens).label("cache_read_tokens"),
                func.sum(c.cache_write_tokens).label("cache_write_tokens"),
                func.sum(c.cost_usd).label("cost_usd"),
            )
            .group_by(group)
            .order_by(group)
        )
        if since is not None:
            query = query.where(c.at >= utc(since))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            UsageTotal(
                group=str(row.grp),
                calls=int(row.calls),
                input_tokens=int(row.input_tokens),
                output_tokens=int(row.output_tokens),
                cache_read_tokens=int(row.cache_read_tokens),
                cache_write_tokens=int(row.cache_write_tokens),
                cost_usd=float(row.cost_usd),
            )
            for row in rows
        ]

    def _usage_group(self, by: str) -> ColumnElement[Any]:
        c = usage.c
        columns: dict[str, ColumnElement[Any]] = {
            "agent": c.agent_id,
            "model": c.model,
            "workflow": c.workflow_id,
            "execution": c.execution_id,
        }
        if by in columns:
            return columns[by]
        if by == "day":
            if self._dialect == "postgresql":
                return func.to_char(func.timezone("UTC", c.at), "YYYY-MM-DD")
            return func.substr(type_coerce(c.at, Text), 1, 10)
        raise InvalidArgument(f"cannot total usage by {by!r}; choose one of: {', '.join(USAGE_GROUPS)}")

    # -- export / import --------------------------------------------------------------------------
    def export_execution(self, execution_id: str) -> dict[str, Any]:
        """The execution, its step runs and its log rows as one JSON-able document."""
        with self._read() as conn:  # one transaction: a consistent snapshot
            reads = self._reads_on(conn)
            row = reads.execution(execution_id)
            if row is None:
                raise NotFound("execution", execution_id)
            steps = reads.steps(execution_id)
            logs = reads.logs(execution_id)
            spent = conn.execute(
                select(usage).where(usage.c.execution_id == execution_id).order_by(usage.c.id)
            ).all()
        document = export.execution_document(_record(row), [_step(s) for s in steps], [_log(g) for g in logs])
        document["usage"] = [export.usage_document(dict(u._mapping)) for u in spent]
        return document

    def import_execution(self, data: dict[str, Any]) -> str:
        """Recreate an exported execution as it was (same ids, seqs and times); refuse if
        its id is already stored. Returns the execution id."""
        bundle = export.read_execution_document(data)
        ctx = bundle.record.context
        now = self._now()
        values = _execution_values(ctx, bundle.record.workflow_snapshot, now)
        values.update(
            log_bytes=bundle.record.log_bytes,
            log_truncated=bundle.record.log_truncated,
            last_seq=bundle.logs[-1].seq if bundle.logs else 0,
            last_log_at=bundle.logs[-1].timestamp if bundle.logs else None,
        )
        try:
            with self._write() as conn:
                conn.execute(insert(executions).values(**values))
                if bundle.steps:  # created_at keeps the exported order of the steps
                    conn.execute(
                        insert(step_runs),
                        [
                            _step_values(s, now + timedelta(microseconds=i))
                            for i, s in enumerate(bundle.steps)
                        ],
                    )
                if bundle.logs:
                    conn.execute(insert(execution_logs), [_log_values(g) for g in bundle.logs])
                if bundle.usage:
                    conn.execute(insert(usage), bundle.usage)
        except IntegrityError:
            if self.get_execution(ctx.id) is not None:
                raise AlreadyExists("execution", ctx.id) from None
            raise IntegrityViolation(f"execution export {ctx.id!r} has duplicate step or log ids") from None
        return ctx.id

    def export_config_audit(self) -> list[dict[str, Any]]:
        """The whole configuration audit trail, oldest first, as JSON-able rows."""
        with self._read() as conn:
            rows = conn.execute(select(config_audit).order_by(config_audit.c.id)).all()
        return [
            {"version": r.version, "actor": r.actor, "at": utc(r.at).isoformat(), "action": r.action,
             "diff": r.diff}
            for r in rows
        ]

    def import_config_audit(self, rows: list[dict[str, Any]]) -> int:
        """Add audit rows not already present (same version, actor, time and action); returns
        how many were added. Their versions must be stored (import those first)."""
        added = 0
        with self._write() as conn:
            self._lock(conn, _PG_CONFIG_LOCK)
            for item in rows:
                try:
                    at = utc(datetime.fromisoformat(str(item["at"])))
                    values = {"version": str(item["version"]), "actor": str(item["actor"]), "at": at,
                              "action": str(item["action"]), "diff": str(item.get("diff") or "")}
                except (KeyError, ValueError) as exc:
                    raise InvalidArgument(f"configuration audit export: bad row ({exc})") from None
                known = conn.execute(
                    select(config_audit.c.id).where(
                        config_audit.c.version == values["version"], config_audit.c.actor == values["actor"],
                        config_audit.c.at == at, config_audit.c.action == values["action"],
                    )
                ).first()
                if known is None:
                    conn.execute(insert(config_audit).values(**values))
                    added += 1
        return added

    def export_config_versions(self) -> list[dict[str, Any]]:
        return [export.config_document(v) for v in self.list_config_versions()]

    def import_config_versions(self, data: list[dict[str, Any]]) -> int:
        """Add exported configuration versions (audited as "import"). A version already
        stored with the same content is skipped; with other content it raises
        :class:`ConfigVersionImmutable`. Returns how many versions were added."""
        versions = [export.read_config_document(item) for item in data]
        added = 0
        now = self._now()
        with self._write() as conn:
            self._lock(conn, _PG_CONFIG_LOCK)
            for v in versions:
                existing = conn.execute(
                    select(config_versions.c.content_hash).where(config_versions.c.version == v.version)
                ).scalar()
                if existing is not None:
                    if existing != v.content_hash:
                        raise ConfigVersionImmutable(v.version)
                    continue
                conn.execute(
                    insert(config_versions).values(
                        version=v.version,
                        content=v.content,
                        content_hash=v.content_hash,
                        applied_at=v.applied_at,
                        applied_by=v.applied_by,
                    )
                )
                conn.execute(
                    insert(config_audit).values(
                        version=v.version,
                        actor=v.applied_by,
                        at=now,
                        action="import",
                        diff=_unified_diff(None, v.version, v.content),
                    )
                )
                added += 1
        return added

    def close(self) -> None:
        """Release every connection (and stop the SQLite checkpoint thread)."""
        self._steps.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.engine.dispose()


def config_as_stored(content: str) -> str:
    """A configuration's text as ``apply_config`` stores (and hashes) it: literal credentials
    and registered secrets masked."""
    return clean_text(mask_yaml_text(content))


# -- row <-> model --------------------------------------------------------------------------------
def _by_execution(logs: Sequence[ExecutionLog]) -> dict[str, list[ExecutionLog]]:
    groups: dict[str, list[ExecutionLog]] = {}
    for log in logs:
        groups.setdefault(log.execution_id, []).append(log)
    return groups


def _unified_diff(previous: tuple[str, str] | None, version: str, content: str) -> str:
    before_name, before = previous if previous is not None else ("(none)", "")
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            content.splitlines(keepends=True),
            fromfile=f"config {before_name}",
            tofile=f"config {version}",
        )
    )


def _agent(row: Row[Any]) -> Agent:
    from baton.models.agent import Agent  # not at import: reading executions needs no agent model

    return Agent.model_validate(
        {
            **row.config,
            "id": row.id,
            "status": row.status,
            "last_health_check": row.last_health_check,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
    )


def _config_version(row: Row[Any]) -> ConfigVersion:
    return ConfigVersion(
        version=row.version,
        content=row.content,
        content_hash=row.content_hash,
        applied_at=row.applied_at,
        applied_by=row.applied_by,
    )


def _execution_values(ctx: ExecutionContext, snapshot: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": ctx.id,
        "workflow_id": ctx.workflow_id,
        "workspace_dir": ctx.workspace_dir,
        "parameters": ctx.parameters,
        "environment": ctx.environment,
        "shared_config": ctx.shared_config,
        "start_time": ctx.start_time,
        "end_time": ctx.end_time,
        "status": ctx.status.value,
        "trace_id": ctx.trace_id,
        "error": None if ctx.error is None else clean_text(ctx.error),
        "workflow_snapshot": snapshot,
        "config_hash": ctx.config_hash,
        "config_version": ctx.config_version,
        "trigger": None if ctx.trigger is None else ctx.trigger.value,
        "log_bytes": 0,
        "log_truncated": False,
        "log_dropped": 0,
        "last_seq": 0,
        "last_log_at": None,
        "owner": None,
        "heartbeat_at": None,
        "owner_host": None,
        "owner_pid": None,
        "owner_start": None,
        "created_at": now,
        "updated_at": now,
    }


def _context(row: Mapping[str, Any]) -> ExecutionContext:
    # Stored rows were validated on the way in; re-validating would re-check that the
    # workspace directory still exists, which a finished execution need not satisfy.
    return ExecutionContext.model_construct(
        id=row["id"],
        workflow_id=row["workflow_id"],
        workspace_dir=row["workspace_dir"],
        parameters=row["parameters"],
        environment=row["environment"],
        shared_config=row["shared_config"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        status=ExecutionStatus(row["status"]),
        trace_id=row["trace_id"],
        error=row["error"],
        config_hash=row["config_hash"],
        config_version=row["config_version"],
        trigger=_trigger(row["trigger"]),
    )


def _trigger(value: str | None) -> Trigger | None:
    try:
        return None if value is None else Trigger(value)
    except ValueError:
        return None  # written by a newer Baton


def _record(row: Mapping[str, Any]) -> ExecutionRecord:
    return ExecutionRecord(
        context=_context(row),
        workflow_snapshot=row["workflow_snapshot"],
        log_bytes=row["log_bytes"],
        log_truncated=bool(row["log_truncated"]),
        owner=row["owner"],
        heartbeat_at=row["heartbeat_at"],
        owner_process=None if row["owner_host"] is None else OwnerProcess(
            host=row["owner_host"], pid=row["owner_pid"], start=row["owner_start"]),
    )


def _step(row: Mapping[str, Any]) -> StepRun:
    return StepRun.model_construct(
        execution_id=row["execution_id"],
        step_id=row["step_id"],
        status=StepStatus(row["status"]),
        agent_id=row["agent_id"],
        attempt=row["attempt"],
        iteration=row["iteration"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        output=row["output"],
        error=row["error"],
        error_type=row["error_type"],
        cache_hit=bool(row["cache_hit"]),
    )


def _step_values(run: StepRun, now: datetime) -> dict[str, Any]:
    return {
        "execution_id": run.execution_id,
        "step_id": run.step_id,
        "status": run.status.value,
        "agent_id": run.agent_id,
        "attempt": run.attempt,
        "iteration": run.iteration,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "output": run.output,
        "error": None if run.error is None else clean_text(run.error),
        "error_type": run.error_type,
        "cache_hit": run.cache_hit,
        "created_at": now,
        "updated_at": now,
    }


def _log(row: Mapping[str, Any]) -> ExecutionLog:
    return ExecutionLog.model_construct(
        id=row["id"],
        execution_id=row["execution_id"],
        step_id=row["step_id"],
        level=LogLevel(row["level"]),
        message=row["message"],
        timestamp=row["timestamp"],
        metadata=row["metadata"],
        trace_id=row["trace_id"],
        seq=row["seq"],
    )


def _log_values(log: ExecutionLog) -> dict[str, Any]:
    return {
        "id": log.id,
        "execution_id": log.execution_id,
        "seq": log.seq,
        "step_id": log.step_id,
        "level": log.level.value,
        "message": clean_text(log.message),
        "timestamp": log.timestamp,
        "metadata": log.metadata,
        "trace_id": log.trace_id,
    }
