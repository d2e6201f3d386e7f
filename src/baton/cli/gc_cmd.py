"""``baton gc``: prune artifacts, worktrees and branches of finished executions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from baton.cli.app import (
    ConfigOption,
    JsonOption,
    console,
    fail,
    handle_errors,
    print_json,
    resolve_config_path,
)
from baton.cli.usage_cmd import parse_since
from baton.wording import counted


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def gc(
    older_than: str = typer.Option(
        "7d", "--older-than", help="Only executions that ended before: 7d, 24h, 2w or a date."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; remove nothing."),
    json_output: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Remove artifacts, agent homes, worktrees and branches of finished executions.

    Pending, running and waiting executions keep everything; so do finished ones that ended
    within --older-than (they may still be resumed).
    """
    from baton.config import load_configuration
    from baton.engine.gc import plan, prune
    from baton.store import open_store

    cutoff = parse_since(older_than, option="--older-than")
    if cutoff is None:
        raise fail("--older-than: expected a span like 7d, 24h, 2w or a date")
    loaded = load_configuration(resolve_config_path(config), cwd=Path.cwd())
    global_ = loaded.configuration.global_
    workspace = Path(global_.workspace_dir).expanduser()
    workspace = workspace if workspace.is_absolute() else loaded.root / workspace
    store = open_store(global_.database_url, base_dir=loaded.root)
    try:
        items = asyncio.run(plan(store, artifacts_root=global_.artifacts_path(loaded.root),
                                 worktrees_root=loaded.root / ".baton" / "worktrees",
                                 repos=[workspace], cutoff=cutoff))
    finally:
        store.close()
    problems = [] if dry_run else asyncio.run(prune(items))
    if json_output:
        print_json({"dry_run": dry_run, "cutoff": cutoff.isoformat(), "problems": problems,
                    "removed" if not dry_run else "would_remove": [
                        {"kind": i.kind, "target": i.target, "execution_id": i.execution_id,
                         "reason": i.reason, "bytes": i.bytes} for i in items]})
    else:
        verb = "would remove" if dry_run else "removed"
        for item in items:
            size = f", {_human(item.bytes)}" if item.bytes else ""
            console.print(f"{verb} {item.kind} {item.target} ({item.reason}{size})",
                          highlight=False, markup=False)
        total = sum(i.bytes for i in items)
        console.print(f"{verb} {counted(len(items), 'item')}, {_human(total)}; nothing of executions "
                      f"that are running, waiting or ended after {cutoff:%Y-%m-%d %H:%M} UTC",
                      highlight=False)
        for problem in problems:
            console.print(f"could not remove {problem}", highlight=False, markup=False)
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``baton gc`` to ``app``."""
    app.command("gc")(handle_errors(gc))
