"""Ordinary mistakes on a newcomer's path get an error that names the flag they typed."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Baton, baton_process


def test_gc_bad_older_than_names_that_flag(baton: Baton) -> None:
    result = baton("gc", "--dry-run", "--older-than", "soon", code=2)
    assert "--older-than 'soon': expected a span like 7d" in result.stderr
    assert "--since" not in result.stderr


def test_usage_bad_since_names_since(baton: Baton) -> None:
    assert "--since 'soon': expected a span" in baton("usage", "--since", "soon", code=2).stderr


def test_history_on_an_80_column_pipe_shows_whole_statuses(project: Path, baton: Baton) -> None:
    baton("run", "hello")
    history = baton_process(project, "history", columns=80)
    row = next(line for line in history.stdout.splitlines() if "hel" in line)
    assert "completed" in row, history.stdout
