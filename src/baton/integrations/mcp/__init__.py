"""MCP in both directions, with the official ``mcp`` SDK.

- Client side: :mod:`.agent_config` writes each CLI agent's own MCP configuration for the
  servers in ``mcp_servers`` (no SDK needed); :mod:`.client` connects to servers and lists
  their tools, with retries and a circuit breaker; :mod:`.preflight` checks a workflow's
  ``required_tools`` before it runs.
- Server side: :mod:`.server` exposes Baton itself as MCP tools (``baton mcp serve``).

Nothing here is imported unless a configuration uses MCP.
"""
