"""Structured logs with structlog: JSON or console lines, ids bound, secrets redacted.

:func:`configure_logging` sets up structlog *and* the standard library's root logger (so
library messages share the format). Every line carries the ``execution_id``, ``step_id``
and ``trace_id`` of the execution it was written in: :class:`LogObserver` binds them as
context variables when an execution or a step attempt starts, in the engine task that
runs it, so whatever logs inside that task — Baton or a library — is tagged. Each line
passes through the process-wide :mod:`~baton.observability.redact` redactor.

The level and format come from ``observability.log_level``/``log_format`` (a service), or
``BATON_LOG_LEVEL``/``BATON_LOG_FORMAT``, which win over both.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import IO, TYPE_CHECKING, Any

import structlog
from structlog.contextvars import bind_contextvars, unbind_contextvars
from structlog.typing import EventDict, WrappedLogger

from baton.models import events as ev
from baton.models.enums import LogLevel
from baton.observability.logsetup import CHATTY, HANDLER_NAME, level_number
from baton.observability.redact import redactor

if TYPE_CHECKING:
    from baton.models.configuration import ObservabilityConfig

_EVENT_LEVEL = {
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.INFO: logging.INFO,
    LogLevel.WARNING: logging.WARNING,
    LogLevel.ERROR: logging.ERROR,
}
# Engine events become log lines only once a front end configured logging and asked for them.
_state: dict[str, Any] = {"events": False}


class _StderrLogger:
    """Writes each line to the stream current at write time (Rich's live view swaps stderr)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        out = self._stream or sys.stderr
        out.write(message + "\n")
        out.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _redact(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    scrub = redactor()
    if not scrub:
        return event_dict
    return {key: scrub.redact(value) for key, value in event_dict.items()}


def _renderer(fmt: str) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer(default=str)
    return structlog.dev.ConsoleRenderer(colors=False)


def configure_logging(
    level: str | None = None, fmt: str | None = None, *, stream: IO[str] | None = None, events: bool = True
) -> None:
    """Configure structlog and the root logger; ``events=False`` keeps engine events out of
    the log (the CLI shows them itself) while ids are still bound for everything else."""
    fmt = (os.environ.get("BATON_LOG_FORMAT") or fmt or "console").lower()
    numeric = level_number(level)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    tail: list[Any] = [structlog.processors.format_exc_info, _redact]
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(), *tail, _renderer(fmt)],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=lambda *_args: _StderrLogger(stream),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, _renderer(fmt)],
    )
    handler = logging.StreamHandler(stream) if stream is not None else _LateStderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    _state["events"] = events or bool(os.environ.get("BATON_LOG_LEVEL"))


def configure_from(config: ObservabilityConfig, *, events: bool = True) -> None:
    """:func:`configure_logging` with the configuration's level and format."""
    configure_logging(config.log_level, config.log_format, events=events)


class _LateStderrHandler(logging.StreamHandler[IO[str]]):
    """A StreamHandler that looks up ``sys.stderr`` for every record."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


class LogObserver:
    """Binds execution, step and trace ids for the engine task running them, and logs events."""

    def __init__(self) -> None:
        self._log = structlog.get_logger("baton.events")

    def __call__(self, event: ev.Event) -> None:
        try:
            self._bind(event)
            if _state["events"]:
                self._emit(event)
        except Exception:  # an observer must never break an execution
            logging.getLogger(__name__).exception("logging: could not record %s", event.kind)

    @staticmethod
    def _bind(event: ev.Event) -> None:
        if isinstance(event, ev.ExecutionStarted):
            bind_contextvars(
                execution_id=event.execution_id,
                workflow_id=event.workflow_id,
                **({"trace_id": event.trace_id} if event.trace_id else {}),
            )
        elif isinstance(event, ev.StepStarted):
            bind_contextvars(step_id=event.step, attempt=event.attempt)
        elif isinstance(event, ev.StepCompleted | ev.StepFailed):
            unbind_contextvars("attempt")

    def _emit(self, event: ev.Event) -> None:
        level = _EVENT_LEVEL.get(event.level, logging.INFO)
        if isinstance(event, ev.ExecutionCompleted) and event.status != "completed":
            level = logging.ERROR if event.status == "failed" else logging.WARNING
        fields: MutableMapping[str, Any] = {"kind": event.kind, "execution_id": event.execution_id}
        if event.step_id:
            fields["step_id"] = event.step_id
        for name in ("agent_id", "attempt", "error_type", "duration_seconds", "cost_usd", "status"):
            value = getattr(event, name, None)
            if value is not None:
                fields[name] = value
        self._log.log(level, event.message(), **fields)
