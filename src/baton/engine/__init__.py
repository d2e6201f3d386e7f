"""The execution engine: ``Baton.run(workflow, params)`` and its event stream.

The names below load on first use, so importing a submodule (``baton.engine.events`` for a
log formatter, say) does not load the scheduler, the agents and the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baton.engine.core import Baton, ExecutionHandle, ExecutionResult
    from baton.engine.events import (
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
    module = importlib.import_module("baton.engine.core" if name in _CORE else "baton.engine.events")
    return getattr(module, name)
