"""The execution engine: ``Baton.run(workflow, params)`` and its event stream.

The names below load on first use, so that importing the engine's events (they live in
``baton.models.events``, below the engine, for the log formatter and the front ends) does not
load the scheduler, the agents and the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baton.lazy import lazy_names

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

_CORE = ("Baton", "ExecutionHandle", "ExecutionResult")

__getattr__ = lazy_names(__name__, {
    name: "baton.engine.core" if name in _CORE else "baton.models.events" for name in __all__})
