"""Errors of the MCP integration.

Exception tree::

    BatonError
    └── McpError
        ├── McpToolsMissing        a step's required tools are not offered (exit 2)
        └── McpServeError          ``baton mcp serve`` cannot start (bad tool module) (exit 2)
"""

from __future__ import annotations

from baton.errors import BatonError


class McpError(BatonError):
    """Base class of MCP integration errors."""

    cli_exit_code = 2


class McpToolsMissing(McpError):
    """Tools a workflow step requires are not offered by its agent's MCP servers."""

    def __init__(self, message: str, missing: dict[str, list[str]]) -> None:
        self.missing = missing
        super().__init__(message)


class McpServeError(McpError):
    """The MCP server cannot be built (a configured tool module is broken)."""
