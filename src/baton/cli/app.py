"""Shared CLI plumbing: the Typer app objects, output helpers and error translation."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from baton.errors import BatonError

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
err_console = Console(stderr=True)

ConfigOption = typer.Option(
    None, "--config", "-c", help="Path to baton.yaml (default: found in . or a parent).",
    dir_okay=False,
)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_CANCELLED = 130


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Translate Baton errors at the CLI boundary: a one-line message and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BatonError as exc:
            raise fail(str(exc), exc.cli_exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", EXIT_CANCELLED) from None

    return wrapper  # type: ignore[return-value]


def resolve_config_path(config: Path | None) -> Path | None:
    """The explicit --config path, else baton.yaml in the current directory or a parent."""
    if config is not None:
        return config
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / "baton.yaml"
        if candidate.is_file():
            return candidate
    return None


def keep_whole(table: Table, *names: str) -> Table:
    """Never cut the named columns (ids); the others give way first, ending in an ellipsis."""
    from rich.text import Text

    for column in table.columns:
        if str(column.header) in names:
            cells = [c.plain if isinstance(c, Text) else Text.from_markup(str(c)).plain
                     for c in column._cells]
            column.no_wrap = True
            column.overflow = "fold"
            column.min_width = max([len(str(column.header)), *(len(c) for c in cells)])
        else:
            column.no_wrap = True
            column.overflow = "ellipsis"
    return table
