"""``baton tokens create|list|revoke``: API tokens for ``baton serve`` (only hashes are stored)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from baton.cli.app import ConfigOption, JsonOption, console, err_console, handle_errors, print_json
from baton.cli.run_cmd import _open
from baton.engine import Baton

if TYPE_CHECKING:
    from baton.api.tokens import TokenStore

tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)

ROLE_HELP = "viewer (reads), operator (runs, cancels, approves) or admin (agents, configuration)."


def _tokens(config: Path | None) -> tuple[Baton, TokenStore]:
    from baton.store.sql import SqlStore

    baton = _open(config)
    store = baton.store
    from baton.api.tokens import TokenStore

    if not isinstance(store, SqlStore):  # pragma: no cover - every store is a SqlStore today
        raise typer.Exit(2)
    return baton, TokenStore(store.engine)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@tokens_app.command("create")
@handle_errors
def create(
    role: str = typer.Option(..., "--role", "-r", help=ROLE_HELP),
    name: str | None = typer.Option(
        None, "--name", "-n", help="A name for audit rows (default: ROLE-token)."
    ),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Issue a token; it is printed once and only its SHA-256 is stored."""
    from baton.api.tokens import ROLES

    if role not in ROLES:
        from baton.cli.app import fail

        raise fail(f"--role {role!r}: choose one of {', '.join(ROLES)}")
    baton, tokens = _tokens(config)
    try:
        issued, plain = tokens.create(name or f"{role}-token", role, created_by=_user())
    finally:
        baton.close()
    if as_json:
        print_json({"id": issued.id, "name": issued.name, "role": issued.role, "token": plain})
        return
    err_console.print(
        f"token {issued.id} ({issued.name}, {issued.role}); shown once, keep it secret:", highlight=False
    )
    console.print(plain, highlight=False, soft_wrap=True)


@tokens_app.command("list")
@handle_errors
def list_(
    all_: bool = typer.Option(False, "--all", help="Include revoked tokens."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """List issued tokens (never their secrets)."""
    baton, tokens = _tokens(config)
    try:
        rows = tokens.all(include_revoked=all_)
        configured = baton.configuration.api.tokens
    finally:
        baton.close()
    if as_json:
        print_json(
            [
                {
                    "id": t.id,
                    "name": t.name,
                    "role": t.role,
                    "created_at": t.created_at.isoformat(),
                    "created_by": t.created_by,
                    "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                }
                for t in rows
            ]
            + [
                {"id": f"config:{t.name}", "name": t.name, "role": t.role, "source": "baton.yaml"}
                for t in configured
            ]
        )
        return
    table = Table("id", "name", "role", "created", "by", "revoked")
    for t in rows:
        table.add_row(
            t.id,
            t.name,
            t.role,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            t.created_by,
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    for c in configured:
        table.add_row(f"config:{c.name}", c.name, c.role, "(baton.yaml)", "", "")
    console.print(table)


@tokens_app.command("revoke")
@handle_errors
def revoke(
    token: str = typer.Argument(..., help="Token id, or a name (revokes every token of that name)."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Revoke issued tokens (a running server stops accepting them within 5 seconds)."""
    baton, tokens = _tokens(config)
    try:
        ids = tokens.revoke(token)
    finally:
        baton.close()
    if as_json:
        print_json({"revoked": ids})
    else:
        console.print(f"revoked {', '.join(ids)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
