"""MCP settings: the servers Baton's agents may use, and what ``baton mcp serve`` exposes.

```yaml
mcp_servers:
  files:  {command: npx, args: [-y, "@modelcontextprotocol/server-filesystem", .], agents: [claude]}
  github: {url: "https://mcp.example.com/mcp", headers: {Authorization: "Bearer ${GH_TOKEN}"}}
mcp_serve:
  tool_modules: [my_project.baton_tools]
```
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class McpServerConfig(BaseModel):
    """One MCP server: a command Baton or an agent starts (stdio), or a URL (streamable HTTP).

    ``agents`` lists the agents that get the server (written into each CLI's own MCP
    configuration); omitted, every agent that can use MCP gets it. An unreachable server
    is retried ``retries`` times with backoff before its tools are reported missing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    agents: list[str] | None = None
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    retries: int = Field(default=2, ge=0, le=10)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"url {value!r} must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (a stdio server) or url (a streamable HTTP server)")
        if self.url is not None and (self.args or self.env or self.cwd):
            raise ValueError("args, env and cwd apply to a command server, not to a url")
        if self.command is not None and self.headers:
            raise ValueError("headers apply to a url server, not to a command")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"

    def serves(self, agent_id: str) -> bool:
        """Whether agent ``agent_id`` gets this server."""
        return self.agents is None or agent_id in self.agents


class McpServeConfig(BaseModel):
    """What ``baton mcp serve`` exposes besides Baton's own tools."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "baton"
    # Python modules whose MCP tools are added: each defines ``register(server)`` or
    # module-level functions listed in ``TOOLS``.
    tool_modules: list[str] = Field(default_factory=list)

    @field_validator("tool_modules")
    @classmethod
    def _module_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _MODULE.match(name):
                raise ValueError(f"{name!r} is not a Python module name like my_project.tools")
        return value
