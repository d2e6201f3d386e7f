"""``baton usage``: tokens and cost of every agent call, grouped, with a small bar chart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from baton.cli.app import (
    ConfigOption,
    JsonOption,
    console,
    fail,
    handle_errors,
    print_json,
    resolve_config_path,
)
from baton.store.base import UsageTotal

GROUPS = ("agent", "model", "workflow", "day", "execution")
_SPAN = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
BAR_WIDTH = 10


def parse_since(value: str | None, now: datetime | None = None, option: str = "--since") -> datetime | None:
    """``7d``, ``24h``, ``30m``, ``2w`` before now, or an ISO date/time (UTC unless given)."""
    if not value:
        return None
    now = now or datetime.now(UTC)
    match = _SPAN.match(value.strip().lower())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(
            f"{option} {value!r}: expected a span like 7d, 24h, 30m, 2w or a date like 2026-01-31"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_json(totals: list[UsageTotal], by: str, since: datetime | None) -> dict[str, Any]:
    rows = [
        {
            "group": t.group,
            "calls": t.calls,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            "cache_read_tokens": t.cache_read_tokens,
            "cache_write_tokens": t.cache_write_tokens,
            "total_tokens": t.input_tokens + t.output_tokens,
            "cost_usd": round(t.cost_usd, 6),
        }
        for t in totals
    ]
    return {
        "by": by,
        "since": since.isoformat() if since else None,
        "rows": rows,
        "total": {
            "calls": sum(t.calls for t in totals),
            "total_tokens": sum(t.input_tokens + t.output_tokens for t in totals),
            "cost_usd": round(sum(t.cost_usd for t in totals), 6),
        },
    }


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``value`` relative to ``largest`` (eighth-block resolution)."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / largest * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[rest]


_FIELDS = ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd")


def _cells(total: UsageTotal) -> list[str]:
    return [
        f"{total.calls:,}",
        f"{total.input_tokens:,}",
        f"{total.output_tokens:,}",
        f"{total.cache_read_tokens:,}/{total.cache_write_tokens:,}",
        f"${total.cost_usd:,.4f}",
    ]


def table(totals: list[UsageTotal], by: str) -> Table:
    by_cost = any(t.cost_usd > 0 for t in totals)
    measure = [t.cost_usd if by_cost else float(t.input_tokens + t.output_tokens) for t in totals]
    largest = max(measure, default=0.0)
    out = Table(title=f"usage by {by}", title_justify="left")
    out.add_column(by, overflow="fold")
    for name in ("calls", "input", "output", "cache r/w", "cost"):
        out.add_column(name, justify="right", no_wrap=True)
    out.add_column("cost" if by_cost else "tokens", no_wrap=True, min_width=BAR_WIDTH)
    for total, value in zip(totals, measure, strict=True):
        out.add_row(total.group, *_cells(total), Text(bar(value, largest), style="cyan"))
    if len(totals) > 1:
        out.add_section()
        summed = UsageTotal("total", *(sum(getattr(t, f) for t in totals) for f in _FIELDS))
        out.add_row("total", *_cells(summed), "")
    return out


def usage(
    by: str = typer.Option("agent", "--by", "-b", help="Group by agent, model, workflow, day or execution."),
    since: str | None = typer.Option(None, "--since", "-s", help="Only calls after: 7d, 24h, 30m or a date."),
    json_output: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Tokens and cost of agent calls, grouped by agent, model, workflow or day."""
    from baton.config import load_configuration
    from baton.store import open_store

    if by not in GROUPS:
        raise fail(f"--by {by!r}: expected one of {', '.join(GROUPS)}")
    start = parse_since(since)
    loaded = load_configuration(resolve_config_path(config), cwd=Path.cwd())
    store = open_store(loaded.configuration.global_.database_url, base_dir=loaded.root)
    try:
        totals = store.usage_totals(by=by, since=start)
    finally:
        store.close()
    if json_output:
        print_json(as_json(totals, by, start))
        return
    if not totals:
        when = f" since {start:%Y-%m-%d %H:%M} UTC" if start else ""
        console.print(f"no agent calls recorded{when}", highlight=False)
        return
    console.print(table(totals, by))


def register(app: typer.Typer) -> None:
    """Add ``baton usage`` to ``app``."""
    app.command("usage")(handle_errors(usage))
