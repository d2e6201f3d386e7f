"""The root of Baton's exception tree.

Exception tree (each subtree is drawn in its own module)::

    BatonError
    ├── baton.models.errors.ModelError        IllegalTransition, ParameterError
    ├── baton.config.errors.ConfigError       file:line:col field: message
    ├── baton.store.errors.StoreError         NotFound, ConfigVersionImmutable, ...
    ├── baton.agents.base.AgentError          AgentUnavailable, AgentTimeout, RateLimited,
    │                                         AgentFailed, InvalidOutput, BudgetExceeded
    └── baton.engine.errors.EngineError       WorkflowNotFound, ExecutionNotFound, ...
"""

from __future__ import annotations


class BatonError(Exception):
    """Base class of every error Baton raises on purpose.

    ``cli_exit_code`` is the exit status the CLI uses when this error reaches it (2 for
    invalid input, 1 otherwise).
    """

    cli_exit_code: int = 1
