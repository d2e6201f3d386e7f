"""The execution engine: ``Baton.run(workflow, params)`` and its event stream.

The names below load on first use, so that importing the engine's events (they live in
``baton.models.events``, below the engine, for the log formatter and the front ends) does not
load the scheduler, the agents and the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baton.engine.core import Baton, ExecutionHandle, ExecutionResult
    from baton.models.events import (
        AgentOutput,
        CacheHit,
        Event,
        ExecutionCompleted,
        ExecutionQueued,
        ExecutionStarted,
        FallbackAgent,
        StepCompleted,
        StepFailed,
        StepRetrying,
        StepSkipped,
        StepStarted,
    )

_CORE = {"Baton", "ExecutionHandle", "ExecutionResult"}

__all__ = [
    "AgentOutput",
    "Baton",
    "CacheHit",
    "Event",
    "ExecutionCompleted",
    "ExecutionHandle",
    "ExecutionQueued",
    "ExecutionResult",
    "ExecutionStarted",
    "FallbackAgent",
    "StepCompleted",
    "StepFailed",
    "StepRetrying",
    "StepSkipped",
    "StepStarted",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'baton.engine' has no attribute {name!r}")
    module = importlib.import_module("baton.engine.core" if name in _CORE else "baton.models.events")
    return getattr(module, name)
