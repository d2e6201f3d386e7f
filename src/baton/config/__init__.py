"""Load ``baton.yaml``: layers, ``${VAR}`` interpolation, ``.env``, includes, validation.

The entry point is :func:`load_configuration`; every problem it finds is a
:class:`ConfigError` whose message is one line starting with ``file:line:col``.

The names below load on first use, so that importing one submodule (``baton.config.masking``
for the redactor, say) does not load the loader and the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baton.lazy import lazy_names

if TYPE_CHECKING:
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

_WHERE: dict[str, str] = {
    "AgentNotFound": "baton.config.errors",
    "CONFIG_FILENAME": "baton.config.loader",
    "ConfigError": "baton.config.errors",
    "ConfigFileError": "baton.config.errors",
    "ConfigNotFound": "baton.config.errors",
    "ConfigValidationError": "baton.config.errors",
    "IncludeError": "baton.config.errors",
    "InterpolationError": "baton.config.errors",
    "Interpolator": "baton.config.interpolate",
    "LoadedConfig": "baton.config.loader",
    "Resolver": "baton.config.interpolate",
    "USER_CONFIG_ENV": "baton.config.loader",
    "WorkflowNotFound": "baton.config.errors",
    "find_config": "baton.config.loader",
    "load_configuration": "baton.config.loader",
    "mask_secrets": "baton.config.masking",
    "parse_assignments": "baton.config.layers",
}

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


__getattr__ = lazy_names(__name__, _WHERE)
