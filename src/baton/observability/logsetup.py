"""Logging levels, and logging set up on the first record: a command that logs nothing (``baton
status``) never imports structlog, and one that does gets Baton's handler (format, redaction)."""

from __future__ import annotations

import logging
import os

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
# Libraries that log every request at INFO: quiet unless Baton runs at debug.
CHATTY = ("httpx", "httpcore", "mcp", "uvicorn.access", "asyncio")
# The root logger's one Baton handler (a later configuration replaces it, deferred or not).
HANDLER_NAME = "baton-structlog"


def level_number(level: str | None) -> int:
    """The level ``BATON_LOG_LEVEL`` (else ``level``, else info) names."""
    return LEVELS.get((os.environ.get("BATON_LOG_LEVEL") or level or "info").lower(), logging.INFO)


class DeferredSetup(logging.Handler):
    """Stands in for Baton's log handler until a record arrives, then installs it
    (:func:`baton.observability.logging.configure_logging`) and hands the record to it."""

    def __init__(self, level: str, events: bool) -> None:
        super().__init__()
        self.set_name(HANDLER_NAME)
        self.wanted = level
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        from baton.observability.logging import configure_logging

        root = logging.getLogger()
        root.removeHandler(self)
        configure_logging(self.wanted, events=self.events)
        for handler in root.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


def configure_on_first_record(level: str, *, events: bool = False) -> None:
    """Like ``configure_logging(level, events=events)`` for commands that never log through
    structlog themselves: the root level is set now, the handler on the first record."""
    numeric = level_number(level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(DeferredSetup(level, events))
    root.setLevel(numeric)
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
