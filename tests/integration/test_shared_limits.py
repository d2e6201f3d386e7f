"""Limits hold across `baton run` processes sharing one store (the default `.baton/baton.db`):
global.max_concurrent_executions, an agent's max_concurrency and requests_per_minute; a
killed process's slot is taken back at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.procs import kill_sleepers, sleepers, stop, wait_until
from tests.integration.userpath import Project

NAP = "4343.5"  # a sleep nobody else runs, to find it in /proc


def _intervals(marks: Path) -> list[tuple[float, float]]:
    spans = []
    for path in sorted(marks.iterdir()):
        start, end = (float(x) for x in path.read_text().split())
        spans.append((start, end))
    return spans


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    """The most intervals running at one instant (an end before a start at the same time)."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    running = peak = 0
    for _, delta in edges:
        running += delta
        peak = max(peak, running)
    return peak


def _record(marks: Path, name: str, seconds: float) -> str:
    """A shell step that records when it ran (start and end, epoch seconds) under ``marks``."""
    return (f"s=$(date +%s.%N); sleep {seconds}; e=$(date +%s.%N); "
            f"echo \"$s $e\" > {marks}/{{{{ execution.id }}}}-{name}")


def _finish(procs: list[subprocess.Popen[str]], timeout: float = 90) -> list[dict[str, object]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, out + err
        results.append(json.loads(out))
    return results


def _events(project: Project, kind: str) -> list[tuple[str, dict[str, object]]]:
    """(execution id, metadata) of every log row of event ``kind`` in the project's store."""
    db = sqlite3.connect(f"file:{project.root / '.baton' / 'baton.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT execution_id, metadata FROM execution_logs ORDER BY seq").fetchall()
    finally:
        db.close()
    found = [(eid, json.loads(meta)) for eid, meta in rows]
    return [(eid, meta) for eid, meta in found if meta.get("event") == kind]


def _await_files(directory: Path, count: int, timeout: float = 60) -> None:
    wait_until(lambda: len(list(directory.iterdir())) >= count,
               f"fewer than {count} ready in {directory}", timeout, every=0.05)


def test_ten_runs_share_a_global_limit_of_three(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    project = Project.init(tmp_path / "repo")
    project.configure(global_={"max_concurrent_executions": 3}, workflows={"work": {"steps": [
        {"id": "work", "agent_id": "sh", "prompt_template": _record(marks, "work", 1)}]}})

    procs = [project.popen("run", "work", "--json") for _ in range(10)]
    results = _finish(procs)

    assert [r["status"] for r in results] == ["completed"] * 10
    spans = _intervals(marks)
    assert len(spans) == 10
    assert _max_overlap(spans) <= 3, sorted(spans)
    # the others waited for a slot, and said so
    queued = {eid for eid, _ in _events(project, "execution.queued")}
    assert queued and queued <= {str(r["execution_id"]) for r in results}


def test_an_agents_max_concurrency_holds_across_two_processes(tmp_path: Path) -> None:
    marks, ready, go = tmp_path / "marks", tmp_path / "ready", tmp_path / "go"
    marks.mkdir()
    ready.mkdir()
    project = Project.init(tmp_path / "repo")
    project.configure(
        agents={"solo": {"provider": "shell", "model": "bash", "capabilities": ["command"],
                         "max_concurrency": 1}},
        workflows={"pair": {"steps": [
            # both processes reach this point, then start their two steps on `solo` at once
            {"id": "gate", "agent_id": "sh", "prompt_template":
                f"touch {ready}/{{{{ execution.id }}}}; while [ ! -f {go} ]; do sleep 0.05; done"},
            {"id": "a", "agent_id": "solo", "dependencies": ["gate"],
             "prompt_template": _record(marks, "a", 0.5)},
            {"id": "b", "agent_id": "solo", "dependencies": ["gate"],
             "prompt_template": _record(marks, "b", 0.5)},
        ]}})

    procs = [project.popen("run", "pair", "--json") for _ in range(2)]
    try:
        _await_files(ready, 2)
    finally:
        go.touch()
    results = _finish(procs)

    assert [r["status"] for r in results] == ["completed"] * 2
    spans = _intervals(marks)
    assert len(spans) == 4
    assert _max_overlap(spans) == 1, sorted(spans)


def test_requests_per_minute_holds_across_two_processes(tmp_path: Path) -> None:
    marks, ready, go = tmp_path / "marks", tmp_path / "ready", tmp_path / "go"
    marks.mkdir()
    ready.mkdir()
    project = Project.init(tmp_path / "repo")
    project.configure(
        agents={"api": {"provider": "shell", "model": "bash", "capabilities": ["command"],
                        "requests_per_minute": 60}},  # one call a second
        workflows={"calls": {"steps": [
            {"id": "gate", "agent_id": "sh", "prompt_template":
                f"touch {ready}/{{{{ execution.id }}}}; while [ ! -f {go} ]; do sleep 0.05; done"},
            {"id": "a", "agent_id": "api", "dependencies": ["gate"], "prompt_template": _record(marks, "a", 0)},
            {"id": "b", "agent_id": "api", "dependencies": ["gate"], "prompt_template": _record(marks, "b", 0)},
        ]}})

    procs = [project.popen("run", "calls", "--json") for _ in range(2)]
    try:
        _await_files(ready, 2)
    finally:
        go.touch()
    results = _finish(procs)

    assert [r["status"] for r in results] == ["completed"] * 2
    starts = sorted(start for start, _ in _intervals(marks))
    assert len(starts) == 4
    # four turns a second apart, whichever process took them (a limit per process would let
    # both processes start at once: ~1 s from first to last); the margin is for the shell's
    # own start-up under load
    assert starts[-1] - starts[0] >= 2.5, starts
    waits = [meta for _, meta in _events(project, "step.rate_limited")]
    # every call but the very first waits for its turn (a process that reached its first call
    # only after two turns had passed would not: hence >= 2, the span above is the proof)
    assert len(waits) >= 2
    assert all("requests_per_minute 60" in w["reason"] and w["wait_seconds"] > 0 for w in waits)


def _gate(started: Path, release: Path) -> str:
    """A shell step that says it started, then runs until ``release`` exists."""
    return f"touch {started}; while [ ! -f {release} ]; do sleep 0.05; done"


def test_a_step_waiting_for_its_agents_slot_shows_queued_then_running(tmp_path: Path) -> None:
    first_in, first_out, second_in, second_out = (tmp_path / n for n in ("1-in", "1-out", "2-in", "2-out"))
    project = Project.init(tmp_path / "repo")
    project.configure(
        agents={"solo": {"provider": "shell", "model": "bash", "capabilities": ["command"],
                         "max_concurrency": 1}},
        workflows={
            "first": {"steps": [{"id": "hold", "agent_id": "solo",
                                 "prompt_template": _gate(first_in, first_out)}]},
            "second": {"steps": [{"id": "call", "agent_id": "solo",
                                  "prompt_template": _gate(second_in, second_out)}]},
        })
    first = project.popen("run", "first", "--json")
    procs = [first]
    try:
        wait_until(first_in.exists, "the first run's step never started")
        second = project.popen("run", "second", "--json")
        procs.append(second)
        wait_until(lambda: _events(project, "step.queued"), "the second run's step never queued")
        ((second_id, _),) = _events(project, "step.queued")

        status = project.json("status", second_id)
        assert status["status"] == "running" and status["workflow_id"] == "second"
        (step,) = status["steps"]
        # not running: it waits for the slot the first process holds, and says so
        assert step["status"] == "pending", step
        assert step["queued"].startswith("all 1 slots of agent solo's max_concurrency are in use")
        assert f"process {first.pid}" in step["queued"]
        shown = project.baton("status", second_id).stdout
        assert "queued: step call: all 1 slots of agent solo's max_concurrency" in shown, shown
        assert not second_in.exists()

        # its process killed while it waits: interrupted like a running step, not queued forever
        os.kill(second.pid, signal.SIGKILL)
        second.wait(timeout=10)
        status = project.json("status", second_id)
        assert status["status"] == "failed" and status["error"].startswith("interrupted:")
        assert [(s["status"], s["error"], s["queued"]) for s in status["steps"]] == [
            ("cancelled", "interrupted", None)]

        # resumed at once (its dead owner's claim is dropped), it waits again: pending, not
        # taken for the dead process's run; when the first run ends and gives its slot back it runs
        procs.append(project.popen("resume", second_id, "--json"))
        wait_until(lambda: len(_events(project, "step.queued")) == 2, "the resumed step never queued")
        status = project.json("status", second_id)
        assert status["status"] == "running", status
        assert status["steps"][0]["status"] == "pending"
        first_out.touch()
        wait_until(second_in.exists, "the resumed step never got the slot")
        wait_until(lambda: project.json("status", second_id)["steps"][0]["status"] == "running",
                   "the resumed step never showed running")
        assert project.json("status", second_id)["steps"][0]["queued"] is None
        second_out.touch()
        assert [r["status"] for r in _finish([first, procs[2]])] == ["completed", "completed"]
    finally:
        first_out.touch()
        second_out.touch()
        stop(*procs)

def test_a_killed_processs_slot_is_taken_back_at_once(tmp_path: Path) -> None:
    project = Project.init(tmp_path / "repo")
    project.configure(global_={"max_concurrent_executions": 1}, workflows={
        "hog": {"steps": [{"id": "nap", "agent_id": "sh", "timeout_seconds": 3600,
                           "prompt_template": f"sleep {NAP}"}]},
        "quick": {"steps": [{"id": "hi", "agent_id": "sh", "prompt_template": "echo hi"}]},
    })
    hog = project.popen("run", "hog", "--json")
    waiter: subprocess.Popen[str] | None = None
    try:
        wait_until(lambda: sleepers(NAP), "the hog's step never started")
        waiter = project.popen("run", "quick", "--json")

        wait_until(lambda: _events(project, "execution.queued"), "the second run never queued")
        ((queued_id, _),) = _events(project, "execution.queued")
        status = project.json("status", queued_id)
        assert status["status"] == "pending" and status["workflow_id"] == "quick"
        assert "global.max_concurrent_executions" in status["queued"]
        assert f"process {hog.pid}" in status["queued"]
        shown = project.baton("status", queued_id)
        assert "queued: all 1 slots of global.max_concurrent_executions are in use" in shown.stdout

        os.kill(hog.pid, signal.SIGKILL)
        hog.wait(timeout=10)
        killed = time.monotonic()
        out, err = waiter.communicate(timeout=60)
        # taken back because its owner is gone, not after the 30 s the lease would live
        assert time.monotonic() - killed < 15
        assert waiter.returncode == 0, out + err
        assert json.loads(out)["status"] == "completed"
    finally:
        stop(hog, waiter)
        project.baton("history")  # reaps the killed run: its sleep's group is killed
        kill_sleepers(NAP)
    assert not sleepers(NAP)
    history = {row["workflow_id"]: row["status"] for row in project.json("history")}
    assert history == {"hog": "failed", "quick": "completed"}


pytestmark = pytest.mark.timeout(180)
