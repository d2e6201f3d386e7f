"""The live table of a long workflow fits the screen: the steps where the execution is,
every unusual one, and a row counting those left out (cli/live.py)."""

from __future__ import annotations

import io

from rich.console import Console

from baton.cli.live import LiveView


def _view(statuses: list[str]) -> LiveView:
    view = LiveView([f"s{i}" for i in range(len(statuses))])
    for row, status in zip(view.rows.values(), statuses, strict=True):
        row.status = status
    return view


def _drawn(view: LiveView, max_rows: int | None) -> str:
    out = io.StringIO()
    Console(file=out, width=120, force_terminal=False).print(view.table(max_rows=max_rows))
    return out.getvalue()


def test_a_short_workflow_is_shown_whole() -> None:
    view = _view(["completed", "running", "pending"])
    rows, hidden = view.shown(30)
    assert [r.step for r in rows] == ["s0", "s1", "s2"] and not hidden


def test_a_long_chain_shows_the_steps_around_the_running_one_and_counts_the_rest() -> None:
    view = _view(["completed"] * 100 + ["running"] + ["pending"] * 99)
    rows, hidden = view.shown(10)
    assert [r.step for r in rows] == [f"s{i}" for i in range(96, 106)]
    assert hidden == {"completed": 96, "pending": 94}
    drawn = _drawn(view, 10)
    assert "96 completed, 94 pending not shown" in drawn
    assert "s95 " not in drawn and "s106 " not in drawn


def test_failed_and_waiting_steps_are_kept_before_quiet_ones() -> None:
    statuses = ["completed"] * 50
    statuses[3] = "failed"
    statuses[20] = "waiting"
    rows, hidden = _view(statuses).shown(4)
    shown = [r.step for r in rows]
    assert shown[:2] == ["s3", "s20"] and len(shown) == 4
    assert hidden == {"completed": 46}


def test_without_a_limit_every_step_is_listed() -> None:
    view = _view(["completed"] * 80)
    assert len(view.shown(None)[0]) == 80
    assert "not shown" not in _drawn(view, None)
