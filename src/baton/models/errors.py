"""Errors raised by the model layer.

Exception tree::

    BatonError                      (baton.errors; root of every Baton error)
    └── ModelError
        ├── IllegalTransition       a status change the state machine forbids
        └── ParameterError          execution parameters that do not match the workflow schema
"""

from __future__ import annotations

from baton.errors import BatonError


class ModelError(BatonError):
    """Base class for errors raised by :mod:`baton.models` (invalid input: CLI exit 2)."""

    cli_exit_code = 2


class IllegalTransition(ModelError):
    """A status change that the entity's state machine does not allow."""

    def __init__(self, entity: str, current: str, target: str, allowed: list[str]) -> None:
        self.entity = entity
        self.current = current
        self.target = target
        self.allowed = allowed
        options = ", ".join(allowed) if allowed else "none (terminal state)"
        super().__init__(
            f"{entity} cannot go from {current!r} to {target!r}; allowed from {current!r}: {options}"
        )


class ParameterError(ModelError):
    """Execution parameters that do not satisfy the workflow's parameter schema."""

    def __init__(self, workflow_id: str, parameter: str, message: str) -> None:
        self.workflow_id = workflow_id
        self.parameter = parameter
        super().__init__(f"workflow {workflow_id!r} parameter {parameter!r}: {message}")
