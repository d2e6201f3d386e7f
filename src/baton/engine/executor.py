"""Run one step: render, consult the cache, call the agent with retries, fallbacks,
timeouts and limits, validate its output, and record every transition.

Both schedulers (the simple DAG and the LangGraph compiler) call :class:`StepExecutor`,
so a step behaves the same whichever kind of workflow it belongs to.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema

from baton.agents.base import (
    AgentAdapter,
    AgentError,
    AgentEvent,
    AgentFailed,
    AgentRequest,
    AgentResult,
    AgentTimeout,
    AgentUnavailable,
    BudgetExceeded,
    InvalidOutput,
    Usage,
)
from baton.agents.redacting import redacting
from baton.agents.registry import unusable_reason
from baton.engine.cache import PromptCache, cache_key
from baton.engine.clock import Clock
from baton.engine.errors import AgentNotFound, TemplateRenderError
from baton.engine.ownership import group_watcher
from baton.engine.prompts import keep_prompt
from baton.engine.quotas import DailyQuotas
from baton.engine.ratelimit import RateLimiter
from baton.engine.slots import SharedSlots
from baton.engine.state import ExecutionRun
from baton.engine.templates import render_prompt, render_script, step_context
from baton.models import Agent, StepRun, StepStatus, WorkflowStep
from baton.models import events as ev
from baton.store.base import Store, UsageRecord
from baton.workspace import changes, process, snapshot
from baton.workspace.stateguard import StateGuard

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n```", re.DOTALL)
# Adapters enforce the step timeout themselves (and kill their process group); the engine's
# own deadline is a safety net a little later.
_ENGINE_GRACE_SECONDS = 5.0
# A step reads the agent registry at most this often per agent (an operator's `baton agents
# disable` reaches running executions within it, as a cancellation does).
_REGISTRY_SECONDS = 1.0


@dataclass(slots=True)
class Services:
    """What the executor needs from the outside world; one instance per Baton."""

    store: Store
    clock: Clock
    agents: dict[str, Agent]
    adapter_factory: Callable[[Agent], AgentAdapter]
    slots: SharedSlots
    cache: PromptCache | None
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)
    quotas: DailyQuotas | None = None
    # Baton's own configuration and state (baton.yaml, .baton/): no agent step may change them.
    protected: tuple[Path, ...] = ()
    # ``file:line:col`` of a configuration setting (a field path), when it came from a file
    locate: Callable[[tuple[str | int, ...]], str | None] | None = None
    _adapters: dict[str, AgentAdapter] = field(default_factory=dict, init=False, repr=False)
    _registry: dict[str, tuple[float, str | None]] = field(default_factory=dict, init=False, repr=False)

    def agent(self, agent_id: str) -> Agent:
        """The configured agent; AgentUnavailable when the registry has it in ERROR or INACTIVE."""
        try:
            agent = self.agents[agent_id]
        except KeyError:
            raise AgentNotFound(f"agent {agent_id!r} is not configured") from None
        reason = self.recent_registry_reason(agent_id)
        if reason is not None:
            raise AgentUnavailable(reason, agent_id=agent_id)
        return agent

    def registry_reason(self, agent_id: str) -> str | None:
        """Why the agent registry says ``agent_id`` must not be used, or None (read now)."""
        return unusable_reason(self.store.get_agent(agent_id))

    def recent_registry_reason(self, agent_id: str) -> str | None:
        """:meth:`registry_reason` as read at most :data:`_REGISTRY_SECONDS` ago: a change made
        by another process (``baton agents disable``) counts within that time."""
        now = time.monotonic()
        read_at, reason = self._registry.get(agent_id, (float("-inf"), None))
        if now - read_at >= _REGISTRY_SECONDS:
            reason = self.registry_reason(agent_id)
            self._registry[agent_id] = (now, reason)
        return reason

    def adapter(self, agent: Agent) -> AgentAdapter:
        adapter = self._adapters.get(agent.id)
        if adapter is None:
            adapter = self._adapters[agent.id] = redacting(self.adapter_factory(agent))
        return adapter


def parse_json_answer(text: str) -> Any:
    """The JSON value in an agent's answer: the whole text, or its fenced ```json block."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    match = _FENCE.search(text)
    if match:
        try:
            return json.loads(match.group(1))
        except ValueError:
            pass
    raise InvalidOutput("the answer is not JSON (expected an object matching output_schema)")


def _streamed_cost(event: AgentEvent) -> float | None:
    """The cost so far in a "usage" event: ``cost_usd``, or an ACP ``cost`` in USD."""
    if event.data.get("cost_usd") is not None:
        return float(event.data["cost_usd"])
    cost = event.data.get("cost")
    if isinstance(cost, dict) and cost.get("currency", "USD") == "USD" and cost.get("amount") is not None:
        return float(cost["amount"])
    return None


def _billed(agent: Agent) -> bool:
    """Whether calls to ``agent`` may cost money (everything but local shell commands)."""
    return agent.provider != "shell"


def _refuse_state_changes(agent: Agent, changed: list[str]) -> None:
    if changed:
        raise AgentFailed(
            f"agent {agent.id!r} changed Baton's own configuration or state, which no step may do: "
            f"{', '.join(changed)} (reverted)", retryable=False, agent_id=agent.id)


def _cacheable(agent: Agent) -> bool:
    return bool(agent.config.get("cache", agent.provider != "shell"))


class StepExecutor:
    """Runs steps of executions against agents."""

    def __init__(self, services: Services) -> None:
        self.s = services

    async def execute(self, er: ExecutionRun, step: WorkflowStep, iteration: int = 1) -> StepStatus:
        """Run ``step`` to a terminal status, recording everything; never raises AgentError.

        Every billed attempt (failed, invalid, retried, timed out, a fallback's) counts in
        the step's output, the execution's budget, the usage table and so the quotas.
        """
        await er.recorder.durable()  # what came before this step is committed before it starts
        policy = step.retry_policy
        chain = [step.agent_id, *policy.fallback_agents]
        attempts = 0
        started = time.monotonic()
        last: Exception | None = None
        last_agent: str | None = None
        er.billed[step.id] = (Usage(), 0.0)
        for index, agent_id in enumerate(chain):
            if index > 0 and last is not None:
                er.recorder.emit(ev.FallbackAgent(execution_id=er.ctx.id, step=step.id,
                                                  from_agent=chain[index - 1], to_agent=agent_id,
                                                  error=str(last)))
            try:
                agent = self.s.agent(agent_id)
                adapter = self.s.adapter(agent)
            except (AgentNotFound, AgentUnavailable) as exc:
                last, last_agent = exc, agent_id
                continue
            resume: str | None = None  # an ACP session the failed attempt left to load
            for attempt in range(1, policy.max_attempts + 1):
                attempts += 1
                try:
                    er.budget.check()
                    if self.s.quotas is not None:
                        self.s.quotas.check(agent_id, er.ctx.workflow_id)
                    async with er.budget.reserve(_billed(agent)):
                        result, hit = await self._attempt(er, step, agent, adapter, attempts, iteration,
                                                          resume)
                except (BudgetExceeded, TemplateRenderError) as exc:
                    if isinstance(exc, BudgetExceeded):
                        er.abort_reason = str(exc)
                    return self.fail(er, step, agent_id, exc, attempts)
                except AgentError as exc:
                    last, last_agent = exc, agent_id
                    resume = exc.session_id or resume
                    self.s.rate_limiter.feedback(agent_id, exc)
                    retry = (exc.retryable and exc.retry_class in policy.retry_on
                             and attempt < policy.max_attempts)
                    if not retry:
                        break
                    delay = policy.delay(attempt, self.s.clock.random())
                    retry_after = getattr(exc, "retry_after", None)
                    if retry_after:
                        delay = max(delay, float(retry_after))
                    er.recorder.emit(ev.StepRetrying(
                        execution_id=er.ctx.id, step=step.id, agent_id=agent_id, attempt=attempts,
                        delay_seconds=delay, error_type=type(exc).__name__, error=str(exc)))
                    await self.s.clock.sleep(delay)
                    continue
                self._complete(er, step, agent, result, hit, time.monotonic() - started, iteration)
                return StepStatus.COMPLETED
        assert last is not None
        return self.fail(er, step, last_agent, last, attempts)

    async def _attempt(self, er: ExecutionRun, step: WorkflowStep, agent: Agent,
                       adapter: AgentAdapter, attempt: int, iteration: int,
                       session_id: str | None = None) -> tuple[AgentResult, bool]:
        ctx = step_context(step, er.base_context(), er.statuses)
        values: dict[str, str] = {}
        if agent.provider == "shell":
            prompt, values = render_script(step, ctx)
        else:
            prompt = render_prompt(step, ctx)
        run = StepRun(execution_id=er.ctx.id, step_id=step.id, status=StepStatus.RUNNING,
                      agent_id=agent.id, attempt=attempt, iteration=iteration,
                      started_at=self.s.clock.now())
        er.runs[step.id] = run
        er.statuses[step.id] = StepStatus.RUNNING
        er.recorder.start(run, ev.StepStarted(execution_id=er.ctx.id, step=step.id,
                                              agent_id=agent.id, attempt=attempt,
                                              iteration=iteration))
        keep_prompt(er.artifacts_dir, step.id, prompt)
        cache = self.s.cache if (self.s.cache and not er.no_cache and _cacheable(agent)) else None
        key = None
        before = (await snapshot.take(er.workspace, exclude=[er.artifacts_dir])
                  if adapter.acts_on_workspace else None)
        if cache is not None:
            material = prompt + ("\0" + json.dumps(values, sort_keys=True) if values else "")
            key = cache_key(agent, material, output_schema=step.output_schema,
                            writes_workspace=step.writes_workspace,
                            workspace_token=before.fingerprint if before else None)
            entry = cache.get(key, self.s.clock.now())
            if entry is not None and entry.diff:
                try:
                    snapshot.restore(er.workspace, entry.diff)
                except (snapshot.ReplayError, OSError):
                    entry = None  # ask the agent instead
            if entry is not None:
                er.recorder.emit(ev.CacheHit(execution_id=er.ctx.id, step=step.id,
                                             agent_id=agent.id, key=key,
                                             replayed_diff=bool(entry.diff)))
                return AgentResult.from_output(entry.output), True

        request = AgentRequest(
            prompt=prompt, workspace_dir=er.workspace, timeout_seconds=step.timeout_seconds,
            execution_id=er.ctx.id, step_id=step.id, attempt=attempt,
            output_schema=step.output_schema, writes_workspace=step.writes_workspace,
            environment={**er.ctx.environment, **values}, artifacts_dir=er.artifacts_dir,
            template_context=ctx, prompt_template=step.prompt_template,
            allow_failure=step.allow_failure, trace_id=er.ctx.trace_id,
            permissions=step.permissions, session_id=session_id,
        )
        guard = (await asyncio.to_thread(StateGuard.capture, [
                     *self.s.protected, er.workspace / ".baton", er.workspace / "baton.yaml"])
                 if adapter.acts_on_workspace and agent.provider != "shell" else None)
        queued: list[str] = []

        def slot_wait(reason: str) -> None:
            # not running until it holds its slot: PENDING, with the reason in its event
            queued.append(reason)
            er.statuses[step.id] = StepStatus.PENDING
            er.runs[step.id] = waiting = run.model_copy(update={"status": StepStatus.PENDING})
            er.recorder.transition(waiting, ev.StepQueued(execution_id=er.ctx.id, step=step.id,
                                                          agent_id=agent.id, reason=reason))

        async with self.s.slots.hold(f"agent:{agent.id}", agent.max_concurrency,
                                     what=f"agent {agent.id}'s max_concurrency", on_wait=slot_wait,
                                     keep=True):
            if queued:
                er.statuses[step.id], er.runs[step.id] = StepStatus.RUNNING, run
                er.recorder.start(run, ev.StepRunning(execution_id=er.ctx.id, step=step.id,
                                                      agent_id=agent.id))
            await self.s.rate_limiter.acquire(agent, er, step.id)
            watching = process.group_watcher.set(group_watcher(self.s.store, er.ctx.id, step.id))
            try:
                result = await self._call(er, step, agent, adapter, request)
            finally:
                process.group_watcher.reset(watching)
                if guard is not None:
                    _refuse_state_changes(agent, await asyncio.to_thread(guard.check))
        after = None
        if before is not None:
            after = await snapshot.take(er.workspace, exclude=[er.artifacts_dir])
            files = await asyncio.to_thread(changes.keep, er.artifacts_dir, step.id, before, after)
            if files and not result.files_changed:
                result.files_changed = files
        if step.output_schema is not None:
            try:
                result.json = self._validated(step, result)
            except InvalidOutput as exc:
                self._bill(er, step, agent, result.usage, result.cost_usd)
                raise exc.billed(result.usage, result.cost_usd) from None
        if cache is not None and key is not None:
            diff = None
            if step.writes_workspace and before is not None and after is not None:
                diff = snapshot.replay(before, after)
                if diff is None and snapshot.changed(before, after):
                    return result, False  # too large to replay: ask the agent next time
            cache.put(key, agent.id, result, diff, self.s.clock.now())
        return result, False

    async def _call(self, er: ExecutionRun, step: WorkflowStep, agent: Agent, adapter: AgentAdapter,
                    request: AgentRequest) -> AgentResult:
        """One agent call: stopped when the usage it streams crosses the budget; a failed
        call is billed with what it cost (its own report, else what it streamed)."""
        token = object()
        stop: list[str] = []

        async def on_event(event: AgentEvent) -> None:
            if event.kind == "permission":
                d = event.data
                er.recorder.emit(ev.PermissionDecision(
                    execution_id=er.ctx.id, step=step.id, agent_id=agent.id,
                    tool_call_id=str(d.get("tool_call_id") or ""), tool_kind=str(d.get("tool_kind")),
                    title=str(d.get("title") or ""), decision=str(d.get("decision")),
                    reason=str(d.get("reason") or ""), option_id=d.get("option_id"),
                    paths=list(d.get("paths") or []), command=d.get("command")))
                return
            if event.kind == "usage":
                er.budget.live(token, Usage.from_dict(event.data.get("usage")), _streamed_cost(event))
                reason = er.budget.exceeded()
                if reason is not None and not stop:
                    stop.append(reason)
                    call.cancel()
            er.recorder.emit(ev.AgentOutput(execution_id=er.ctx.id, step=step.id,
                                            agent_id=agent.id, event_kind=event.kind,
                                            text=event.text, payload=event.data))

        call = asyncio.ensure_future(adapter.run(request, on_event))
        try:
            try:
                async with asyncio.timeout(step.timeout_seconds + _ENGINE_GRACE_SECONDS):
                    result = await call
            except TimeoutError:
                raise AgentTimeout(f"no answer within {step.timeout_seconds}s; the agent was stopped",
                                   agent_id=agent.id) from None
        except AgentError as exc:
            streamed = er.budget.drop_live(token)
            if not exc.usage.total_tokens and exc.cost_usd is None:
                exc.billed(*streamed)
            self._bill(er, step, agent, exc.usage, exc.cost_usd)
            raise
        except asyncio.CancelledError:
            usage, cost = er.budget.drop_live(token)
            self._bill(er, step, agent, usage, cost)
            task = asyncio.current_task()
            if stop and (task is None or not task.cancelling()):
                raise BudgetExceeded(
                    f"budget exceeded while {agent.id} was running: {stop[0]}; the agent was "
                    "stopped (raise the limit in global.budget or the workflow's config.budget)",
                    agent_id=agent.id).billed(usage, cost) from None
            raise
        er.budget.drop_live(token)
        return result

    def _bill(self, er: ExecutionRun, step: WorkflowStep, agent: Agent, usage: Usage,
              cost: float | None) -> None:
        """Count a failed (or stopped) attempt's usage now: budget, step totals, usage table."""
        er.budget.add_call(usage, cost, billed=_billed(agent))
        if not usage.total_tokens and not cost:
            return
        total, total_cost = er.billed.get(step.id, (Usage(), 0.0))
        er.billed[step.id] = (total + usage, total_cost + (cost or 0.0))
        record = UsageRecord(
            execution_id=er.ctx.id, step_id=step.id, agent_id=agent.id, model=agent.model,
            workflow_id=er.ctx.workflow_id, input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens, cost_usd=cost or 0.0,
            at=self.s.clock.now())
        update = ev.BudgetUpdate(execution_id=er.ctx.id, total_tokens=er.budget.usage.total_tokens,
                                 cost_usd=er.budget.cost_usd)
        run = er.runs.get(step.id)
        if run is not None and run.status is StepStatus.RUNNING:
            er.recorder.transition(run, update, usage=record)
        else:
            self.s.store.record_usage(record)
            er.recorder.emit(update)

    @staticmethod
    def _validated(step: WorkflowStep, result: AgentResult) -> Any:
        value = result.json if result.json is not None else parse_json_answer(result.text)
        assert step.output_schema is not None
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(step.output_schema).iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise InvalidOutput(f"answer does not match output_schema at {where}: {error.message}")
        return value

    def _complete(self, er: ExecutionRun, step: WorkflowStep, agent: Agent, result: AgentResult,
                  hit: bool, duration: float, iteration: int) -> None:
        now = self.s.clock.now()
        output = result.as_output()
        output["status"] = StepStatus.COMPLETED.value
        output["agent_id"] = agent.id
        output["cache_hit"] = hit
        er.outputs[step.key] = output
        er.statuses[step.id] = StepStatus.COMPLETED
        cost = 0.0 if hit else result.cost_usd
        usage = None
        if not hit:
            er.budget.add_call(result.usage, result.cost_usd, billed=_billed(agent))
            earlier, earlier_cost = er.billed.get(step.id, (Usage(), 0.0))
            if earlier.total_tokens or earlier_cost:
                output["usage"] = (earlier + result.usage).as_dict()
                output["cost_usd"] = earlier_cost + (result.cost_usd or 0.0)
            cost = output["cost_usd"]
            usage = UsageRecord(
                execution_id=er.ctx.id, step_id=step.id, agent_id=agent.id,
                model=result.model or agent.model, workflow_id=er.ctx.workflow_id,
                input_tokens=result.usage.input_tokens, output_tokens=result.usage.output_tokens,
                cache_read_tokens=result.usage.cache_read_tokens,
                cache_write_tokens=result.usage.cache_write_tokens,
                cost_usd=result.cost_usd or 0.0, at=now)
        prev = er.runs.get(step.id)
        run = StepRun(execution_id=er.ctx.id, step_id=step.id, status=StepStatus.COMPLETED,
                      agent_id=agent.id, attempt=prev.attempt if prev else 1, iteration=iteration,
                      started_at=prev.started_at if prev else now, ended_at=now, output=output,
                      cache_hit=hit)
        er.runs[step.id] = run
        er.recorder.transition(run, ev.StepCompleted(
            execution_id=er.ctx.id, step=step.id, agent_id=agent.id, output_key=step.key,
            duration_seconds=duration, usage=dict(output["usage"]), cost_usd=cost,
            exit_code=result.exit_code, cache_hit=hit, files_changed=list(result.files_changed),
            iteration=iteration),
            *([ev.BudgetUpdate(execution_id=er.ctx.id, total_tokens=er.budget.usage.total_tokens,
                               cost_usd=er.budget.cost_usd)]
              if not hit and (result.usage.total_tokens or result.cost_usd) else []),
            usage=usage)

    def fail(self, er: ExecutionRun, step: WorkflowStep, agent_id: str | None, exc: Exception,
              attempts: int) -> StepStatus:
        now = self.s.clock.now()
        er.statuses[step.id] = StepStatus.FAILED
        prev = er.runs.get(step.id)
        usage, cost = er.billed.get(step.id, (Usage(), 0.0))
        if isinstance(exc, TemplateRenderError):
            exc = self._located(er, step, exc)
        output = {"status": "failed", "error": str(exc), "error_type": type(exc).__name__,
                  "exit_code": getattr(exc, "exit_code", None), "text": getattr(exc, "output", ""),
                  "allowed": step.allow_failure, "usage": usage.as_dict(), "cost_usd": cost}
        er.outputs[step.key] = output
        run = StepRun(execution_id=er.ctx.id, step_id=step.id, status=StepStatus.FAILED,
                      agent_id=agent_id, attempt=attempts,
                      iteration=prev.iteration if prev else 1,
                      started_at=prev.started_at if prev else now, ended_at=now, output=output,
                      error=str(exc), error_type=type(exc).__name__)
        er.runs[step.id] = run
        er.recorder.transition(run, ev.StepFailed(
            execution_id=er.ctx.id, step=step.id, agent_id=agent_id,
            error_type=type(exc).__name__, error=str(exc), allowed=step.allow_failure,
            attempts=attempts, usage=usage.as_dict(), cost_usd=cost))
        return StepStatus.FAILED

    def _located(self, er: ExecutionRun, step: WorkflowStep,
                 exc: TemplateRenderError) -> TemplateRenderError:
        """``exc`` prefixed with where the failing template is written (``file:line:col``)."""
        if self.s.locate is None or exc.field is None or exc.located:
            return exc
        index = next((i for i, s in enumerate(er.workflow.steps) if s.id == step.id), None)
        where = None if index is None else self.s.locate(
            ("workflows", er.workflow.id, "steps", index, *exc.field))
        if where is None:
            return exc
        located = TemplateRenderError(f"{where} {exc}", step_id=exc.step_id, field=exc.field)
        located.located = True
        return located

    def skip(self, er: ExecutionRun, step: WorkflowStep, reason: str) -> None:
        now = self.s.clock.now()
        er.statuses[step.id] = StepStatus.SKIPPED
        run = StepRun(execution_id=er.ctx.id, step_id=step.id, status=StepStatus.SKIPPED,
                      started_at=now, ended_at=now, error=reason)
        er.runs[step.id] = run
        er.recorder.transition(run, ev.StepSkipped(execution_id=er.ctx.id, step=step.id,
                                                   reason=reason))

    def cancel(self, er: ExecutionRun, step_id: str, when: datetime) -> None:
        er.statuses[step_id] = StepStatus.CANCELLED
        prev = er.runs.get(step_id)
        usage, cost = er.billed.get(step_id, (Usage(), 0.0))
        run = StepRun(execution_id=er.ctx.id, step_id=step_id, status=StepStatus.CANCELLED,
                      agent_id=prev.agent_id if prev else None,
                      attempt=prev.attempt if prev else 0,
                      started_at=prev.started_at if prev else when, ended_at=when,
                      error="cancelled",
                      output={"status": "cancelled", "usage": usage.as_dict(), "cost_usd": cost})
        er.runs[step_id] = run
        er.recorder.transition(run, ev.StepFailed(
            execution_id=er.ctx.id, step=step_id, agent_id=run.agent_id,
            error_type="Cancelled", error="cancelled", allowed=False, attempts=run.attempt))


__all__ = ["Services", "StepExecutor", "parse_json_answer"]
