"""Where spans go: console, one JSON file per execution, or OTLP (HTTP or gRPC).

``observability.tracing`` in ``baton.yaml``::

    observability:
      tracing:
        enabled: true
        exporter: file            # console | file | otlp-http | otlp-grpc
        endpoint: http://127.0.0.1:4318     # OTLP only (default: the OTel standard ports)
        headers: {authorization: "Bearer ${OTLP_TOKEN}"}

``file`` writes ``<artifacts_dir>/<execution id>/trace.json`` shortly after the
execution's root span ends, from a background thread (a resumed execution adds its new
spans to the same file; ``force_flush()`` on the provider waits for pending writes). The OTLP exporters
batch in a background thread and need ``pip install 'baton[otlp]'``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from baton.errors import BatonError
from baton.models import TracingConfig

FILE_NAME = "trace.json"
FILE_DELAY_MS = 200
_MAX_BUFFERED = 20_000
_INSTALL_HINT = "install the OTLP exporters with: pip install 'baton[otlp]'"


class ExporterUnavailable(BatonError):
    """The configured span exporter cannot be used (package missing)."""

    cli_exit_code = 2


class ExecutionFileExporter(SpanExporter):
    """Collects each trace's spans and writes them as one JSON file when its root span ends."""

    def __init__(self, artifacts_root: Path) -> None:
        self.artifacts_root = Path(artifacts_root)
        self._pending: dict[int, list[ReadableSpan]] = {}
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        roots: list[ReadableSpan] = []
        with self._lock:
            for span in spans:
                if span.context is None:
                    continue
                bucket = self._pending.setdefault(span.context.trace_id, [])
                if len(bucket) < _MAX_BUFFERED:
                    bucket.append(span)
                if span.parent is None:
                    roots.append(span)
        for root in roots:
            self._write(root)
        return SpanExportResult.SUCCESS

    def _write(self, root: ReadableSpan) -> None:
        assert root.context is not None
        execution_id = str((root.attributes or {}).get("baton.execution.id") or "")
        with self._lock:
            spans = self._pending.pop(root.context.trace_id, [])
        if not execution_id:
            return
        folder = self.artifacts_root / execution_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        document: dict[str, Any] = {
            "trace_id": f"{root.context.trace_id:032x}",
            "execution_id": execution_id,
            "resource": dict(root.resource.attributes),
            "spans": [],
        }
        if path.is_file():
            with contextlib.suppress(OSError, ValueError):
                document = json.loads(path.read_text(encoding="utf-8"))
        document["spans"].extend(span_record(span) for span in spans)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{FILE_NAME}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(document, separators=(",", ":"), default=str))
        os.replace(tmp, path)

    def shutdown(self) -> None:
        with self._lock:
            self._pending.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span as JSON data: ids in hex, times in ns since the epoch."""
    context = span.context
    assert context is not None
    return {
        "name": span.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "kind": span.kind.name,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        **({"status_message": span.status.description} if span.status.description else {}),
        "attributes": dict(span.attributes or {}),
        "events": [
            {"name": e.name, "time_ns": e.timestamp, "attributes": dict(e.attributes or {})}
            for e in span.events
        ],
    }


def _otlp_http_endpoint(endpoint: str | None) -> str | None:
    if endpoint is None:
        return None
    return endpoint.rstrip("/") + "/v1/traces" if urlsplit(endpoint).path in ("", "/") else endpoint


def span_processor(config: TracingConfig, artifacts_root: Path) -> SpanProcessor:
    """The span processor for the configured exporter."""
    if config.exporter == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr))
    if config.exporter == "file":
        # written by the processor's worker thread, off the engine's event loop
        return BatchSpanProcessor(ExecutionFileExporter(artifacts_root), schedule_delay_millis=FILE_DELAY_MS)
    exporter: SpanExporter
    try:
        if config.exporter == "otlp-http":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(
                endpoint=_otlp_http_endpoint(config.endpoint), headers=dict(config.headers) or None
            )
        else:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )

            endpoint = config.endpoint
            insecure = endpoint.startswith("http://") if endpoint else None
            exporter = GrpcSpanExporter(
                endpoint=endpoint, insecure=insecure, headers=dict(config.headers) or None
            )
    except ImportError:
        raise ExporterUnavailable(
            f"tracing exporter {config.exporter!r} is not installed; {_INSTALL_HINT}"
        ) from None
    return BatchSpanProcessor(exporter)
