"""W3C trace context (``traceparent``) across process boundaries.

- Into agent subprocesses: the tracing observer calls :func:`set_agent_traceparent` when a
  step attempt starts (synchronously, in the step's own task), and the adapters put
  :func:`agent_traceparent` into the child's ``TRACEPARENT``, so a traced agent's own spans
  become children of Baton's agent-call span.
- Across the API and workers: :func:`inject` writes a ``traceparent`` header for an
  execution (its ``trace_id``, which the store keeps, so a worker continues the same trace)
  and :func:`extract` reads one from incoming headers (its ``trace_id`` can become the new
  execution's, see ``Baton.submit(trace_id=...)``).

Only the standard library is used here: nothing imports OpenTelemetry unless tracing is on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass

HEADER = "traceparent"
ENV = "TRACEPARENT"
_PATTERN = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

_agent_parent: ContextVar[str | None] = ContextVar("baton_agent_traceparent", default=None)


@dataclass(frozen=True, slots=True)
class TraceParent:
    """A parsed ``traceparent``: trace id, parent span id (hex) and the sampled flag."""

    trace_id: str
    span_id: str
    sampled: bool = True

    def header(self) -> str:
        return format_traceparent(self.trace_id, self.span_id, self.sampled)


def format_traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    """``00-<trace id>-<span id>-<flags>``."""
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The parsed header, or None when it is missing or malformed (the spec says: ignore it)."""
    if not value:
        return None
    match = _PATTERN.match(value.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id, span_id, bool(int(flags, 16) & 1))


def new_span_id() -> str:
    """A random, non-zero 16-hex-digit span id."""
    while (value := os.urandom(8).hex()) == _ZERO_SPAN:
        pass
    return value


def inject(
    headers: MutableMapping[str, str], trace_id: str, span_id: str | None = None, sampled: bool = True
) -> MutableMapping[str, str]:
    """Set ``traceparent`` in ``headers`` for ``trace_id`` (a fresh span id unless given)."""
    headers[HEADER] = format_traceparent(trace_id, span_id or new_span_id(), sampled)
    return headers


def extract(headers: Mapping[str, str]) -> TraceParent | None:
    """The ``traceparent`` of incoming ``headers`` (any capitalisation), or None."""
    for key, value in headers.items():
        if key.lower() == HEADER:
            return parse_traceparent(value)
    return None


def set_agent_traceparent(value: str | None) -> None:
    """Make ``value`` the parent of agent calls made from the current task (tracing does this)."""
    _agent_parent.set(value)


def agent_traceparent(trace_id: str | None) -> str | None:
    """The ``TRACEPARENT`` for an agent call of the execution with ``trace_id``.

    The agent-call span's id when tracing is on; without tracing, the execution's trace id
    with a placeholder parent span, so the agent's own telemetry still joins the trace.
    """
    if not trace_id:
        return None
    current = _agent_parent.get()
    if current is not None and current[3:35] == trace_id:
        return current
    return format_traceparent(trace_id, "0" * 15 + "1")
