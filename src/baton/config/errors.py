"""Errors raised while loading ``baton.yaml`` and its companion files.

Every error is one line that says where the problem is and what is wrong, e.g.
``baton.yaml:14:7 workflows.review.steps[2].timeout_seconds: must be between 10 and 3600``.
All of them are invalid input, so the CLI exits with code 2.

Exception tree::

    BatonError                      (baton.errors)
    └── ConfigError                 file:line:col field: message        exit code 2
        ├── ConfigNotFound          no baton.yaml here or in a parent, or --config names no file
        ├── ConfigFileError         a file Baton refuses to read: too large, not a mapping,
        │                           YAML syntax, duplicate keys, alias bombs
        ├── InterpolationError      ${VAR} unset without a default, malformed ${...}
        ├── IncludeError            @prompts/ file missing, unreadable or outside .baton/prompts
        ├── ConfigValidationError   a value the models reject (type, range, reference, cycle...)
        ├── WorkflowNotFound        LoadedConfig.workflow(id) with an unknown id
        └── AgentNotFound           LoadedConfig.agent(id) with an unknown id
"""

from __future__ import annotations

from baton.errors import BatonError


class ConfigError(BatonError):
    """A configuration problem, located as precisely as the loader can.

    ``file`` is the source as shown to the user (a path, or ``env BATON_X`` for an
    environment variable); ``line`` and ``column`` are 1-based; ``field_path`` is the dotted
    path of the offending value (``workflows.review.steps[2].timeout_seconds``).
    """

    cli_exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field_path: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.field_path = field_path
        super().__init__(self._render())

    @property
    def location(self) -> str | None:
        """``file:line:col``, ``file``, or None when the error has no source."""
        if self.file is None:
            return None
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def _render(self) -> str:
        body = f"{self.field_path}: {self.message}" if self.field_path else self.message
        body = " ".join(body.split())  # one line, whatever the message contained
        where = self.location
        if where is None:
            return body
        if self.line is None:
            return f"{where}: {body}"
        return f"{where} {body}"

    def __str__(self) -> str:
        return self._render()


class ConfigNotFound(ConfigError):
    """No configuration file where one was required."""


class ConfigFileError(ConfigError):
    """A file that cannot be read as configuration (size, syntax, shape, duplicates, aliases)."""


class InterpolationError(ConfigError):
    """A ``${...}`` reference that cannot be resolved."""


class IncludeError(ConfigError):
    """An ``@prompts/`` include that cannot be read or escapes ``.baton/prompts``."""


class ConfigValidationError(ConfigError):
    """A value rejected by the configuration models."""


class WorkflowNotFound(ConfigError):
    """A workflow id that the configuration does not define."""

    def __init__(self, workflow_id: str, known: list[str]) -> None:
        self.workflow_id = workflow_id
        self.known = known
        super().__init__(f"unknown workflow {workflow_id!r} (defined: {', '.join(known) or 'none'})")


class AgentNotFound(ConfigError):
    """An agent id that the configuration does not define."""

    def __init__(self, agent_id: str, known: list[str]) -> None:
        self.agent_id = agent_id
        self.known = known
        super().__init__(f"unknown agent {agent_id!r} (defined: {', '.join(known) or 'none'})")
