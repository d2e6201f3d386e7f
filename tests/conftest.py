"""Tests of a feature behind a pip extra (``baton.extras``) need that extra: on a developer's
machine without it they are skipped with the command that installs it; under CI (which
installs ``.[dev]``, every extra) a missing one is a failure, as for any missing tool."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from baton.extras import MissingExtra, install_hint

# top-level package -> the extra that installs it
EXTRA_OF = {
    "langgraph": "langgraph",
    "langchain_core": "langgraph",
    "langsmith": "langgraph",
    "aiosqlite": "langgraph",
    "mcp": "mcp",
    "prometheus_client": "metrics",
    "psycopg": "postgres",
    "anthropic": "api",
    "openai": "api",
    "docker": "docker",
    "acp": "acp",
    "githubkit": "github",
    "dbos": "service",
    "uvloop": "service",
}


def _missing_extra(exc: BaseException | None) -> str | None:
    if isinstance(exc, MissingExtra):
        return exc.extra
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return EXTRA_OF.get(exc.name.split(".")[0])
    return None


def _skip(extra: str) -> None:
    if os.environ.get("CI") == "true":
        return  # the failure stands
    pytest.skip(f"needs the {extra!r} extra: {install_hint(extra)}")


def _skip_a_missing_extra(item: pytest.Item) -> Iterator[None]:
    """A test (or its fixtures) stopped by a missing extra is skipped with the install line."""
    try:
        return (yield)
    except (MissingExtra, ModuleNotFoundError) as exc:
        extra = _missing_extra(exc)
        if extra is not None:
            _skip(extra)
        raise


pytest_runtest_setup = pytest.hookimpl(wrapper=True)(_skip_a_missing_extra)
pytest_runtest_call = pytest_runtest_setup


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """A test module that cannot even be imported without an extra is skipped, not an error."""
    report: pytest.CollectReport = yield
    if not report.failed or os.environ.get("CI") == "true":
        return report
    found = re.search(r"No module named '([\w]+)", str(report.longrepr))
    extra = EXTRA_OF.get(found.group(1)) if found else None
    if extra is None:
        return report
    reason = f"Skipped: needs the {extra!r} extra: {install_hint(extra)}"
    return pytest.CollectReport(report.nodeid, "skipped", (str(collector.path), 0, reason), [])
