"""A minimal stdio MCP server without any SDK (JSON-RPC lines), for benchmarks/mcp_discovery.py.

It answers ``initialize``, ``tools/list`` and ``ping``, and rejects ``server/discover`` so
clients fall back to the initialize handshake, like most servers in the wild today. It
starts in tens of milliseconds, so discovery time is Baton's client plus the protocol.
"""

from __future__ import annotations

import json
import sys

TOOLS = [
    {"name": name, "description": f"{name} tool", "inputSchema": {"type": "object", "properties": {}}}
    for name in ("search", "fetch", "summarize")
]


def answer(request: dict[str, object]) -> dict[str, object] | None:
    method = request.get("method")
    if "id" not in request:
        return None  # a notification
    if method == "initialize":
        params = request.get("params") or {}
        version = params.get("protocolVersion", "2025-06-18") if isinstance(params, dict) else "2025-06-18"
        result: object = {
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "raw", "version": "1"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "ping":
        result = {}
    else:
        return {
            "jsonrpc": "2.0",
            "id": request["id"],
            "error": {"code": -32601, "message": "method not found"},
        }
    return {"jsonrpc": "2.0", "id": request["id"], "result": result}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = answer(json.loads(line))
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
