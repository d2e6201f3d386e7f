"""Before a workflow runs: are the MCP tools its steps require really there?

A step's ``required_tools`` entry is ``server:tool`` (that server must offer it) or
``tool`` (one of the MCP servers its agent gets must). Baton connects to just the servers
those steps need (concurrently, see :mod:`.client`) and fails fast with
:class:`~.errors.McpToolsMissing` naming each missing tool and why.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping

from baton.extras import require
from baton.integrations.mcp.client import Discovery, McpClient, default_client
from baton.integrations.mcp.errors import McpToolsMissing
from baton.models import Configuration, Workflow
from baton.models.mcp import McpServerConfig


def required_servers(workflow: Workflow, configuration: Configuration) -> dict[str, McpServerConfig]:
    """The servers that must be contacted to check the workflow's required tools."""
    needed: dict[str, McpServerConfig] = {}
    for step in workflow.steps:
        for tool in step.required_tools:
            server, sep, _ = tool.partition(":")
            if sep:
                if server in configuration.mcp_servers:
                    needed[server] = configuration.mcp_servers[server]
            else:
                needed.update(configuration.mcp_servers_for(step.agent_id))
    return needed


def missing_tools(
    workflow: Workflow, configuration: Configuration, found: Mapping[str, Discovery]
) -> dict[str, list[str]]:
    """Step id -> descriptions of its required tools that are not available."""
    missing: dict[str, list[str]] = {}
    for step in workflow.steps:
        for tool in step.required_tools:
            if problem := _problem(step.agent_id, tool, configuration, found):
                missing.setdefault(step.id, []).append(problem)
    return missing


def _problem(
    agent_id: str, tool: str, configuration: Configuration, found: Mapping[str, Discovery]
) -> str | None:
    if static := configuration.required_tool_problem(agent_id, tool):
        return static
    server, sep, name = tool.partition(":")
    if sep:
        found_there = found.get(server)
        if found_there is None or found_there.tools is None:
            why = found_there.error if found_there else "not contacted"
            return f"{tool} (server {server} unavailable: {why})"
        if name not in found_there.tools:
            offered = ", ".join(sorted(found_there.tools)) or "no tools"
            return f"{tool} (server {server} offers: {offered})"
        return None
    servers = configuration.mcp_servers_for(agent_id)
    if any((d := found.get(s)) is not None and d.tools is not None and tool in d.tools for s in servers):
        return None
    down = [f"{s}: {found[s].error}" for s in servers if s in found and found[s].tools is None]
    note = f"; unavailable: {'; '.join(down)}" if down else ""
    return f"{tool} (no MCP server of agent {agent_id} offers it{note})"


async def check_required_tools(
    workflow: Workflow, configuration: Configuration, client: McpClient | None = None
) -> dict[str, Discovery]:
    """Discover the needed servers; raise McpToolsMissing when a required tool is missing."""
    servers = required_servers(workflow, configuration)
    found = await (client or default_client()).discover(servers) if servers else {}
    missing = missing_tools(workflow, configuration, found)
    if missing:
        parts = [f"step {step} needs {', '.join(tools)}" for step, tools in missing.items()]
        raise McpToolsMissing(
            f"workflow {workflow.id}: required MCP tools are missing: {'; '.join(parts)}; check "
            "mcp_servers in baton.yaml (`baton mcp tools` lists what each server offers)",
            missing,
        )
    return found


def require_tools(
    workflow: Workflow, configuration: Configuration, client: McpClient | None = None
) -> dict[str, Discovery]:
    """:func:`check_required_tools` from synchronous code (inside a running loop too)."""
    require("mcp", "mcp")
    coro = check_required_tools(workflow, configuration, client)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="baton-mcp") as pool:
        return pool.submit(asyncio.run, coro).result()
