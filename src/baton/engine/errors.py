"""Errors raised by the engine.

Exception tree::

    BatonError
    └── EngineError
        ├── WorkflowNotFound        no workflow with that id in the configuration   (exit 2)
        ├── AgentNotFound           a step names an agent the configuration lacks  (exit 2)
        ├── ExecutionNotFound       no execution with that id in the store          (exit 2)
        ├── AmbiguousExecutionId    an id prefix that matches several executions     (exit 2)
        ├── ConfigNotApplied        require_applied_config and an unapplied edit      (exit 2)
        ├── ExecutionNotResumable   the execution already completed                 (exit 2)
    ModelError.IllegalTransition
        └── AlreadyFinished         cancelling an execution that already ended      (exit 2)
        ├── WorkspaceError          workspace_dir missing, not absolute, not writable (exit 2)
        └── TemplateRenderError     a prompt or condition failed to render (step fails, not retried)
"""

from __future__ import annotations

from baton.errors import BatonError
from baton.models.errors import IllegalTransition


class EngineError(BatonError):
    """Base class of engine errors."""


class WorkflowNotFound(EngineError):
    """The requested workflow id is not defined."""

    cli_exit_code = 2

    def __init__(self, workflow_id: str, known: list[str]) -> None:
        self.workflow_id = workflow_id
        options = ", ".join(sorted(known)) or "none defined"
        super().__init__(f"unknown workflow {workflow_id!r} (available: {options})")


class AgentNotFound(EngineError):
    """A step refers to an agent that is not configured."""

    cli_exit_code = 2


class ExecutionNotFound(EngineError):
    """No execution with this id exists in the store."""

    cli_exit_code = 2

    def __init__(self, execution_id: str, message: str | None = None) -> None:
        self.execution_id = execution_id
        super().__init__(message or f"no execution {execution_id!r} (see `baton history`)")


class AmbiguousExecutionId(EngineError):
    """An execution id prefix matches more than one execution."""

    cli_exit_code = 2

    def __init__(self, prefix: str, matches: list[str]) -> None:
        self.prefix = prefix
        self.matches = matches
        super().__init__(
            f"execution id {prefix!r} is ambiguous: it matches {', '.join(matches[:2])}"
            f"{' and more' if len(matches) > 2 else ''}; type more characters"
        )


class AlreadyFinished(IllegalTransition):
    """Cancelling an execution that already ended (completed, failed or cancelled)."""

    cli_exit_code = 2

    def __init__(self, execution_id: str, status: str) -> None:
        super().__init__("execution", status, "cancelled", [])
        self.args = (f"execution {execution_id} already {status}; nothing to cancel",)

    def __str__(self) -> str:
        return str(self.args[0])


class ConfigNotApplied(EngineError):
    """``global.require_applied_config`` is on and the configuration was edited since it was
    last applied."""

    cli_exit_code = 2

    def __init__(self, content_hash: str | None) -> None:
        self.content_hash = content_hash
        what = f"its content {content_hash[:12]}" if content_hash else "it"
        super().__init__(
            f"the configuration was edited since `baton config apply` ({what} is not an applied "
            "version) and global.require_applied_config is on: run `baton config apply` "
            "(see `baton config diff`) or undo the edit"
        )


class ExecutionNotResumable(EngineError):
    """The execution cannot be resumed (it already completed)."""

    cli_exit_code = 2


class WorkspaceError(EngineError):
    """The workspace directory is unusable."""

    cli_exit_code = 2


class TemplateRenderError(EngineError):
    """A prompt template or condition could not be rendered for a step.

    ``step_id`` and ``field`` (the path below the step: ``("prompt_template",)``,
    ``("next", 0, "when")``) say which template it was, so the failure can be located in the
    workflow's file; ``located`` is true once the message says where.
    """

    def __init__(self, message: str, *, step_id: str | None = None,
                 field: tuple[str | int, ...] | None = None) -> None:
        super().__init__(message)
        self.step_id = step_id
        self.field = field
        self.located = False
