"""Ordinary mistakes on a newcomer's path get an error that names the flag they typed."""

from __future__ import annotations

from tests.cli.conftest import Baton


def test_gc_bad_older_than_names_that_flag(baton: Baton) -> None:
    result = baton("gc", "--dry-run", "--older-than", "soon", code=2)
    assert "--older-than 'soon': expected a span like 7d" in result.stderr
    assert "--since" not in result.stderr


def test_usage_bad_since_names_since(baton: Baton) -> None:
    assert "--since 'soon': expected a span" in baton("usage", "--since", "soon", code=2).stderr
