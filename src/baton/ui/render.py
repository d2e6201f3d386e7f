"""The dashboard's templates: Jinja2 with autoescaping, every printed value redacted.

Agent output, prompts, diffs and log lines are untrusted text: autoescaping turns
``<script>`` into text, and :func:`_finalize` masks every registered secret before a value
reaches the page.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from baton.observability.redact import redact


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return redact(value)
    return value


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _clock(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%H:%M:%S.%f")[:-3]


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _pretty(value: Any) -> str:
    return redact(json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True))


def _diff_html(text: str) -> Markup:
    """A unified diff, highlighted by pygments (it escapes the text)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import DiffLexer

    return Markup(highlight(redact(text), DiffLexer(), HtmlFormatter(nowrap=True)))


def _money(value: float | None) -> str:
    return f"${(value or 0.0):,.4f}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("baton.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when, clock=_clock, seconds=_seconds, pretty=_pretty, diff_html=_diff_html, money=_money
    )
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
