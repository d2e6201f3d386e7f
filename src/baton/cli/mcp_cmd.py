"""``baton mcp serve`` (Baton as an MCP server) and ``baton mcp tools`` (what servers offer)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from baton.cli.app import (
    ConfigOption,
    JsonOption,
    console,
    fail,
    handle_errors,
    print_json,
    resolve_config_path,
)

mcp_app = typer.Typer(
    help="Model Context Protocol: serve Baton as tools, inspect MCP servers.", no_args_is_help=True
)


def serve(
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP instead of stdio."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (with --http)."),
    port: int = typer.Option(8765, "--port", "-p", help="Port to listen on (with --http)."),
    config: Path | None = ConfigOption,
) -> None:
    """Serve Baton's workflows as MCP tools (stdio by default; nothing else is written to stdout)."""
    from baton.engine import Baton
    from baton.extras import require

    require("mcp", "mcp")
    from baton.integrations.mcp.server import build_server

    if not 1 <= port <= 65535:
        raise fail(f"--port {port}: expected 1..65535")
    baton = Baton.from_config(resolve_config_path(config), cwd=Path.cwd())
    server = build_server(baton)
    try:
        if http:
            asyncio.run(server.run_streamable_http_async(host=host, port=port))
        else:
            asyncio.run(server.run_stdio_async())
    except KeyboardInterrupt:
        pass
    finally:
        baton.close()


def tools(
    json_output: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Connect to every server in mcp_servers and list its tools (and how long that took)."""
    from baton.config import load_configuration
    from baton.integrations.mcp.client import McpClient

    loaded = load_configuration(resolve_config_path(config), cwd=Path.cwd())
    servers = loaded.configuration.mcp_servers
    if not servers:
        raise fail("no mcp_servers in the configuration", code=1)
    found = asyncio.run(McpClient().discover(servers))
    if json_output:
        print_json(
            {
                name: {
                    "ok": d.ok,
                    "tools": d.tools,
                    "error": d.error,
                    "attempts": d.attempts,
                    "seconds": round(d.seconds, 3),
                }
                for name, d in found.items()
            }
        )
        if not all(d.ok for d in found.values()):
            raise typer.Exit(1)
        return
    out = Table(title="MCP servers", title_justify="left")
    for column in ("server", "transport", "agents", "status", "tools", "ms"):
        out.add_column(column)
    for name, discovery in found.items():
        server = servers[name]
        status = "[green]ok[/]" if discovery.ok else f"[red]{discovery.error}[/]"
        out.add_row(
            name,
            server.transport,
            ", ".join(server.agents or ["all"]),
            status,
            ", ".join(discovery.tools or []),
            f"{discovery.seconds * 1000:.0f}",
        )
    console.print(out)
    if not all(d.ok for d in found.values()):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``baton mcp`` group to ``app``."""
    mcp_app.command("serve")(handle_errors(serve))
    mcp_app.command("tools")(handle_errors(tools))
    app.add_typer(mcp_app, name="mcp")
