"""Shared CLI plumbing: the Typer app objects, output helpers and error translation."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from contextvars import ContextVar
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


# set while a command given --json runs: its errors go to stdout as JSON too, for scripts
_json_errors: ContextVar[bool] = ContextVar("baton_json_errors", default=False)


def fail(message: str, code: int = EXIT_INVALID, kind: str = "InvalidInput") -> typer.Exit:
    """Print a one-line error to stderr (and under --json as JSON on stdout); return the Exit to raise."""
    if _json_errors.get():
        print_json({"error": {"type": kind, "message": message, "exit_code": code}})
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Translate Baton errors at the CLI boundary: a one-line message and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _json_errors.set(bool(kwargs.get("as_json") or kwargs.get("json_output")))
        try:
            return func(*args, **kwargs)
        except BatonError as exc:
            raise fail(str(exc), exc.cli_exit_code, type(exc).__name__) from None
        except KeyboardInterrupt:
            raise fail("interrupted", EXIT_CANCELLED, "Interrupted") from None
        finally:
            _json_errors.reset(token)

    return wrapper  # type: ignore[return-value]


def format_duration(seconds: float) -> str:
    """``1.2s``, ``3m05s`` or ``2h07m``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes}m{sec:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


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


def keep_whole(table: Table, *names: str, width: int | None = None) -> Table:
    """Never cut the named columns (ids); when the table is wider than the terminal the
    widest other columns give way first, ending in an ellipsis."""
    from rich.cells import cell_len
    from rich.text import Text

    natural: list[int] = []
    for column in table.columns:
        cells = [c.plain if isinstance(c, Text) else Text.from_markup(str(c)).plain for c in column._cells]
        lines = [line for c in cells for line in c.splitlines()]
        longest = max([cell_len(str(column.header)), *(cell_len(line) for line in lines)])
        natural.append(longest)
        column.no_wrap = True
        column.overflow = "ellipsis"
    keep = [str(c.header) in names for c in table.columns]
    for column, size, whole in zip(table.columns, natural, keep, strict=True):
        if whole:
            column.min_width = size
    room = (width or console.width) - (3 * len(natural) + 1)  # borders and padding
    widths = list(natural)
    while sum(widths) > room:
        candidates = [i for i, w in enumerate(widths) if not keep[i] and w > 3]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        others = sorted((w for i, w in enumerate(widths) if i in candidates and i != widest), reverse=True)
        floor = max(3, others[0] if others else 3, widths[widest] - (sum(widths) - room))
        widths[widest] = floor if floor < widths[widest] else widths[widest] - 1
    for column, size, whole in zip(table.columns, widths, keep, strict=True):
        if not whole:
            column.max_width = size
    return table
