"""Parts of Baton that a plain ``pip install baton`` leaves out, and how to get each.

The core install runs simple workflows from the CLI and serves the dashboard. A feature that
needs more imports its library through :func:`require`, which names the pip extra to install
when the library is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from baton.errors import BatonError

# extra -> the feature it enables, as the error message names it
EXTRAS: dict[str, str] = {
    "langgraph": "a langgraph workflow (type: langgraph, e.g. issue-to-pr and pr-fix)",
    "mcp": "MCP (baton mcp, and steps that use MCP tools)",
    "metrics": "Prometheus metrics (observability.metrics)",
    "postgres": "a PostgreSQL store",
    "service": "the HTTP service (baton serve, baton worker)",
}


class MissingExtra(BatonError):
    """A feature needs a library the installed extras do not include."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        self.module = module
        super().__init__(
            f"{EXTRAS.get(extra, extra)} needs {module.split('.')[0]}, which is not installed; "
            f"install it with: {install_hint(extra)}"
        )


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install 'baton[{extra}]'"


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``; raise :class:`MissingExtra` naming ``extra`` when its
    distribution is not installed."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.split(".")[0] == exc.name.split(".")[0]:
            raise MissingExtra(extra, module) from None
        raise
