"""Errors of LangGraph workflows.

Exception tree::

    BatonError
    └── EngineError
        └── GraphError
            ├── GraphBuildError       a Python graph cannot be imported or built      (exit 2)
            ├── NotWaiting            `baton approve` on an execution with no waiting step (exit 2)
            ├── LoopLimitExceeded     a step hit max_iterations, or the workflow max_steps
            │                         (the step fails and the execution stops)
            └── ApprovalRejected      a human rejected the step (the step fails)

    CheckpointError (baton.engine.graph_checkpoint) is an EngineError too.
"""

from __future__ import annotations

from baton.engine.errors import EngineError


class GraphError(EngineError):
    """Base class of LangGraph workflow errors."""


class GraphBuildError(GraphError):
    """The workflow's Python graph factory is missing or returned something unusable."""

    cli_exit_code = 2


class NotWaiting(GraphError):
    """No step of the execution waits for the approval being given."""

    cli_exit_code = 2


class LoopLimitExceeded(GraphError):
    """A loop ran into a step's ``max_iterations`` or the workflow's ``max_steps``."""


class ApprovalRejected(GraphError):
    """A human rejected a step that waited for approval."""


__all__ = ["ApprovalRejected", "GraphBuildError", "GraphError", "LoopLimitExceeded", "NotWaiting"]
