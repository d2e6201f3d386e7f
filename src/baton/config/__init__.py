"""Load ``baton.yaml``: layers, ``${VAR}`` interpolation, ``.env``, includes, validation.

The entry point is :func:`load_configuration`; every problem it finds is a
:class:`ConfigError` whose message is one line starting with ``file:line:col``.
"""

from baton.config.errors import (
    AgentNotFound,
    ConfigError,
    ConfigFileError,
    ConfigNotFound,
    ConfigValidationError,
    IncludeError,
    InterpolationError,
    WorkflowNotFound,
)
from baton.config.interpolate import Interpolator, Resolver
from baton.config.layers import parse_assignments
from baton.config.loader import (
    CONFIG_FILENAME,
    USER_CONFIG_ENV,
    LoadedConfig,
    find_config,
    load_configuration,
)
from baton.config.masking import mask_secrets

__all__ = [
    "CONFIG_FILENAME",
    "USER_CONFIG_ENV",
    "AgentNotFound",
    "ConfigError",
    "ConfigFileError",
    "ConfigNotFound",
    "ConfigValidationError",
    "IncludeError",
    "InterpolationError",
    "Interpolator",
    "LoadedConfig",
    "Resolver",
    "WorkflowNotFound",
    "find_config",
    "load_configuration",
    "mask_secrets",
    "parse_assignments",
]
