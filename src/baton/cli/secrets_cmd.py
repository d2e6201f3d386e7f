"""``baton secrets set|list|remove``: credentials stored encrypted on this machine.

A value is never taken from the command line (it would land in shell history and in
``ps``): ``set`` reads it from a hidden prompt, or from standard input when that is not
a terminal (``printf %s "$KEY" | baton secrets set OPENAI``).
"""

from __future__ import annotations

import sys

import typer

from baton.cli.app import JsonOption, console, fail, handle_errors, print_json
from baton.secrets import default_store, validate_name

secrets_app = typer.Typer(
    name="secrets",
    help="Store credentials encrypted on this machine; reference them as ${secret:NAME}.",
    no_args_is_help=True,
)

NameArgument = typer.Argument(..., help="The secret's name, referenced as ${secret:NAME}.")


def _read_value(name: str) -> str:
    if sys.stdin is not None and not sys.stdin.isatty():
        value = sys.stdin.read()
        # One trailing newline is the line ending of `echo`, not part of the secret.
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
    else:
        value = typer.prompt(f"Value for {name}", hide_input=True, confirmation_prompt=True)
    if not value:
        raise fail(f"no value given for secret {name!r}")
    return value


def set_command(name: str = NameArgument) -> None:
    """Store (or replace) a secret; the value comes from a hidden prompt or standard input."""
    validate_name(name)
    store = default_store()
    store.set(name, _read_value(name))
    console.print(
        f"stored secret [bold]{name}[/] in {store.label}; use it as ${{secret:{name}}}", highlight=False
    )


def list_command(as_json: bool = JsonOption) -> None:
    """List the names of the stored secrets (never their values)."""
    store = default_store()
    names = store.names()
    if as_json:
        print_json({"backend": store.label, "secrets": names})
        return
    console.print(f"[dim]{store.label}[/]", highlight=False)
    if not names:
        console.print("no secrets stored; add one with `baton secrets set NAME`")
        return
    for name in names:
        console.print(name, highlight=False)


def remove_command(name: str = NameArgument) -> None:
    """Delete a stored secret."""
    store = default_store()
    store.remove(name)
    console.print(f"removed secret [bold]{name}[/] from {store.label}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``baton secrets`` group to ``app``."""
    secrets_app.command("set")(handle_errors(set_command))
    secrets_app.command("list")(handle_errors(list_command))
    secrets_app.command("remove")(handle_errors(remove_command))
    app.add_typer(secrets_app, name="secrets")
