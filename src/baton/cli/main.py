"""The ``baton`` command: a thin Typer front end over the engine and the store."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from typer._click.exceptions import UsageError  # Typer vendors click
from typer.core import TyperGroup

from baton import __version__

if TYPE_CHECKING:
    from typer._click.core import Command, Context  # Typer vendors click; its types live there

# Which module registers each top-level command. A command's module is imported only when that
# command runs (or when the full help lists every command), so `baton --version` or `baton status`
# does not pay for the engine, the service or the SDKs. tests/test_imports.py keeps this table
# equal to what the modules register.
COMMANDS: dict[str, str] = {
    "init": "baton.cli.config_cmd",
    "config": "baton.cli.config_cmd",
    "run": "baton.cli.run_cmd",
    "_execute": "baton.cli.run_cmd",
    "resume": "baton.cli.run_cmd",
    "status": "baton.cli.read_cmd",
    "logs": "baton.cli.read_cmd",
    "history": "baton.cli.read_cmd",
    "cancel": "baton.cli.run_cmd",
    "diff": "baton.cli.inspect_cmd",
    "show": "baton.cli.inspect_cmd",
    "workflows": "baton.cli.workflows_cmd",
    "agents": "baton.cli.agents_cmd",
    "secrets": "baton.cli.secrets_cmd",
    "approve": "baton.cli.graph_cmd",
    "tokens": "baton.cli.tokens_cmd",
    "serve": "baton.cli.service_cmd",
    "worker": "baton.cli.service_cmd",
    "usage": "baton.cli.usage_cmd",
    "mcp": "baton.cli.mcp_cmd",
    "acp": "baton.cli.acp_cmd",
    "github": "baton.cli.github_cmd",
    "ui": "baton.cli.ui_cmd",
    "doctor": "baton.cli.doctor_cmd",
    "gc": "baton.cli.gc_cmd",
    "export": "baton.cli.data_cmd",
    "import": "baton.cli.data_cmd",
    "db": "baton.cli.data_cmd",
}


def module_commands(module_name: str) -> TyperGroup:
    """The click commands one CLI module registers, as a group (imports the module)."""
    sub = typer.Typer()
    importlib.import_module(module_name).register(sub)
    return typer.main.get_group(sub)


@contextmanager
def _usage_errors_as_json(args: Sequence[str]) -> Iterator[None]:
    """Under --json a usage error (bad option value, unknown option) is also JSON on stdout,
    like Baton's own errors; Click still prints its text on stderr and exits 2."""
    try:
        yield
    except UsageError as exc:
        if "--json" in args and type(exc).__name__ != "NoArgsIsHelpError":
            from baton.cli.app import print_json

            print_json({"error": {"type": "UsageError", "message": exc.format_message(),
                                  "exit_code": exc.exit_code}})
        raise


class LazyCommands(TyperGroup):
    """The root group: lists every command from `COMMANDS`, imports a command's module on use."""

    def make_context(self, info_name: str | None, args: list[str], parent: Context | None = None,
                     **extra: Any) -> Context:
        self._argv = tuple(args)
        with _usage_errors_as_json(self._argv):
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with _usage_errors_as_json(getattr(self, "_argv", ())):
            return super().invoke(ctx)

    def list_commands(self, ctx: Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | {n for n in COMMANDS if not n.startswith("_")})

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        command = module_commands(COMMANDS[cmd_name]).get_command(ctx, cmd_name)
        if command is not None:
            self.add_command(command, cmd_name)
        return command


app = typer.Typer(
    name="baton",
    cls=LazyCommands,
    help="Orchestrate AI coding agents as durable multi-agent workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"baton {__version__}")
        raise typer.Exit(0)


# Commands that never log through structlog themselves: their logging is set up on the first
# record (usually never), so they do not import structlog.
QUIET_COMMANDS = frozenset({"status", "logs", "history"})


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Orchestrate AI coding agents as durable multi-agent workflows."""
    # The CLI shows progress itself: only warnings are logged unless BATON_LOG_LEVEL says more.
    if ctx.invoked_subcommand in QUIET_COMMANDS:
        from baton.observability.logsetup import configure_on_first_record

        configure_on_first_record("warning")
        return
    from baton.observability.logging import configure_logging

    configure_logging(level="warning", events=False)


def main() -> None:
    app()
