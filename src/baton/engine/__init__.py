"""The execution engine: ``Baton.run(workflow, params)`` and its event stream."""

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
