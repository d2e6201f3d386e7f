"""What the API does, apart from HTTP: submit, inspect, cancel and approve executions.

:class:`ApiService` holds the process's configuration, store, a :class:`Baton` used only to
validate and record executions (it never runs one: workers do), the token book, the
audit log and the dispatcher that queues executions for the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from baton.agents.base import AgentAdapter, AgentUnavailable
from baton.agents.factory import create_adapter
from baton.agents.health import unavailable_reason, uses_container
from baton.agents.registry import AgentRegistry
from baton.api.audit import AuditLog
from baton.api.auth import Authenticator, Principal, RateLimiter
from baton.api.metrics import ApiMetrics
from baton.api.problems import Problem
from baton.api.schemas import (
    ExecutionAccepted,
    ExecutionCreate,
    ExecutionDetail,
    ExecutionState,
    ExecutionSummary,
    LogEntry,
    Page,
    StepResult,
)
from baton.api.tokens import TokenStore
from baton.engine import Baton
from baton.engine.errors import ExecutionNotFound
from baton.engine.graph_approval import record_decision
from baton.engine.lookup import resolve_execution_id
from baton.errors import BatonError
from baton.integrations import hooks
from baton.models import Agent, AgentInterface, Configuration, ExecutionStatus, LogLevel, StepStatus, Trigger
from baton.models.errors import IllegalTransition
from baton.models.execution import new_id, step_totals
from baton.store.errors import NotFound
from baton.store.sql import SqlStore
from baton.wording import counted
from baton.workers.dbos_runtime import Dispatcher
from baton.workers.submissions import Submission, SubmissionStore
from baton.workspace.remote import ACCEPTED, RepoNotAllowed, parse_repo

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
_FINISHED_STEP = frozenset(
    {StepStatus.COMPLETED, StepStatus.SKIPPED, StepStatus.FAILED, StepStatus.CANCELLED}
)
_READY_TTL = 10.0
_SUBMIT_THREADS = 16


class ApiService:
    """The API's state and operations; one per server process."""

    def __init__(
        self,
        configuration: Configuration,
        store: SqlStore,
        root: Path,
        *,
        dispatcher: Dispatcher | None,
        adapter_factory: Callable[[Agent], AgentAdapter] | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.configuration = configuration
        self.store = store
        self.root = root
        self.dispatcher = dispatcher
        self.adapter_factory = adapter_factory or create_adapter
        from baton.observability.setup import setup

        self.baton = Baton(configuration, store, root=root, adapter_factory=self.adapter_factory,
                           observers=setup(configuration, root), config_path=config_path)
        self.tokens = TokenStore(store.engine)
        self.auth = Authenticator(configuration.api.tokens, self.tokens)
        self.limiter = RateLimiter(configuration.api.rate_limit)
        self.audit = AuditLog(store.engine)
        self.metrics = ApiMetrics()
        self.submissions = SubmissionStore(store.engine)
        self.registry = AgentRegistry(store, self.baton.agents, adapter_factory=self.adapter_factory)
        self.queue = configuration.deployment.queue
        self._ready: tuple[float, dict[str, tuple[bool, str]]] | None = None
        # triggers get threads of their own: a trigger waiting on the database's write lock
        # must not hold up the probes and reads that share the loop's default executor
        self._submitters = ThreadPoolExecutor(_SUBMIT_THREADS, thread_name_prefix="baton-submit")

    def close(self) -> None:
        self._submitters.shutdown(wait=True)
        self.audit.close()
        if self.dispatcher is not None:
            self.dispatcher.close()
        self.store.close()

    # -- executions ------------------------------------------------------------------------------
    async def submit_async(
        self, principal: Principal, body: ExecutionCreate, header_key: str | None
    ) -> ExecutionAccepted:
        """:meth:`submit` on one of the service's trigger threads (one hop from the event loop)."""
        call = functools.partial(contextvars.copy_context().run, self.submit, principal, body, header_key)
        return await asyncio.get_running_loop().run_in_executor(self._submitters, call)

    def submit(
        self, principal: Principal, body: ExecutionCreate, header_key: str | None,
        trigger: Trigger = Trigger.API,
    ) -> ExecutionAccepted:
        key = body.idempotency_key or header_key
        if body.idempotency_key and header_key and body.idempotency_key != header_key:
            raise Problem(
                422,
                "validation-error",
                "Invalid request",
                "the Idempotency-Key header and idempotency_key in the body differ",
            )
        digest = _request_hash(body)
        asked = body.repo if body.repo is not None else self._workspace_from(body)
        repo = self._check_repo(asked) if asked is not None else None
        execution_id = new_id()
        sub = Submission(
            execution_id=execution_id,
            submitted_by=principal.name,
            idempotency_key=key,
            request_hash=digest,
            queue=self.queue,
            priority=body.priority,
            timeout_seconds=body.timeout_seconds,
            repo=repo,
            ref=body.ref,
            first_started_at=None,
            created_at=datetime.now(UTC),
        )
        holder = self.submissions.reserve(sub, principal.name)
        if holder is not None:
            return self._replay(holder, digest)
        try:
            workspace = self._workspace(body, execution_id, repo)
            parameters = self._prepared(body, repo, workspace)
            ctx = self.baton.submit(
                body.workflow_id, parameters, workspace_dir=workspace, execution_id=execution_id,
                trigger=trigger,
            )
        except BaseException:
            self.submissions.release(execution_id)
            raise
        self.metrics.submitted.labels(ctx.workflow_id).inc()
        self._enqueue(execution_id, body.priority)
        return self._accepted(execution_id, ctx.workflow_id, ctx.status.value, replay=False)

    def _enqueue(self, execution_id: str, priority: int, job_id: str | None = None) -> None:
        if self.dispatcher is None:
            raise Problem(
                503,
                "queue-unavailable",
                "Queue unavailable",
                "this server has no queue to hand executions to",
            )
        try:
            self.dispatcher.enqueue(execution_id, queue=self.queue, priority=priority, job_id=job_id)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:300]
            if job_id is None:
                with contextlib.suppress(IllegalTransition):
                    self.store.set_execution_status(
                        execution_id, ExecutionStatus.FAILED, error=f"could not be queued: {reason}"
                    )
            raise Problem(
                503, "queue-unavailable", "Queue unavailable", f"the execution could not be queued: {reason}"
            ) from None

    def _replay(self, held: Submission, digest: str) -> ExecutionAccepted:
        if held.request_hash != digest:
            raise Problem(
                422,
                "idempotency-key-reused",
                "Idempotency key reused",
                f"idempotency key {held.idempotency_key!r} was used for a different request "
                f"(execution {held.execution_id}); use a new key",
            )
        record = self.store.get_execution(held.execution_id)
        if record is None:
            raise ExecutionNotFound(held.execution_id)
        ctx = record.context
        return self._accepted(ctx.id, ctx.workflow_id, ctx.status.value, replay=True)

    @staticmethod
    def _accepted(execution_id: str, workflow_id: str, status: str, *, replay: bool) -> ExecutionAccepted:
        base = f"{API_PREFIX}/executions/{execution_id}"
        return ExecutionAccepted(
            execution_id=execution_id,
            workflow_id=workflow_id,
            status=status,
            idempotent_replay=replay,
            links={
                "self": base,
                "events": f"{base}/events",
                "logs": f"{base}/logs",
                "cancel": f"{base}/cancel",
            },
        )

    def _prepared(self, body: ExecutionCreate, repo: str | None, workspace: str | None) -> dict[str, Any]:
        """The parameters of a built-in workflow after its prepare hook (issue text, pull request
        context), as ``baton run`` has them; 422 naming the reason when it cannot be prepared,
        409 ``nothing-to-do`` when there is nothing to act on (pr-fix on a green pull request).

        The workspace stays the request's own (``repo`` / ``workspace_dir``); the worker that
        runs the execution publishes it.
        """
        workflow = self.baton.workflow(body.workflow_id)
        if not hooks.has_hooks(workflow):
            return dict(body.parameters)
        local = Path(workspace) if workspace is not None and repo is None else None
        try:
            prepared = asyncio.run(hooks.prepare(self.baton, workflow, body.parameters, local,
                                                 remote=repo or ""))  # the workspace is the request's
        except BatonError as exc:
            raise Problem(422, "workflow-not-prepared", "Workflow cannot be prepared",
                          f"{body.workflow_id}: {' '.join(str(exc).split())}") from None
        for note in prepared.notes:
            log.info("%s: %s", body.workflow_id, note)
        if prepared.nothing_to_do:
            raise Problem(409, "nothing-to-do", "Nothing to do", prepared.nothing_to_do)
        return prepared.params

    def _workspace_from(self, body: ExecutionCreate) -> str | None:
        """The repository a built-in workflow names in its ``workspace_from`` parameter
        (issue-to-pr's ``repo``), when the request gives no workspace of its own: checked and
        cloned like the request's ``repo``."""
        if body.workspace_dir is not None:
            return None
        source = self.baton.workflow(body.workflow_id).config.get("workspace_from")
        value = str(body.parameters.get(source) or "") if source else ""
        return value if value not in ("", ".") else None

    def _workspace(self, body: ExecutionCreate, execution_id: str, repo: str | None) -> str | None:
        if repo is not None:
            checkouts = self._path(self.configuration.api.checkouts_dir)
            target = checkouts / execution_id
            target.mkdir(parents=True, exist_ok=True)
            return str(target)
        if body.workspace_dir is None:
            return None
        path = self._path(body.workspace_dir)
        if not self._allowed(path):
            raise Problem(
                422,
                "workspace-not-allowed",
                "Workspace not allowed",
                f"workspace_dir {path} is outside the allowed roots "
                f"({', '.join(str(r) for r in self._roots())}; set api.workspace_roots)",
            )
        return str(path)

    def _check_repo(self, repo: str) -> str:
        """``repo`` as git will get it (a URL, or an absolute local path under the allowed roots)."""
        try:
            source = parse_repo(repo, base=self.root)
        except RepoNotAllowed as exc:
            raise Problem(422, "repo-not-allowed", "Repository not allowed", str(exc)) from None
        if source.local is None or self._allowed(source.local):
            return source.url
        raise Problem(
            422,
            "repo-not-allowed",
            "Repository not allowed",
            f"repo {repo!r}: local repositories must be under api.workspace_roots "
            f"({', '.join(str(r) for r in self._roots())}); or give {ACCEPTED}",
        )

    def _path(self, value: str) -> Path:
        try:
            path = Path(value).expanduser()
        except RuntimeError:  # ~name of a user this machine does not have
            raise Problem(422, "workspace-not-allowed", "Workspace not allowed",
                          f"{value!r}: no such user's home directory") from None
        return (path if path.is_absolute() else self.root / path).resolve()

    def _roots(self) -> list[Path]:
        return [self._path(r) for r in self.configuration.api.workspace_roots] or [self.root]

    def _allowed(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self._roots())

    def detail(self, execution_id: str) -> ExecutionDetail:
        """One execution, named by its id or a unique prefix of it."""
        execution_id = resolve_execution_id(self.store, execution_id)
        record = self.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFound(execution_id)
        ctx = record.context
        runs = self.store.list_steps(execution_id)
        planned = [s.get("id") for s in record.workflow_snapshot.get("steps", []) if isinstance(s, dict)]
        total = len(planned) or len(runs)
        finished = sum(1 for r in runs if r.status in _FINISHED_STEP)
        if ctx.status is ExecutionStatus.COMPLETED:
            progress = 1.0
        else:
            progress = min(1.0, finished / total) if total else 0.0
        usage, cost = step_totals(runs)
        sub = self.submissions.get(execution_id)
        return ExecutionDetail(
            execution_id=ctx.id,
            workflow_id=ctx.workflow_id,
            status=ctx.status.value,
            progress=round(progress, 4),
            current_steps=[r.step_id for r in runs if r.status in (StepStatus.RUNNING, StepStatus.WAITING)],
            steps=[
                StepResult(
                    step_id=r.step_id,
                    status=r.status.value,
                    agent_id=r.agent_id,
                    attempt=r.attempt,
                    iteration=r.iteration,
                    cache_hit=r.cache_hit,
                    started_at=r.started_at,
                    ended_at=r.ended_at,
                    error=r.error,
                    error_type=r.error_type,
                    output=r.output,
                )
                for r in runs
            ],
            usage=usage,
            cost_usd=round(cost, 6),
            error=ctx.error,
            parameters=ctx.parameters,
            workspace_dir=ctx.workspace_dir,
            trace_id=ctx.trace_id,
            start_time=ctx.start_time,
            end_time=ctx.end_time,
            owner=record.owner,
            config_hash=ctx.config_hash,
            config_version=ctx.config_version,
            trigger=ctx.trigger.value if ctx.trigger else None,
            submitted_by=sub.submitted_by if sub else None,
            queue=sub.queue if sub else None,
            priority=sub.priority if sub else None,
            timeout_seconds=sub.timeout_seconds if sub else None,
        )

    def list(
        self, *, status: ExecutionStatus | None, workflow_id: str | None, limit: int, cursor: str | None
    ) -> Page[ExecutionSummary]:
        try:
            rows = self.store.list_executions(
                status=status, workflow_id=workflow_id, limit=limit + 1, before=cursor
            )
        except NotFound:
            # 404: the cursor is well formed, the execution it names is gone (or never was)
            raise Problem(
                404,
                "invalid-cursor",
                "Invalid cursor",
                f"cursor {cursor!r} names no execution; start again without it",
            ) from None
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            ExecutionSummary(
                execution_id=r.id,
                workflow_id=r.workflow_id,
                status=r.status.value,
                start_time=r.start_time,
                end_time=r.end_time,
                error=r.error,
                config_hash=r.config_hash,
                config_version=r.config_version,
                trigger=r.trigger.value if r.trigger else None,
            )
            for r in rows
        ]
        return Page[ExecutionSummary](items=items, next_cursor=rows[-1].id if more and rows else None)

    def logs(
        self, execution_id: str, *, level: LogLevel | None, step: str | None, limit: int, cursor: int | None
    ) -> Page[LogEntry]:
        execution_id = resolve_execution_id(self.store, execution_id)
        rows = self.store.list_logs(
            execution_id, step_id=step, min_level=level, after_seq=cursor, limit=limit + 1
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return Page[LogEntry](
            items=[log_entry(r) for r in rows], next_cursor=str(rows[-1].seq) if more and rows else None
        )

    def export(self, refs: Sequence[str], *, since: datetime | None, limit: int) -> dict[str, Any]:
        """A ``baton export`` document of the named executions, or the newest ``limit`` since ``since``."""
        from baton.store.bundle import export_bundle

        if refs:
            ids = [resolve_execution_id(self.store, ref) for ref in refs]
        else:
            if since is not None and since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            rows = self.store.list_executions(limit=limit)
            ids = [r.id for r in rows if since is None or r.start_time >= since][::-1]
        return export_bundle(self.store, ids, self.configuration.global_.artifacts_path(self.root))

    def cancel(self, principal: Principal, execution_id: str) -> ExecutionState:
        execution_id = resolve_execution_id(self.store, execution_id)
        ctx = self.baton.cancel(execution_id, reason=f"cancelled by {principal.name} through the API")
        return ExecutionState(execution_id=ctx.id, status=ctx.status.value, detail=ctx.error)

    def resume(self, principal: Principal, execution_id: str) -> ExecutionState:
        """Queue an interrupted (pending or failed) execution to continue on a worker."""
        record = self.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFound(execution_id)
        sub = self.submissions.get(execution_id)
        self._enqueue(execution_id, sub.priority if sub else 5, job_id=f"{execution_id}.resume.{new_id()}")
        return ExecutionState(
            execution_id=execution_id,
            status="pending",
            detail=f"resume requested by {principal.name}; execution queued to continue",
        )

    def approve(
        self, principal: Principal, execution_id: str, *, step: str | None, approved: bool, reason: str | None
    ) -> ExecutionState:
        run = record_decision(
            self.store,
            execution_id,
            step_id=step,
            approved=approved,
            reason=reason,
            by=principal.name,
            now=datetime.now(UTC),
        )
        sub = self.submissions.get(execution_id)
        self._enqueue(execution_id, sub.priority if sub else 5, job_id=f"{execution_id}.resume.{new_id()}")
        verb = "approved" if approved else "rejected"
        return ExecutionState(
            execution_id=execution_id,
            status="pending",
            detail=f"step {run.step_id} {verb} by {principal.name}; execution queued to continue",
        )

    # -- readiness -----------------------------------------------------------------------------------
    def readiness(self) -> dict[str, tuple[bool, str]]:
        now = time.monotonic()
        if self._ready is not None and self._ready[0] > now:
            checks = dict(self._ready[1])
        else:
            checks = {"agents": self._agents_ready()}
            self._ready = (now + _READY_TTL, dict(checks))
        checks["database"] = self._database_ready()
        if self.dispatcher is not None:
            try:
                self.dispatcher.check()
                checks["queue"] = (True, "reachable")
            except Exception as exc:
                checks["queue"] = (False, " ".join(str(exc).split())[:200])
        return checks

    def _database_ready(self) -> tuple[bool, str]:
        try:
            with self.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return False, f"unreachable: {type(exc).__name__}"
        return True, f"reachable ({self.store.engine.dialect.name})"

    def _agents_ready(self) -> tuple[bool, str]:
        bad = []
        for agent_id, agent in sorted(self.baton.agents.items()):
            reason = self.agent_unavailable(agent)
            if reason is not None:
                bad.append(agent_id)
        if bad:
            return False, f"unavailable: {', '.join(bad)} (see GET /api/v1/agents)"
        return True, f"{counted(len(self.baton.agents), 'agent')} available"

    def agent_unavailable(self, agent: Agent) -> str | None:
        """Why ``agent`` cannot be used: registry status, missing program, or a CLI with no login."""
        if (held := self.baton.services.registry_reason(agent.id)) is not None:
            return held
        try:
            reason = unavailable_reason(self.adapter_factory(agent))
        except AgentUnavailable as exc:
            return str(exc)
        if reason is None and agent.interface is AgentInterface.CLI and not agent.config.get("base_url") \
                and not uses_container(agent):
            from baton.agents.logins import login_problem

            reason = login_problem(agent.provider)
        return reason


def log_entry(row: Any) -> LogEntry:
    return LogEntry(
        seq=row.seq,
        id=row.id,
        timestamp=row.timestamp,
        level=row.level.value,
        step_id=row.step_id,
        message=row.message,
        metadata=row.metadata,
    )


def _request_hash(body: ExecutionCreate) -> str:
    data = body.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
