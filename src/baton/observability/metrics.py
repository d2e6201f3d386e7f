"""Metrics from the engine's event stream: an OpenTelemetry MeterProvider with a Prometheus
exposition (for ``GET /metrics``) and, optionally, OTLP export.

Instruments (Prometheus names):

============================================  ====================================================
``baton_executions_total``                    finished executions {workflow, status}
``baton_executions_active``                   running executions {workflow}
``baton_steps_total``                         finished steps {workflow, agent, status}
``baton_step_duration_seconds``               histogram of step durations {workflow, agent, status}
``baton_step_retries_total``                  retried attempts {workflow, agent, error_type}
``baton_tokens_total``                        tokens {workflow, agent, model, type=input|output|...}
``baton_cost_usd_total``                      cost in USD {workflow, agent, model}
``baton_cache_hits_total``                    prompt-cache hits {workflow, agent}
``baton_queue_depth``                         waiting now {queue=executions|rate_limit, agent}
``baton_rate_limit_events_total``             {agent, kind=wait|429}
============================================  ====================================================

The HTTP API serves :func:`exposition` (or appends :func:`registry` to its own); the
process's :class:`MetricsObserver` (see :func:`shared`) is the one served.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from baton import __version__
from baton.models import AgentConfig, Configuration
from baton.models import events as ev

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_RATE_LIMITED = "RateLimited"


class MetricsObserver:
    """An engine observer that counts executions, steps, tokens, cost, cache hits and waits."""

    def __init__(
        self,
        agents: Mapping[str, AgentConfig],
        *,
        service_name: str = "baton",
        readers: tuple[MetricReader, ...] = (),
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        prometheus = PrometheusMetricReader(
            registry=self.registry, disable_target_info=True, scope_info_enabled=False
        )
        self.provider = MeterProvider(
            metric_readers=[prometheus, *readers],
            resource=Resource.create({"service.name": service_name, "service.version": __version__}),
        )
        self._agents = dict(agents)
        self._workflows: dict[str, str] = {}
        self._queued: set[str] = set()
        self._running: set[str] = set()
        self._waiting: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        meter = self.provider.get_meter("baton", __version__)
        self.executions = meter.create_counter("baton.executions", description="Finished executions")
        self.active = meter.create_up_down_counter(
            "baton.executions.active", description="Executions running now"
        )
        self.steps = meter.create_counter("baton.steps", description="Finished steps by status")
        self.duration = meter.create_histogram(
            "baton.step.duration",
            unit="s",
            description="Step duration (all attempts)",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.retries = meter.create_counter("baton.step.retries", description="Retried step attempts")
        self.tokens = meter.create_counter("baton.tokens", description="Tokens used by agent calls")
        self.cost = meter.create_counter("baton.cost_usd", description="Cost of agent calls in USD")
        self.cache_hits = meter.create_counter("baton.cache.hits", description="Prompt-cache hits")
        self.queue = meter.create_up_down_counter(
            "baton.queue.depth",
            description="Executions waiting for a slot and calls waiting for a rate limit",
        )
        self.rate_limits = meter.create_counter(
            "baton.rate_limit.events", description="Rate-limit waits and 429 answers"
        )
        self._handlers: dict[type[ev.Event], Callable[[Any], None]] = {
            ev.ExecutionQueued: self._queued_execution,
            ev.ExecutionStarted: self._started,
            ev.RateLimitWait: self._rate_wait,
            ev.AgentOutput: self._agent_output,
            ev.CacheHit: self._cache_hit,
            ev.StepRetrying: self._retrying,
            ev.StepCompleted: self._completed,
            ev.StepFailed: self._failed,
            ev.StepSkipped: self._skipped,
            ev.ExecutionCompleted: self._execution_completed,
        }

    def __call__(self, event: ev.Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            return
        try:
            with self._lock:
                handler(event)
        except Exception:  # an observer must never break an execution
            import logging

            logging.getLogger(__name__).exception("metrics: could not record %s", event.kind)

    def add_agents(self, agents: Mapping[str, AgentConfig]) -> None:
        """Know these agents' models too (a later configuration of the same process)."""
        self._agents.update(agents)

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def shutdown(self) -> None:
        self.provider.shutdown()

    # -- helpers -------------------------------------------------------------------------------
    def _workflow(self, execution_id: str) -> str:
        return self._workflows.get(execution_id, "unknown")

    def _model(self, agent_id: str | None) -> str:
        agent = self._agents.get(agent_id or "")
        return agent.model if agent is not None else "unknown"

    def _stop_waiting(self, execution_id: str, step: str, agent_id: str | None) -> None:
        key = (execution_id, step)
        if key in self._waiting:
            self._waiting.discard(key)
            self.queue.add(-1, {"queue": "rate_limit", "agent": agent_id or "unknown"})

    # -- handlers ----------------------------------------------------------------------------------
    def _queued_execution(self, event: ev.ExecutionQueued) -> None:
        self._workflows[event.execution_id] = event.workflow_id
        if event.execution_id not in self._queued:
            self._queued.add(event.execution_id)
            self.queue.add(1, {"queue": "executions", "agent": ""})

    def _leave_queue(self, execution_id: str) -> None:
        if execution_id in self._queued:
            self._queued.discard(execution_id)
            self.queue.add(-1, {"queue": "executions", "agent": ""})

    def _started(self, event: ev.ExecutionStarted) -> None:
        self._workflows[event.execution_id] = event.workflow_id
        self._leave_queue(event.execution_id)
        if event.execution_id not in self._running:
            self._running.add(event.execution_id)
            self.active.add(1, {"workflow": event.workflow_id})

    def _rate_wait(self, event: ev.RateLimitWait) -> None:
        self.rate_limits.add(1, {"agent": event.agent_id, "kind": "wait"})
        key = (event.execution_id, event.step)
        if key not in self._waiting:
            self._waiting.add(key)
            self.queue.add(1, {"queue": "rate_limit", "agent": event.agent_id})

    def _agent_output(self, event: ev.AgentOutput) -> None:
        self._stop_waiting(event.execution_id, event.step, event.agent_id)

    def _cache_hit(self, event: ev.CacheHit) -> None:
        self.cache_hits.add(1, {"workflow": self._workflow(event.execution_id), "agent": event.agent_id})

    def _retrying(self, event: ev.StepRetrying) -> None:
        self._stop_waiting(event.execution_id, event.step, event.agent_id)
        self.retries.add(
            1,
            {
                "workflow": self._workflow(event.execution_id),
                "agent": event.agent_id,
                "error_type": event.error_type,
            },
        )
        if event.error_type == _RATE_LIMITED:
            self.rate_limits.add(1, {"agent": event.agent_id, "kind": "429"})

    def _completed(self, event: ev.StepCompleted) -> None:
        self._stop_waiting(event.execution_id, event.step, event.agent_id)
        workflow = self._workflow(event.execution_id)
        labels = {"workflow": workflow, "agent": event.agent_id, "status": "completed"}
        self.steps.add(1, labels)
        self.duration.record(event.duration_seconds, labels)
        if event.cache_hit:
            return
        usage = {"workflow": workflow, "agent": event.agent_id, "model": self._model(event.agent_id)}
        for kind in ("input", "output", "cache_read", "cache_write"):
            count = event.usage.get(f"{kind}_tokens", 0)
            if count:
                self.tokens.add(count, {**usage, "type": kind})
        if event.cost_usd:
            self.cost.add(event.cost_usd, usage)

    def _failed(self, event: ev.StepFailed) -> None:
        self._stop_waiting(event.execution_id, event.step, event.agent_id)
        status = "cancelled" if event.error_type == "Cancelled" else "failed"
        self.steps.add(
            1,
            {
                "workflow": self._workflow(event.execution_id),
                "agent": event.agent_id or "none",
                "status": status,
            },
        )
        if event.error_type == _RATE_LIMITED and event.agent_id:
            self.rate_limits.add(1, {"agent": event.agent_id, "kind": "429"})

    def _skipped(self, event: ev.StepSkipped) -> None:
        self.steps.add(
            1, {"workflow": self._workflow(event.execution_id), "agent": "none", "status": "skipped"}
        )

    def _execution_completed(self, event: ev.ExecutionCompleted) -> None:
        workflow = self._workflows.pop(event.execution_id, "unknown")
        self._leave_queue(event.execution_id)
        if event.execution_id in self._running:
            self._running.discard(event.execution_id)
            self.active.add(-1, {"workflow": workflow})
        self.executions.add(1, {"workflow": workflow, "status": event.status})
        for key in [k for k in self._waiting if k[0] == event.execution_id]:
            self._waiting.discard(key)
            self.queue.add(-1, {"queue": "rate_limit", "agent": "unknown"})


_current: MetricsObserver | None = None
_current_key: tuple[str, str | None, float] | None = None


def install(observer: MetricsObserver | None) -> None:
    """Make ``observer`` the one :func:`exposition` serves."""
    global _current, _current_key
    _current, _current_key = observer, None


def shared(configuration: Configuration) -> MetricsObserver:
    """The process's metrics observer (one MeterProvider per process, as Prometheus scrapes a
    process): reused while the export settings stay the same, its agent list updated."""
    global _current, _current_key
    obs = configuration.observability
    key = (obs.metrics_exporter, obs.metrics_endpoint, obs.metrics_interval_seconds)
    if _current is not None and _current_key == key:
        _current.add_agents(configuration.agents)
        return _current
    readers: tuple[MetricReader, ...] = ()
    if obs.metrics_exporter != "prometheus":
        readers = (otlp_reader(obs.metrics_exporter, obs.metrics_endpoint, obs.metrics_interval_seconds),)
    if _current is not None:
        _current.shutdown()
    _current = MetricsObserver(configuration.agents, service_name=obs.tracing.service_name, readers=readers)
    _current_key = key
    return _current


def current() -> MetricsObserver | None:
    return _current


def registry() -> CollectorRegistry | None:
    """The engine metrics' ``prometheus_client`` registry (None when metrics are off), for a
    front end that combines it with registries of its own (the HTTP API does)."""
    return _current.registry if _current is not None else None


def exposition() -> tuple[bytes, str]:
    """``(body, content_type)`` for ``GET /metrics``; an empty exposition when metrics are off."""
    if _current is None:
        return b"", CONTENT_TYPE_LATEST
    return _current.exposition()


def otlp_reader(exporter: str, endpoint: str | None, interval_seconds: float) -> MetricReader:
    """A periodic OTLP metric reader (``otlp-http`` or ``otlp-grpc``)."""
    from urllib.parse import urlsplit

    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from baton.observability.trace_export import ExporterUnavailable

    try:
        if exporter == "otlp-http":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            if endpoint is not None and urlsplit(endpoint).path in ("", "/"):
                endpoint = endpoint.rstrip("/") + "/v1/metrics"
            metric_exporter: Any = OTLPMetricExporter(endpoint=endpoint)
        else:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )

            insecure = endpoint.startswith("http://") if endpoint else None
            metric_exporter = GrpcMetricExporter(endpoint=endpoint, insecure=insecure)
    except ImportError:
        raise ExporterUnavailable(
            f"metrics exporter {exporter!r} is not installed; install the OTLP "
            "exporters with: pip install 'baton[otlp]'"
        ) from None
    return PeriodicExportingMetricReader(metric_exporter, export_interval_millis=interval_seconds * 1000)
