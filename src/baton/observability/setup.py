"""The observers a configuration asks for: logs always, traces and metrics when enabled.

``Baton.from_config`` calls :func:`setup`; a front end that builds ``Baton(...)`` itself
passes ``observers=setup(configuration, root)``. With tracing and metrics off (the
default) OpenTelemetry is not even imported.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from baton.models import Configuration
from baton.models.events import Event
from baton.observability.redact import register_secret

Observer = Callable[[Event], None]


def setup(configuration: Configuration, root: Path) -> list[Observer]:
    """Observers for the configuration's ``observability`` settings."""
    from baton.observability.logging import LogObserver

    obs = configuration.observability
    for value in obs.redact:
        register_secret(value)
    observers: list[Observer] = [LogObserver()]
    if obs.tracing.enabled:
        from baton.observability.trace_export import span_processor
        from baton.observability.tracing import TracingObserver, tracer_provider

        provider = tracer_provider(obs.tracing.service_name, obs.tracing.sample_ratio)
        provider.add_span_processor(span_processor(obs.tracing, configuration.global_.artifacts_path(root)))
        observers.append(TracingObserver(provider, configuration.agents))
    if obs.metrics:
        from baton.extras import require

        require("prometheus_client", "metrics")
        require("opentelemetry.exporter.prometheus", "metrics")
        from baton.observability import metrics

        observers.append(metrics.shared(configuration))
    return observers
