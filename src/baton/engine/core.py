"""``Baton``: the one entry point every front end calls, and the execution handle it returns."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from baton.agents.base import AgentAdapter, Usage
from baton.agents.factory import create_adapter
from baton.agents.health import preflight
from baton.config.loader import configured_workflow
from baton.engine import ownership
from baton.engine.cache import PromptCache
from baton.engine.clock import Clock, SystemClock
from baton.engine.commit import GroupCommit
from baton.engine.errors import (
    AlreadyFinished,
    ConfigNotApplied,
    ExecutionNotFound,
    ExecutionNotResumable,
    WorkflowNotFound,
    WorkspaceError,
)
from baton.engine.executor import Services, StepExecutor
from baton.engine.limits import Budget
from baton.engine.lookup import resolve_execution_id
from baton.engine.quotas import DailyQuotas
from baton.engine.ratelimit import RateLimiter
from baton.engine.recorder import Recorder
from baton.engine.simple import run_dag
from baton.engine.slots import SharedSlots
from baton.engine.state import ExecutionRun
from baton.errors import BatonError
from baton.extras import require
from baton.models import (
    Agent,
    BudgetConfig,
    Configuration,
    ExecutionContext,
    ExecutionLog,
    ExecutionStatus,
    IllegalTransition,
    StepStatus,
    Trigger,
    Workflow,
    WorkflowType,
)
from baton.models import events as ev
from baton.observability.redact import protect_agents
from baton.private import private_dir
from baton.store.base import OwnerProcess, Store
from baton.store.errors import StoreUnavailable
from baton.workspace import git, procinfo
from baton.workspace.container import reap_orphan_containers

_WATCH_SECONDS = 1.0


@dataclass(slots=True)
class ExecutionResult:
    """How an execution ended: status, step statuses, outputs, usage and cost."""

    execution_id: str
    workflow_id: str
    status: ExecutionStatus
    error: str | None
    outputs: dict[str, Any]
    steps: dict[str, StepStatus]
    usage: Usage
    cost_usd: float
    duration_seconds: float
    artifacts_dir: Path
    workspace_dir: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _config_identity(store: Store, config_path: Path | None) -> tuple[str | None, str | None]:
    """(content hash, applied version with that content) of the configuration at ``config_path``."""
    from baton.config.versions import configuration_content, content_hash
    from baton.store.sql import config_as_stored

    if config_path is None or not config_path.is_file():
        return None, None
    digest = content_hash(config_as_stored(configuration_content(config_path)))
    # newest first: a content applied again under a later version counts as that version
    for version in sorted(store.list_config_versions(), key=lambda v: v.applied_at, reverse=True):
        if version.content_hash == digest:
            return digest, version.version
    return digest, None


class ExecutionHandle:
    """A running (or queued) execution: its event stream, its result, and a way to stop it."""

    def __init__(self, run: ExecutionRun, task: asyncio.Task[ExecutionResult]) -> None:
        self._run = run
        self._task = task

    @property
    def id(self) -> str:
        return self._run.ctx.id

    @property
    def context(self) -> ExecutionContext:
        return self._run.ctx

    @property
    def workflow(self) -> Workflow:
        return self._run.workflow

    def events(self) -> AsyncIterator[ev.Event]:
        """Every event of this execution from its start, then live ones until it ends."""
        return self._run.recorder.subscribe()

    async def wait(self) -> ExecutionResult:
        return await asyncio.shield(self._task)

    def cancel(self) -> None:
        """Cancel the execution: running agents are killed, the execution becomes CANCELLED."""
        self._task.cancel()

    def done(self) -> bool:
        return self._task.done()


class Baton:
    """Runs workflows from a configuration against a store.

    ``adapter_factory`` is the one seam to the agents (tests pass scripted agents through
    configuration, or a factory of their own); ``clock`` makes time injectable.
    """

    def __init__(
        self,
        configuration: Configuration,
        store: Store,
        *,
        root: Path | None = None,
        clock: Clock | None = None,
        adapter_factory: Callable[[Agent], AgentAdapter] | None = None,
        workflows: Mapping[str, Workflow] | None = None,
        observers: Sequence[Callable[[ev.Event], None]] = (),
        config_path: Path | None = None,
        locate: Callable[[tuple[str | int, ...]], str | None] | None = None,
        check_workflow: Callable[[str], None] | None = None,
    ) -> None:
        self.configuration = configuration
        self.store = store
        self.config_hash, self.config_version = _config_identity(store, config_path)
        self.root = (root or Path.cwd()).resolve()
        self.clock = clock or SystemClock()
        me = procinfo.current()
        self.owner = f"{me.host}:{me.pid}"
        self._process = OwnerProcess(me.host, me.pid, me.start)
        g = configuration.global_
        self.agents = {aid: Agent.from_config(aid, cfg) for aid, cfg in configuration.agents.items()}
        protect_agents(agent.config for agent in self.agents.values())
        if configuration.mcp_servers:
            from baton.integrations.mcp.agent_config import attach_mcp_configs

            attach_mcp_configs(self.agents, configuration, self.root)
        self._workflows = dict(workflows or {})
        # finishes a lazy load's checks of one workflow (LoadedConfig.check_workflow)
        self._check_workflow = check_workflow
        # Called synchronously with every event of every execution (tracing, metrics, ...);
        # an observer must be fast and must not raise.
        self.observers: list[Callable[[ev.Event], None]] = list(observers)
        self.slots = SharedSlots(store, self.clock, self._process)
        self.services = Services(
            store=store,
            clock=self.clock,
            agents=self.agents,
            adapter_factory=adapter_factory or create_adapter,
            slots=self.slots,
            cache=PromptCache(store, g.cache.ttl_seconds) if g.cache.enabled else None,
            rate_limiter=RateLimiter(self.clock, store),
            quotas=DailyQuotas(store, g.quotas, self.clock) if g.quotas.active else None,
            protected=(self.root / "baton.yaml", self.root / ".baton"),
            locate=locate,
        )
        self.executor = StepExecutor(self.services)
        self.committer = GroupCommit(store)
        self._active: dict[str, ExecutionHandle] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._private_roots: set[Path] = set()

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_config(
        cls,
        path: Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        cwd: Path | None = None,
        lazy: bool = False,
        **kwargs: Any,
    ) -> Baton:
        """Load ``baton.yaml`` (found from ``cwd`` if no path) and open its store.

        ``lazy=True`` checks a workflow's templates when it is first asked for (see
        ``load_configuration``): for a front end that runs one workflow, like ``baton run``.
        """
        from baton.config import load_configuration
        from baton.observability.setup import setup
        from baton.store import open_store

        loaded = load_configuration(path, env=env, overrides=overrides, cwd=cwd, lazy=lazy)
        store = open_store(loaded.configuration.global_.database_url, base_dir=loaded.root)
        observers = [*kwargs.pop("observers", ()), *setup(loaded.configuration, loaded.root)]
        return cls(loaded.configuration, store, root=loaded.root, observers=observers,
                   config_path=loaded.path, locate=loaded.locate,
                   check_workflow=loaded.check_workflow if lazy else None, **kwargs)

    # -- lookups -----------------------------------------------------------------------------
    def workflow(self, workflow_id: str) -> Workflow:
        wf = self._workflows.get(workflow_id)
        if wf is not None:
            return wf
        if self._check_workflow is not None:
            self._check_workflow(workflow_id)
        wf = configured_workflow(self.configuration, workflow_id)
        if wf is None:
            raise WorkflowNotFound(workflow_id, self.workflow_ids())
        self._workflows[workflow_id] = wf
        return wf

    def require_applied_config(self) -> None:
        """With ``global.require_applied_config``, refuse a configuration edited since
        ``baton config apply`` (raises ConfigNotApplied)."""
        if not self.configuration.global_.require_applied_config or self.config_version is not None:
            return
        raise ConfigNotApplied(self.config_hash)

    def execution_id(self, ref: str | None) -> str:
        """The full id of the execution ``ref`` names: an id, a unique prefix of one (like
        git), or None for the latest execution."""
        return resolve_execution_id(self.store, ref)

    def workflow_ids(self) -> list[str]:
        from baton.workflows.catalog import available_builtins

        own = {*self.configuration.workflows, *self._workflows}
        return sorted({*own, *available_builtins(self.configuration.agents, exclude=own)})

    # -- starting executions -------------------------------------------------------------------
    def submit(
        self,
        workflow_id: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        workspace_dir: str | os.PathLike[str] | None = None,
        environment: Mapping[str, str] | None = None,
        shared_config: Mapping[str, Any] | None = None,
        execution_id: str | None = None,
        trace_id: str | None = None,
        trigger: Trigger = Trigger.PYTHON,
    ) -> ExecutionContext:
        """Validate and record a new PENDING execution without running it.

        ``trace_id`` continues a caller's trace (e.g. an API request's ``traceparent``);
        ``trigger`` names the front end that asked for it.
        """
        self.require_applied_config()
        workflow = self.workflow(workflow_id)
        preflight(workflow, self.agents, self.services.adapter, self.services.recent_registry_reason)
        if workflow.type is WorkflowType.LANGGRAPH:
            require("langgraph", "langgraph")
        if any(step.required_tools for step in workflow.steps):
            from baton.integrations.mcp.preflight import require_tools

            require_tools(workflow, self.configuration)
        params = workflow.bind_parameters(dict(parameters or {}))
        workspace = self._workspace(workspace_dir)
        try:
            ctx = ExecutionContext(
                workflow_id=workflow.id, workspace_dir=str(workspace), parameters=params,
                environment=dict(environment or {}), shared_config=dict(shared_config or {}),
                start_time=self.clock.now(), config_hash=self.config_hash,
                config_version=self.config_version, trigger=trigger,
                **({"id": execution_id} if execution_id else {}),
                **({"trace_id": trace_id} if trace_id else {}),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field_name = ".".join(str(p) for p in first["loc"])
            raise WorkspaceError(f"{field_name}: {first['msg']}") from None
        self.store.create_execution(ctx, workflow_snapshot=workflow.model_dump(mode="json"))
        return ctx

    def run(self, workflow_id: str, parameters: Mapping[str, Any] | None = None, *,
            workspace_dir: str | os.PathLike[str] | None = None, no_cache: bool = False,
            environment: Mapping[str, str] | None = None,
            shared_config: Mapping[str, Any] | None = None,
            trigger: Trigger = Trigger.PYTHON) -> ExecutionHandle:
        """Start a workflow; must be called from a running event loop."""
        ctx = self.submit(workflow_id, parameters, workspace_dir=workspace_dir,
                          environment=environment, shared_config=shared_config, trigger=trigger)
        return self._start(ctx, self.workflow(workflow_id), no_cache=no_cache, resumed=False)

    def resume(self, execution_id: str, *, no_cache: bool = False) -> ExecutionHandle:
        """Continue an interrupted execution; completed steps are reused, never re-run."""
        self.require_applied_config()
        record = self.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFound(execution_id)
        if record.context.status is ExecutionStatus.COMPLETED:
            raise ExecutionNotResumable(f"execution {execution_id} already completed; nothing to resume")
        if record.context.status is ExecutionStatus.RUNNING and record.owner != self.owner:
            if ownership.owner_alive(record):
                raise ExecutionNotResumable(
                    f"execution {execution_id} is still running in {ownership.describe_owner(record)}; "
                    f"wait for it to end, or stop it with `baton cancel {execution_id}` and resume then")
            ownership.interrupt(self.store, record)
        workflow = Workflow.model_validate(record.workflow_snapshot) if record.workflow_snapshot \
            else self.workflow(record.context.workflow_id)
        ctx = self.store.set_execution_status(
            execution_id, ExecutionStatus.PENDING, resume=True, owner=self.owner)
        handle = self._start(ctx, workflow, no_cache=no_cache, resumed=True)
        handle._run.restore(self.store.list_steps(execution_id))
        return handle

    def start_pending(self, execution_id: str, *, no_cache: bool = False) -> ExecutionHandle:
        """Run an execution that was only submitted (``baton run --detach``, the API)."""
        self.require_applied_config()
        record = self.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFound(execution_id)
        if record.context.status is not ExecutionStatus.PENDING:
            return self.resume(execution_id, no_cache=no_cache)
        workflow = Workflow.model_validate(record.workflow_snapshot)
        return self._start(record.context, workflow, no_cache=no_cache, resumed=False)

    async def run_to_end(self, workflow_id: str, parameters: Mapping[str, Any] | None = None,
                         **kwargs: Any) -> ExecutionResult:
        return await self.run(workflow_id, parameters, **kwargs).wait()

    def cancel(self, execution_id: str, reason: str = "cancelled by user") -> ExecutionContext:
        """Cancel an execution here or in another process (it notices within a second)."""
        handle = self._active.get(execution_id)
        if handle is not None:
            handle.cancel()
            return handle.context
        record = self.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFound(execution_id)
        if record.context.status.is_terminal:
            raise AlreadyFinished(execution_id, record.context.status.value)
        return self.store.set_execution_status(execution_id, ExecutionStatus.CANCELLED, error=reason)

    def reap_orphans(self) -> list[str]:
        """Mark executions whose `baton` process died as interrupted and kill their agents.

        Best effort (a store that cannot be written now is tried again by the next command).
        """
        try:
            return ownership.reap(self.store)
        except Exception:
            return []

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        with contextlib.suppress(Exception):  # unreleased leases expire, or are reclaimed
            self.slots.close()
        self.store.close()

    # -- internals -------------------------------------------------------------------------------
    def _workspace(self, workspace_dir: str | os.PathLike[str] | None) -> Path:
        if workspace_dir is not None:
            path = Path(workspace_dir).expanduser()
            path = path if path.is_absolute() else Path.cwd() / path
        else:
            configured = Path(self.configuration.global_.workspace_dir).expanduser()
            path = configured if configured.is_absolute() else self.root / configured
        path = path.resolve()
        if not path.is_dir():
            raise WorkspaceError(f"workspace_dir {path} does not exist or is not a directory")
        return path

    def _budget_limits(self, workflow: Workflow, ctx: ExecutionContext) -> BudgetConfig:
        merged = self.configuration.global_.budget.model_dump()
        for layer in (workflow.config.get("budget"), ctx.shared_config.get("budget")):
            if isinstance(layer, dict):
                merged.update({k: v for k, v in layer.items() if v is not None})
        return BudgetConfig.model_validate(merged)

    def _start(self, ctx: ExecutionContext, workflow: Workflow, *, no_cache: bool,
               resumed: bool) -> ExecutionHandle:
        loop = asyncio.get_running_loop()
        artifacts = self.configuration.global_.artifacts_path(self.root) / ctx.id
        recorder = Recorder(self.store, ctx.trace_id, self.observers, self.committer)
        er = ExecutionRun(ctx=ctx, workflow=workflow, recorder=recorder,
                          budget=Budget(self._budget_limits(workflow, ctx)),
                          artifacts_dir=artifacts, no_cache=no_cache)
        task = loop.create_task(self._drive(er, resumed), name=f"baton-{ctx.id}")
        handle = ExecutionHandle(er, task)
        self._active[ctx.id] = handle
        task.add_done_callback(lambda _t: self._active.pop(ctx.id, None))
        if self._watcher is None or self._watcher.done():
            self._watcher = loop.create_task(self._watch())
        return handle

    async def _drive(self, er: ExecutionRun, resumed: bool) -> ExecutionResult:
        rec = er.recorder
        started = self.clock.monotonic()
        status = ExecutionStatus.FAILED
        error: str | None = None

        def queued(reason: str) -> None:
            er.queued = True
            rec.emit(ev.ExecutionQueued(execution_id=er.ctx.id, workflow_id=er.workflow.id, reason=reason))

        try:
            async with self.slots.hold("executions", self.configuration.global_.max_concurrent_executions,
                                       what="global.max_concurrent_executions", on_wait=queued,
                                       check=lambda: self._cancelled_while_queued(er)):
                self._start_running(er)
                if er.artifacts_dir.parent not in self._private_roots:  # once per process
                    self._private_roots.add(private_dir(er.artifacts_dir.parent))
                private_dir(er.artifacts_dir)
                await reap_orphan_containers(list(self.agents.values()))
                await self._prepare_workspace(er)
                rec.emit(ev.ExecutionStarted(execution_id=er.ctx.id, workflow_id=er.workflow.id,
                                             parameters=er.ctx.parameters, resumed=resumed,
                                             steps=[s.id for s in er.workflow.steps],
                                             trace_id=er.ctx.trace_id))
                await self._warn_of_credentials(er, rec)
                await self._schedule(er)
                await rec.durable()
                status, error = self._outcome(er)
        except asyncio.CancelledError:
            status, error = ExecutionStatus.CANCELLED, "cancelled"
        except (StoreUnavailable, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno != errno.ENOSPC:
                status, error = ExecutionStatus.FAILED, f"{type(exc).__name__}: {exc}"
                self._finish(er, status, error, self.clock.monotonic() - started)
                raise
            # the store (or its disk) cannot be written: the row stays RUNNING and the next
            # `baton` command marks it interrupted, resumable
            with contextlib.suppress(StoreUnavailable, OSError):
                self._finish(er, ExecutionStatus.FAILED, str(exc), self.clock.monotonic() - started)
            raise StoreUnavailable(
                f"{exc}; execution {er.ctx.id} stopped and stays resumable: free space (or repair "
                f"the database), then run `baton resume {er.ctx.id}`") from None
        except Exception as exc:
            status, error = ExecutionStatus.FAILED, f"{type(exc).__name__}: {exc}"
            self._finish(er, status, error, self.clock.monotonic() - started)
            raise
        self._finish(er, status, error, self.clock.monotonic() - started)
        return self._result(er, status, error, self.clock.monotonic() - started)

    def _start_running(self, er: ExecutionRun) -> None:
        """Claim the execution and move it to RUNNING (one write); one cancelled meanwhile
        (e.g. by another process while it queued for a slot) ends here."""
        try:
            self.store.start_execution(er.ctx.id, self.owner, process=self._process)
        except IllegalTransition:
            state = self.store.execution_states([er.ctx.id]).get(er.ctx.id)
            if state is not None and state.status is ExecutionStatus.CANCELLED:
                raise asyncio.CancelledError from None
            raise
        er.ctx = er.ctx.model_copy(update={"status": ExecutionStatus.RUNNING})

    def _cancelled_while_queued(self, er: ExecutionRun) -> None:
        """An execution cancelled (by another process) while it waited for a slot ends here."""
        ctx = self.store.get_context(er.ctx.id)
        if ctx is not None and ctx.status is ExecutionStatus.CANCELLED:
            raise asyncio.CancelledError

    async def _schedule(self, er: ExecutionRun) -> None:
        if er.workflow.type is WorkflowType.LANGGRAPH:
            require("langgraph", "langgraph")
            from baton.engine.graph import run_graph

            await run_graph(er, self.executor, self)
        else:
            await run_dag(er, self.executor)

    async def _prepare_workspace(self, er: ExecutionRun) -> None:
        wants = er.workflow.config.get("worktree", self.configuration.global_.worktrees)
        if not wants or er.ctx.environment.get("BATON_WORKTREE") == "0":
            return
        repo = Path(er.ctx.workspace_dir)
        target = self.root / ".baton" / "worktrees" / er.ctx.id
        if target.exists():
            er.ctx = er.ctx.model_copy(update={"workspace_dir": str(target)})
            return
        if not await git.is_git_repo(repo):
            return
        await git.create_worktree(repo, f"baton/{er.workflow.id}/{er.ctx.id}", target)
        er.ctx = er.ctx.model_copy(update={"workspace_dir": str(target)})

    async def _warn_of_credentials(self, er: ExecutionRun, rec: Recorder) -> None:
        """Warn when writing agents would work beside a token persisted in ``.git/config``.

        Only a warning: the repository's config is the user's (``baton github action``, which
        owns its checkout, removes the token instead).
        """
        writers = [s.id for s in er.workflow.steps if s.writes_workspace
                   and getattr(self.agents.get(s.agent_id), "provider", None) != "shell"]
        if not writers:
            return
        keys = await git.persisted_credentials(Path(er.ctx.workspace_dir))
        if keys:
            rec.emit(ev.CredentialsInWorkspace(execution_id=er.ctx.id, keys=keys, steps=writers))

    @staticmethod
    def _outcome(er: ExecutionRun) -> tuple[ExecutionStatus, str | None]:
        if er.waiting:
            steps = ", ".join(er.waiting)
            return ExecutionStatus.PENDING, (f"waiting for approval of step {steps}; continue with "
                                             f"`baton approve {er.ctx.id}` (or --reject)")
        if er.abort_reason:
            return ExecutionStatus.FAILED, er.abort_reason
        for step in er.workflow.steps:
            run = er.runs.get(step.id)
            if er.statuses.get(step.id) is StepStatus.FAILED and not step.allow_failure:
                why = run.error if run else "failed"
                kind = run.error_type if run else "Error"
                return ExecutionStatus.FAILED, f"step {step.id} failed: {kind}: {why}"
        return ExecutionStatus.COMPLETED, None

    def _finish(self, er: ExecutionRun, status: ExecutionStatus, error: str | None,
                duration: float) -> None:
        try:
            self._record_end(er, status, error, duration)
        finally:
            er.recorder.close()  # even when the store cannot be written: watchers must end

    def _record_end(self, er: ExecutionRun, status: ExecutionStatus, error: str | None,
                    duration: float) -> None:
        current = self.store.execution_states([er.ctx.id]).get(er.ctx.id)
        if (status is ExecutionStatus.PENDING and current is not None
                and not current.status.is_terminal):
            # paused for an approval: back to PENDING through the resume edge, resumable
            er.ctx = self.store.set_execution_status(er.ctx.id, status, error=error, resume=True)
        elif current is not None and not current.status.is_terminal:
            final = self._completed_event(er, status, error, duration)

            def commit(logs: list[ExecutionLog]) -> None:
                try:
                    end = self.store.finish_execution(er.ctx.id, status, error=error, logs=logs)
                    er.ctx = er.ctx.model_copy(update={
                        "status": end.status, "error": end.error, "end_time": end.end_time})
                except StoreUnavailable:
                    raise
                except BatonError:
                    # another process moved it first (e.g. `baton cancel`): keep the rows
                    self.store.append_logs(logs)

            er.recorder.finish(final, commit)
            return
        elif current is not None:
            status = current.status
            error = current.error or error
        er.recorder.emit(self._completed_event(er, status, error, duration))

    @staticmethod
    def _completed_event(er: ExecutionRun, status: ExecutionStatus, error: str | None,
                         duration: float) -> ev.ExecutionCompleted:
        return ev.ExecutionCompleted(
            execution_id=er.ctx.id, status=status.value, error=error, duration_seconds=duration,
            total_tokens=er.budget.usage.total_tokens, cost_usd=er.budget.cost_usd)

    def _result(self, er: ExecutionRun, status: ExecutionStatus, error: str | None,
                duration: float) -> ExecutionResult:
        return ExecutionResult(
            execution_id=er.ctx.id, workflow_id=er.workflow.id, status=status, error=error,
            outputs=dict(er.outputs), steps=dict(er.statuses), usage=er.budget.usage,
            cost_usd=er.budget.cost_usd, duration_seconds=duration, artifacts_dir=er.artifacts_dir,
            workspace_dir=er.ctx.workspace_dir)

    async def _watch(self) -> None:
        """Heartbeat for owned executions; notice cancellations made by other processes."""
        while self._active:
            await asyncio.sleep(_WATCH_SECONDS)
            with contextlib.suppress(Exception):
                self.store.heartbeat(self.owner)
                self.slots.renew()
            running = [eid for eid, handle in self._active.items()
                       if handle.context.status is ExecutionStatus.RUNNING]
            with contextlib.suppress(Exception):  # a store that cannot be read now: next beat
                for execution_id, state in self.store.execution_states(running).items():
                    handle = self._active.get(execution_id)
                    if handle is not None and state.status is ExecutionStatus.CANCELLED:
                        handle.cancel()
