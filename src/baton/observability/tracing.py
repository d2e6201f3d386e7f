"""OpenTelemetry traces built from the engine's event stream.

One trace per execution, whose trace id *is* the execution's ``trace_id`` (the one on
every ExecutionLog row)::

    workflow review                      execution (root; resumed runs add another root)
    ├── step diff                        one span per step attempt
    │   └── invoke_agent sh              the agent call: GenAI attributes, usage, cost
    ├── step security  (ERROR)           attempt 1 failed: exception event, retry event
    │   └── invoke_agent claude (ERROR)
    └── step security
        └── invoke_agent claude

Retries, cache hits, rate-limit waits and fallbacks are span events; failures set status
ERROR with the error recorded. The observer runs synchronously inside the engine (it must
not raise, and is cheap: a few span operations per step); with tracing off it is never
installed. Exporters are chosen by :mod:`baton.observability.trace_export`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from baton import __version__
from baton.models import AgentConfig
from baton.models import events as ev
from baton.observability.propagation import format_traceparent, set_agent_traceparent

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TOOL_EVENTS = 50
_OK = Status(StatusCode.OK)
# gen_ai.system / gen_ai.provider.name by Baton provider
GEN_AI_SYSTEM = {
    "anthropic": "anthropic",
    "openai": "openai",
    "github": "github_copilot",
    "google": "gcp.gemini",
    "openai-compatible": "openai",
    "shell": "shell",
    "scripted": "scripted",
}


def ns(moment: datetime) -> int:
    """``moment`` as integer nanoseconds since the epoch (exact, no float rounding)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ((moment - _EPOCH) // timedelta(microseconds=1)) * 1000


class ExecutionIds(IdGenerator):
    """Random ids, except the one trace or span id handed to the next span started."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self.lock = threading.Lock()
        self.trace_id: int | None = None
        self.span_id: int | None = None

    def generate_trace_id(self) -> int:
        value, self.trace_id = self.trace_id, None
        return value if value else self._random.generate_trace_id()

    def generate_span_id(self) -> int:
        value, self.span_id = self.span_id, None
        return value if value else self._random.generate_span_id()


@dataclass(slots=True)
class _Attempt:
    span: Span
    agent_id: str
    started: int
    agent_span_id: int
    cache_hit: bool = False
    tools: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Execution:
    root: Span | None = None
    workflow_id: str = ""
    queued_at: int | None = None
    steps: dict[str, _Attempt] = field(default_factory=dict)


class TracingObserver:
    """An engine observer that turns events into spans (see the module docstring)."""

    def __init__(self, provider: TracerProvider, agents: Mapping[str, AgentConfig]) -> None:
        if not isinstance(provider.id_generator, ExecutionIds):
            raise ValueError("the tracer provider must use ExecutionIds (see tracer_provider())")
        self.provider = provider
        self._ids: ExecutionIds = provider.id_generator
        self._tracer = provider.get_tracer("baton", __version__)
        self._agents = dict(agents)
        self._agent_attrs: dict[str, dict[str, Any]] = {}
        self._executions: dict[str, _Execution] = {}
        self._handlers: dict[type[ev.Event], Callable[[Any], None]] = {
            ev.ExecutionQueued: self._queued,
            ev.ExecutionStarted: self._started,
            ev.StepStarted: self._step_started,
            ev.AgentOutput: self._agent_output,
            ev.RateLimitWait: self._rate_limited,
            ev.CacheHit: self._cache_hit,
            ev.StepRetrying: self._retrying,
            ev.FallbackAgent: self._fallback,
            ev.StepCompleted: self._completed,
            ev.StepFailed: self._failed,
            ev.StepSkipped: self._skipped,
            ev.StepWaiting: self._waiting,
            ev.ExecutionCompleted: self._execution_completed,
        }

    def __call__(self, event: ev.Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            return
        try:
            handler(event)
        except Exception:  # an observer must never break an execution
            import logging

            logging.getLogger(__name__).exception("tracing: could not record %s", event.kind)

    # -- spans ------------------------------------------------------------------------------
    def _start(
        self,
        name: str,
        parent: Span | None,
        start: int,
        attributes: dict[str, Any],
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        trace_id: int | None = None,
        span_id: int | None = None,
    ) -> Span:
        context = trace_api.set_span_in_context(parent) if parent is not None else None
        with self._ids.lock:
            self._ids.trace_id, self._ids.span_id = trace_id, span_id
            try:
                return self._tracer.start_span(
                    name, context=context, kind=kind, attributes=attributes, start_time=start
                )
            finally:
                self._ids.trace_id = self._ids.span_id = None

    def _execution(self, execution_id: str) -> _Execution:
        state = self._executions.get(execution_id)
        if state is None:
            state = self._executions[execution_id] = _Execution()
        return state

    def _agent_attributes(self, agent_id: str) -> dict[str, Any]:
        attrs = self._agent_attrs.get(agent_id)
        if attrs is None:
            agent = self._agents.get(agent_id)
            attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent_id}
            if agent is not None:
                system = GEN_AI_SYSTEM.get(agent.provider, agent.provider)
                attrs.update({"gen_ai.system": system, "gen_ai.request.model": agent.model})
            self._agent_attrs[agent_id] = attrs
        return dict(attrs)

    def _agent_span(
        self, state: _Execution, step: str, attempt: _Attempt, end: int, extra: dict[str, Any]
    ) -> Span:
        attrs = self._agent_attributes(attempt.agent_id)
        attrs.update(extra)
        model = attrs.get("gen_ai.request.model", attempt.agent_id)
        span = self._start(
            f"invoke_agent {model}",
            attempt.span,
            attempt.started,
            attrs,
            kind=SpanKind.CLIENT,
            span_id=attempt.agent_span_id,
        )
        for at, name in attempt.tools:
            span.add_event("gen_ai.tool.call", {"gen_ai.tool.name": name}, timestamp=at)
        return span

    # -- handlers -----------------------------------------------------------------------------
    def _queued(self, event: ev.ExecutionQueued) -> None:
        state = self._execution(event.execution_id)
        state.workflow_id = event.workflow_id
        state.queued_at = ns(event.timestamp)

    def _started(self, event: ev.ExecutionStarted) -> None:
        state = self._execution(event.execution_id)
        state.workflow_id = event.workflow_id
        start = state.queued_at or ns(event.timestamp)
        try:
            trace_id = int(event.trace_id, 16) if event.trace_id else None
        except ValueError:
            trace_id = None
        state.root = self._start(
            f"workflow {event.workflow_id}",
            None,
            start,
            {
                "baton.execution.id": event.execution_id,
                "baton.workflow.id": event.workflow_id,
                "baton.execution.resumed": event.resumed,
                "baton.execution.steps": len(event.steps),
            },
            trace_id=trace_id,
        )
        if state.queued_at is not None:
            state.root.add_event("execution.queued", timestamp=state.queued_at)
            state.root.add_event("execution.started", timestamp=ns(event.timestamp))

    def _step_started(self, event: ev.StepStarted) -> None:
        state = self._execution(event.execution_id)
        if (previous := state.steps.pop(event.step, None)) is not None:
            previous.span.end(ns(event.timestamp))
        start = ns(event.timestamp)
        span = self._start(
            f"step {event.step}",
            state.root,
            start,
            {
                "baton.step.id": event.step,
                "baton.step.attempt": event.attempt,
                "baton.agent.id": event.agent_id,
                **({"baton.step.iteration": event.iteration} if event.iteration > 1 else {}),
            },
        )
        agent_span_id = self._random_span_id()
        state.steps[event.step] = _Attempt(span, event.agent_id, start, agent_span_id)
        context = span.get_span_context()
        if context.is_valid:
            set_agent_traceparent(
                format_traceparent(
                    f"{context.trace_id:032x}", f"{agent_span_id:016x}", context.trace_flags.sampled
                )
            )

    def _random_span_id(self) -> int:
        return self._ids._random.generate_span_id()

    def _agent_output(self, event: ev.AgentOutput) -> None:
        if event.event_kind != "tool_use":
            return
        attempt = self._execution(event.execution_id).steps.get(event.step)
        if attempt is not None and len(attempt.tools) < _MAX_TOOL_EVENTS:
            attempt.tools.append((ns(event.timestamp), event.text[:200]))

    def _rate_limited(self, event: ev.RateLimitWait) -> None:
        attempt = self._execution(event.execution_id).steps.get(event.step)
        if attempt is not None:
            attempt.span.add_event(
                "rate_limit.wait",
                {
                    "baton.rate_limit.wait_seconds": event.wait_seconds,
                    "baton.rate_limit.queued_ahead": event.queued_ahead,
                    "baton.rate_limit.reason": event.reason,
                },
                timestamp=ns(event.timestamp),
            )

    def _cache_hit(self, event: ev.CacheHit) -> None:
        attempt = self._execution(event.execution_id).steps.get(event.step)
        if attempt is not None:
            attempt.cache_hit = True
            attempt.span.set_attribute("baton.cache.hit", True)
            attempt.span.add_event(
                "cache_hit",
                {"baton.cache.key": event.key, "baton.cache.replayed_diff": event.replayed_diff},
                timestamp=ns(event.timestamp),
            )

    def _retrying(self, event: ev.StepRetrying) -> None:
        state = self._execution(event.execution_id)
        attempt = state.steps.pop(event.step, None)
        if attempt is None:
            return
        end = ns(event.timestamp)
        error = {"error.type": event.error_type}
        agent = self._agent_span(state, event.step, attempt, end, error)
        _record_error(agent, event.error_type, event.error, end)
        agent.end(end)
        attempt.span.add_event(
            "retry",
            {
                "baton.retry.attempt": event.attempt,
                "baton.retry.delay_seconds": event.delay_seconds,
                "error.type": event.error_type,
            },
            timestamp=end,
        )
        _record_error(attempt.span, event.error_type, event.error, end)
        attempt.span.end(end)

    def _fallback(self, event: ev.FallbackAgent) -> None:
        root = self._execution(event.execution_id).root
        if root is not None:
            root.add_event(
                "fallback",
                {
                    "baton.step.id": event.step,
                    "baton.fallback.from": event.from_agent,
                    "baton.fallback.to": event.to_agent,
                },
                timestamp=ns(event.timestamp),
            )

    def _completed(self, event: ev.StepCompleted) -> None:
        state = self._execution(event.execution_id)
        attempt = state.steps.pop(event.step, None)
        if attempt is None:
            return
        end = ns(event.timestamp)
        span = attempt.span
        attrs: dict[str, Any] = {"baton.step.status": "completed"}
        if event.cache_hit:
            attrs["baton.cache.hit"] = True
        if event.files_changed:
            attrs["baton.step.files_changed"] = len(event.files_changed)
        if event.exit_code:
            attrs["baton.step.exit_code"] = event.exit_code
        span.set_attributes(attrs)
        if not event.cache_hit:
            usage = event.usage
            call: dict[str, Any] = {
                "gen_ai.usage.input_tokens": usage.get("input_tokens", 0),
                "gen_ai.usage.output_tokens": usage.get("output_tokens", 0),
            }
            if usage.get("cache_read_tokens"):
                call["gen_ai.usage.cache_read.input_tokens"] = usage["cache_read_tokens"]
            if usage.get("cache_write_tokens"):
                call["gen_ai.usage.cache_creation.input_tokens"] = usage["cache_write_tokens"]
            if event.cost_usd is not None:
                call["baton.cost_usd"] = event.cost_usd
            agent = self._agent_span(state, event.step, attempt, end, call)
            agent.set_status(_OK)
            agent.end(end)
        span.set_status(_OK)
        span.end(end)

    def _failed(self, event: ev.StepFailed) -> None:
        state = self._execution(event.execution_id)
        end = ns(event.timestamp)
        attempt = state.steps.pop(event.step, None)
        if attempt is None:  # failed before an attempt started (budget, template, no agent)
            span = self._start(
                f"step {event.step}",
                state.root,
                end,
                {
                    "baton.step.id": event.step,
                    **({"baton.agent.id": event.agent_id} if event.agent_id else {}),
                },
            )
        else:
            span = attempt.span
            if not attempt.cache_hit and event.error_type != "Cancelled":
                agent = self._agent_span(state, event.step, attempt, end, {"error.type": event.error_type})
                _record_error(agent, event.error_type, event.error, end)
                agent.end(end)
        span.set_attributes(
            {
                "baton.step.status": "cancelled" if event.error_type == "Cancelled" else "failed",
                "baton.step.attempts": event.attempts,
                "baton.step.allow_failure": event.allowed,
                "error.type": event.error_type,
            }
        )
        _record_error(span, event.error_type, event.error, end)
        span.end(end)

    def _skipped(self, event: ev.StepSkipped) -> None:
        state = self._execution(event.execution_id)
        at = ns(event.timestamp)
        span = self._start(
            f"step {event.step}",
            state.root,
            at,
            {
                "baton.step.id": event.step,
                "baton.step.status": "skipped",
                "baton.step.skip_reason": event.reason,
            },
        )
        span.end(at)

    def _waiting(self, event: ev.StepWaiting) -> None:
        root = self._execution(event.execution_id).root
        if root is not None:
            root.add_event("approval.waiting", {"baton.step.id": event.step}, timestamp=ns(event.timestamp))

    def _execution_completed(self, event: ev.ExecutionCompleted) -> None:
        state = self._executions.pop(event.execution_id, None)
        if state is None:
            return
        end = ns(event.timestamp)
        for step, attempt in state.steps.items():
            attempt.span.set_attribute("baton.step.status", "interrupted")
            _record_error(
                attempt.span, "Interrupted", f"step {step} did not finish: execution {event.status}", end
            )
            attempt.span.end(end)
        if state.root is None:
            return
        root = state.root
        root.set_attributes(
            {
                "baton.execution.status": event.status,
                "baton.usage.total_tokens": event.total_tokens,
                "baton.cost_usd": event.cost_usd,
                "baton.execution.duration_seconds": event.duration_seconds,
            }
        )
        if event.status in ("failed", "cancelled"):
            _record_error(root, event.status, event.error or event.status, end)
        elif event.status == "completed":
            root.set_status(Status(StatusCode.OK))
        root.end(end)


def _record_error(span: Span, error_type: str, message: str, at: int) -> None:
    span.add_event(
        "exception", {"exception.type": error_type, "exception.message": message[:2000]}, timestamp=at
    )
    span.set_status(Status(StatusCode.ERROR, f"{error_type}: {message}"[:500]))


def tracer_provider(service_name: str = "baton", sample_ratio: float = 1.0) -> TracerProvider:
    """A provider whose root spans take the execution's trace id; add span processors to it."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    return TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        resource=Resource.create({"service.name": service_name, "service.version": __version__}),
        id_generator=ExecutionIds(),
    )
