"""The ``baton`` command: a thin Typer front end over the engine and the store."""

from __future__ import annotations

import importlib

import typer

from baton import __version__
from baton.cli.app import console

app = typer.Typer(
    name="baton",
    help="Orchestrate AI coding agents as durable multi-agent workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

# Each module registers its commands on `app` when imported; one module per command group.
_COMMAND_MODULES = (
    "baton.cli.config_cmd",
    "baton.cli.run_cmd",
    "baton.cli.inspect_cmd",
    "baton.cli.workflows_cmd",
    "baton.cli.agents_cmd",
    "baton.cli.secrets_cmd",
    "baton.cli.graph_cmd",
    "baton.cli.tokens_cmd",
    "baton.cli.service_cmd",
    "baton.cli.usage_cmd",
    "baton.cli.gc_cmd",
    "baton.cli.mcp_cmd",
    "baton.cli.acp_cmd",
    "baton.cli.github_cmd",
    "baton.cli.ui_cmd",
    "baton.cli.doctor_cmd",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"baton {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Orchestrate AI coding agents as durable multi-agent workflows."""
    from baton.observability.logging import configure_logging

    # The CLI shows progress itself: only warnings are logged unless BATON_LOG_LEVEL says more.
    configure_logging(level="warning", events=False)


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)


_register()


def main() -> None:
    app()
