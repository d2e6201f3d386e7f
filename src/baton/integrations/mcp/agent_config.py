"""Each CLI agent's own MCP configuration, written from ``mcp_servers``.

Every coding-CLI adapter already honours ``config.mcp_config`` (a JSON file whose
``mcpServers`` it hands to its CLI: claude ``--mcp-config``, codex ``-c mcp_servers.NAME``,
copilot ``--additional-mcp-config``, gemini settings ``mcpServers``). Baton writes one such
file per agent, in that CLI's dialect, under ``.baton/mcp/<agent>.json`` (mode 0600:
headers and env may hold credentials), and points the agent's ``mcp_config`` at it. A
file the user configured in ``mcp_config`` is merged in; its entries win on a name clash.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from baton.agents.cli_base import write_private
from baton.agents.factory import ADAPTERS
from baton.models import Agent, Configuration
from baton.models.mcp import McpServerConfig
from baton.observability.redact import credential_values, register_secret

Flavor = Literal["claude", "codex", "copilot", "gemini"]
_FLAVORS: dict[str, Flavor] = {
    "baton.agents.claude": "claude",
    "baton.agents.codex": "codex",
    "baton.agents.copilot": "copilot",
    "baton.agents.gemini": "gemini",
    "baton.agents.acp": "claude",  # AcpAgent turns these entries into ACP McpServer objects
}
CONFIG_DIR = Path(".baton") / "mcp"


def cli_flavor(agent: Agent) -> Flavor | None:
    """Which coding CLI runs ``agent`` (None: the agent cannot use MCP servers)."""
    target = ADAPTERS.get((agent.provider, agent.interface))
    return _FLAVORS.get(target.partition(":")[0]) if target else None


def server_entry(flavor: Flavor, server: McpServerConfig) -> dict[str, Any]:
    """``server`` as an entry of that CLI's ``mcpServers``."""
    if server.command is not None:
        entry: dict[str, Any] = {"command": server.command, "args": list(server.args)}
        if server.env:
            entry["env"] = dict(server.env)
        if server.cwd and flavor in ("gemini", "codex"):
            entry["cwd"] = server.cwd
        if flavor == "claude":
            entry = {"type": "stdio", **entry}
        elif flavor == "copilot":
            entry = {"type": "local", **entry, "tools": ["*"]}
        return entry
    assert server.url is not None
    headers = dict(server.headers)
    if flavor == "codex":
        return {"url": server.url, **({"http_headers": headers} if headers else {})}
    if flavor == "gemini":
        return {"httpUrl": server.url, **({"headers": headers} if headers else {})}
    entry = {"type": "http", "url": server.url, **({"headers": headers} if headers else {})}
    if flavor == "copilot":
        entry["tools"] = ["*"]
    return entry


def config_document(
    flavor: Flavor, servers: Mapping[str, McpServerConfig], user_file: Path | None = None
) -> dict[str, Any]:
    """The ``{"mcpServers": {...}}`` document for one agent."""
    entries = {name: server_entry(flavor, server) for name, server in servers.items()}
    if user_file is not None:
        data = json.loads(user_file.read_text(encoding="utf-8"))
        entries.update(data.get("mcpServers") or data)
    return {"mcpServers": entries}


def attach_mcp_configs(
    agents: Mapping[str, Agent], configuration: Configuration, root: Path
) -> dict[str, Path]:
    """Write each MCP-capable agent's config file and set its ``mcp_config``; returns the paths."""
    for server in configuration.mcp_servers.values():
        for value in (*credential_values(server.env), *credential_values(server.headers)):
            register_secret(value)
            scheme, _, credential = value.partition(" ")
            if credential and scheme.lower() in ("bearer", "basic", "token"):
                register_secret(credential)
    written: dict[str, Path] = {}
    for agent_id, agent in agents.items():
        flavor = cli_flavor(agent)
        servers = configuration.mcp_servers_for(agent_id)
        if flavor is None or not servers:
            continue
        path = root / CONFIG_DIR / f"{agent_id}.json"
        user = agent.config.get("mcp_config")
        user_file = Path(str(user)) if user and Path(str(user)).resolve() != path.resolve() else None
        if user_file is not None and not user_file.is_absolute():
            user_file = root / user_file
        try:
            write_private(path, json.dumps(config_document(flavor, servers, user_file), indent=2))
        except (OSError, ValueError) as exc:
            logging.getLogger(__name__).warning(
                "agent %s gets no MCP servers: cannot write %s (%s)", agent_id, path, exc
            )
            continue
        agent.config = {**agent.config, "mcp_config": str(path)}
        written[agent_id] = path
    return written
