"""Prometheus metrics of the API, exposed at ``GET /metrics``.

The API keeps its own small registry (requests, latency, executions submitted, SSE
streams, rate-limited requests). When ``baton.observability.metrics`` is importable and
offers ``registry()`` (a ``prometheus_client`` CollectorRegistry with the engine's
metrics), its exposition is appended, so one scrape gets both: that is the hook for the
observability layer.
"""

from __future__ import annotations

import importlib
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ApiMetrics:
    """The API's own metrics in a registry of their own (one per app, so tests can make many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "baton_api_requests",
            "HTTP requests answered by the API.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "baton_api_request_duration_seconds",
            "Time to answer an API request (first byte).",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.submitted = Counter(
            "baton_api_executions_submitted",
            "Executions accepted by POST /executions.",
            ["workflow"],
            registry=self.registry,
        )
        self.sse_streams = Gauge(
            "baton_api_sse_streams", "Open Server-Sent Events streams.", registry=self.registry
        )

    def exposition(self) -> bytes:
        out = generate_latest(self.registry)
        extra = _observability_registry()
        if extra is not None:
            out += generate_latest(extra)
        return out


def _observability_registry() -> Any | None:
    try:
        module = importlib.import_module("baton.observability.metrics")
    except ImportError:
        return None
    factory = getattr(module, "registry", None)
    if not callable(factory):
        return None
    try:
        return factory()
    except Exception:  # metrics must never break the scrape of the API's own
        return None
