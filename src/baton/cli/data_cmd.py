"""``baton export``, ``baton import`` and ``baton db copy``: history that moves between
stores (SQLite → PostgreSQL and back) with nothing lost."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from baton.cli.app import ConfigOption, JsonOption, console, err_console, fail, handle_errors, print_json
from baton.wording import counted

db_app = typer.Typer(help="Move the store to another database.", no_args_is_help=True)

_SPAN = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` ago, or an ISO date/time."""
    now = now or datetime.now(UTC)
    match = _SPAN.match(value.strip())
    if match:
        return now - timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--since {value!r}: give a span like 7d, 12h, 30m or a date like 2026-12-01") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _all_ids(store: Any, since: datetime | None) -> list[str]:
    ids: list[str] = []
    before: str | None = None
    while True:
        page = store.list_executions(limit=500, before=before)
        for ctx in page:
            if since is not None and ctx.start_time < since:
                return list(reversed(ids))
            ids.append(ctx.id)
        if len(page) < 500:
            return list(reversed(ids))
        before = page[-1].id


def export(
    refs: list[str] = typer.Argument(None, help="Execution ids or unique prefixes.", show_default=False),
    all_: bool = typer.Option(False, "--all", help="Every execution."),
    since: str | None = typer.Option(None, "--since",
                                     help="Executions started in this span (7d, 12h) or since a date."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout.",
                                       dir_okay=False),
    config: Path | None = ConfigOption,
) -> None:
    """Export executions, configuration versions and their audit trail as one JSON file.

    Each execution carries its steps, logs, usage and artefact index; the file is versioned.
    """
    from baton.cli.run_cmd import _open
    from baton.store.bundle import export_bundle
    from baton.store.sql import SqlStore

    if not refs and not all_ and since is None:
        raise fail("which executions? give ids, --all or --since 7d")
    baton = _open(config)
    try:
        store = baton.store
        assert isinstance(store, SqlStore)
        if refs:
            ids = [baton.execution_id(r) for r in refs]
        else:
            ids = _all_ids(store, parse_since(since) if since else None)
        document = export_bundle(store, ids, baton.configuration.global_.artifacts_path(baton.root))
    finally:
        baton.close()
    text = json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        versions = len(document["config_versions"])
        err_console.print(f"exported {counted(len(ids), 'execution')}, "
                          f"{counted(versions, 'configuration version')} to {output}", highlight=False)


def import_(
    path: Path = typer.Argument(..., help="A file written by `baton export` (- for stdin).", allow_dash=True),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Load an export into this store; importing twice changes nothing.

    What is already there is left alone.
    """
    from baton.cli.run_cmd import _open
    from baton.store.bundle import import_bundle
    from baton.store.sql import SqlStore

    try:
        raw = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise fail(f"{path}: cannot read ({reason}); give a file written by `baton export`") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        raise fail(f"{where}: not JSON ({exc.msg}); was it written by `baton export`?") from None
    baton = _open(config)
    try:
        assert isinstance(baton.store, SqlStore)
        report = import_bundle(baton.store, data)
    finally:
        baton.close()
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"imported {counted(report.executions_added, 'execution')} "
                  f"({report.executions_present} already present), "
                  f"{counted(report.config_versions_added, 'configuration version')}, "
                  f"{counted(report.audit_rows_added, 'audit row')}", highlight=False)


@db_app.command("copy")
@handle_errors
def db_copy(
    to: str = typer.Option(..., "--to", help="Target database URL, e.g. postgresql+psycopg://user@host/db."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Copy the whole store (executions, logs, usage, configuration versions, audit, tokens,
    cache, checkpoints) into an empty database and verify every table's row count."""
    import asyncio

    from baton.cli.app import resolve_config_path
    from baton.config import load_configuration
    from baton.extras import require

    require("langgraph", "langgraph")  # the checkpoints are copied through LangGraph's savers
    from baton.engine.graph_checkpoint import checkpoint_url, copy_checkpoints
    from baton.store import open_store
    from baton.store.copy import copy_store
    from baton.store.engine import normalize_url
    from baton.store.sql import SqlStore

    loaded = load_configuration(resolve_config_path(config))
    source = open_store(loaded.configuration.global_.database_url, base_dir=loaded.root)
    target = open_store(to, base_dir=loaded.root)
    try:
        assert isinstance(source, SqlStore) and isinstance(target, SqlStore)
        counts = copy_store(source, target)
        src_url = checkpoint_url(source, None, loaded.root)
        dst_url = normalize_url(to).render_as_string(hide_password=False)
        checkpoints = asyncio.run(copy_checkpoints(src_url, dst_url))
    finally:
        source.close()
        target.close()
    if checkpoints[0] != checkpoints[1]:
        raise fail(f"checkpoints: {checkpoints[0]} in the source but {checkpoints[1]} in the target")
    shown = normalize_url(to).render_as_string(hide_password=True)
    if as_json:
        tables = {c.table: c.source for c in counts}
        print_json({"to": shown, "tables": tables, "checkpoints": checkpoints[0]})
        return
    for c in counts:
        console.print(f"{c.table:<20} {c.source:>8} rows  ok", highlight=False)
    console.print(f"{'checkpoints':<20} {checkpoints[0]:>8} rows  ok", highlight=False)
    console.print(f"copied to {shown}; point global.database_url at it to use it", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("export")(handle_errors(export))
    app.command("import")(handle_errors(import_))
    app.add_typer(db_app, name="db")
