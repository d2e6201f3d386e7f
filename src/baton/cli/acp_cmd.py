"""``baton acp``: serve Baton as an Agent Client Protocol agent on stdio (for editors)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from baton.cli.app import ConfigOption, resolve_config_path


def acp(
    workflow: str | None = typer.Option(
        None, "--workflow", "-w", help="The workflow a plain-text prompt runs (else prompts need /run WF)."),
    text_param: str = typer.Option(
        "prompt", "--text-param", help="The parameter that receives a plain-text prompt."),
    config: Path | None = ConfigOption,
) -> None:
    """Speak ACP on stdin/stdout: an editor's prompt `/run WF --param value` runs a workflow."""
    from baton.engine import Baton
    from baton.integrations.acp_server import BatonAcpAgent, serve_stdio

    path = resolve_config_path(config)

    def open_baton(cwd: Path) -> Baton:
        return Baton.from_config(path, cwd=cwd)

    asyncio.run(serve_stdio(BatonAcpAgent(open_baton, default_workflow=workflow, text_param=text_param)))


def register(app: typer.Typer) -> None:
    app.command("acp")(acp)
