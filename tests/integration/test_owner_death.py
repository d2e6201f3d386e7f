"""kill -9 of `baton run`: the next command marks the execution interrupted and kills its agents;
`baton resume` refuses while the owner lives and completes it once it is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.git_repos import GIT_ENV
from tests.integration.procs import kill_sleepers, sleepers, stop, wait_until
from tests.integration.userpath import Project

NAP = "4242.5"  # a sleep nobody else runs, to find it in /proc


@pytest.fixture(autouse=True)
def _no_stray_sleepers() -> Iterator[None]:
    """A failed test leaves its agent's sleep behind; the next test must not count it."""
    yield
    kill_sleepers(NAP)


def _project(tmp_path: Path) -> Project:
    project = Project.init(tmp_path / "repo")
    project.configure(workflows={"nap": {"steps": [
        {"id": "before", "agent_id": "sh", "prompt_template": "echo before"},
        # the first run sleeps (and is killed); once `awake` exists the step finishes at once
        {"id": "nap", "agent_id": "sh", "timeout_seconds": 3600,
         "prompt_template": f"test -f awake || sleep {NAP}; echo slept"},
        {"id": "after", "agent_id": "sh", "prompt_template": "echo after"},
    ]}})
    return project


def _wait_running_step(project: Project, step: str, timeout: float = 60) -> str:
    found: list[str] = []

    def running() -> bool:
        out = project.baton("history", "--json")
        rows = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []
        if rows:
            status = project.json("status", rows[0]["execution_id"])
            if any(s["step_id"] == step and s["status"] == "running" for s in status["steps"]) \
                    and sleepers(NAP):
                found.append(str(rows[0]["execution_id"]))
        return bool(found)

    wait_until(running, f"step {step} never started", timeout, every=0.2)
    return found[0]


@pytest.mark.slow
def test_kill_9_of_baton_run_is_noticed_its_agent_killed_and_resume_completes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    proc = project.popen("run", "nap", "--json", start_new_session=True)
    try:
        execution_id = _wait_running_step(project, "nap")

        # while the owner lives, resume is refused and nothing is marked interrupted
        refused = project.baton("resume", execution_id)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "still running in process" in refused.stderr and str(proc.pid) in refused.stderr
        assert project.json("status", execution_id)["status"] == "running"

        os.kill(proc.pid, signal.SIGKILL)  # the baton process only; its agent's group lives on
        proc.wait(timeout=10)
        assert sleepers(NAP), "the agent's sleep should have outlived its baton process"
    finally:
        stop(proc)

    history = project.json("history")
    assert history[0]["execution_id"] == execution_id
    assert history[0]["status"] == "failed"
    assert history[0]["error"].startswith("interrupted:")
    assert f"baton resume {execution_id}" in history[0]["error"]
    assert sleepers(NAP) == [], "an orphaned agent process survived"
    status = project.json("status", execution_id)
    steps = {s["step_id"]: s["status"] for s in status["steps"]}
    assert steps == {"before": "completed", "nap": "cancelled"}
    logs = project.json("logs", execution_id)
    assert [r["metadata"]["orphan_groups_killed"] for r in logs
            if r["metadata"].get("event") == "execution.interrupted"] == [1]

    (project.root / "awake").write_text("")
    resumed = project.baton("resume", execution_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    final = project.json("status", execution_id)
    assert final["status"] == "completed"
    assert {s["step_id"]: s["status"] for s in final["steps"]} == {
        "before": "completed", "nap": "completed", "after": "completed"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root, as CI is)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs: {made.stderr}")
        pytest.skip(f"cannot mount a tmpfs: {made.stderr}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_disk_full_is_a_clear_error_and_leaves_the_execution_resumable(small_disk: Path) -> None:
    project = Project.init(small_disk / "repo")
    project.configure(workflows={"fill": {"steps": [
        # an agent fills the disk; the store's next write fails
        {"id": "fill", "agent_id": "sh",
         "prompt_template": "test -f roomy || head -c 50M /dev/zero > fill.bin 2>/dev/null; echo filled"},
        {"id": "next", "agent_id": "sh", "prompt_template": "echo next"},
    ]}})
    run = project.baton("run", "fill")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert ("database or disk is full" in run.stderr or "No space left on device" in run.stderr)
    assert "stays resumable" in run.stderr
    execution_id = run.stderr.split("then run `baton resume ", 1)[1].split("`", 1)[0]

    (project.root / "fill.bin").unlink()
    (project.root / "roomy").write_text("")
    history = project.json("history")
    assert history[0]["execution_id"] == execution_id
    assert history[0]["status"] == "failed" and history[0]["error"].startswith("interrupted:")
    resumed = project.baton("resume", execution_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "completed"


@pytest.mark.slow
def test_kill_9_before_the_step_start_is_committed_still_kills_the_agent(tmp_path: Path) -> None:
    """A step's RUNNING row is committed with its end or after a moment; the agent's process
    group is recorded at once, so a kill -9 inside that moment still leaves no orphan."""
    project = _project(tmp_path)
    # widen the moment the start stays uncommitted (0.1 s, or the 0.5 s flush of buffered agent
    # output) to an hour, so the kill lands in it
    launcher = tmp_path / "baton_slow_start.py"
    launcher.write_text(
        "import runpy\n"
        "import baton.engine.recorder as recorder\n"
        "recorder._START_SECONDS = recorder._FLUSH_SECONDS = 3600\n"
        "runpy.run_module('baton', run_name='__main__')\n")
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.Popen([sys.executable, str(launcher), "run", "nap", "--json"], cwd=project.root,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        def napping() -> bool:
            assert proc.poll() is None, proc.communicate()
            return bool(sleepers(NAP))

        wait_until(napping, "the nap step's agent never started")
        execution_id = project.json("history")[0]["execution_id"]
        steps = {s["step_id"]: s["status"] for s in project.json("status", execution_id)["steps"]}
        assert steps == {"before": "completed"}, "the nap step's start should not be committed yet"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert sleepers(NAP), "the agent's sleep should have outlived its baton process"
    finally:
        stop(proc)
        proc.communicate()

    history = project.json("history")
    assert history[0]["status"] == "failed" and history[0]["error"].startswith("interrupted:")
    assert sleepers(NAP) == [], "an orphaned agent process survived"
    logs = project.json("logs", execution_id)
    assert [r["metadata"]["orphan_groups_killed"] for r in logs
            if r["metadata"].get("event") == "execution.interrupted"] == [1]

    (project.root / "awake").write_text("")
    resumed = project.baton("resume", execution_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    final = project.json("status", execution_id)
    assert {s["step_id"]: s["status"] for s in final["steps"]} == {
        "before": "completed", "nap": "completed", "after": "completed"}


def test_resume_right_after_a_failed_run_is_not_taken_for_the_dead_run(tmp_path: Path) -> None:
    # `baton run` fails and exits; a `baton resume` seconds later holds the execution, so a
    # `baton status` meanwhile neither marks it interrupted nor kills its agent
    ok, started, release = (tmp_path / n for n in ("ok", "started", "release"))
    project = Project.init(tmp_path / "repo")
    project.configure(workflows={"flaky": {"steps": [
        {"id": "only", "agent_id": "sh", "prompt_template":
            f"test -f {ok} || exit 1; touch {started}; while [ ! -f {release} ]; do sleep 0.05; done"},
    ]}})
    assert project.baton("run", "flaky").returncode == 1
    (execution_id,) = [row["execution_id"] for row in project.json("history")]
    ok.touch()
    proc = project.popen("resume", execution_id, "--json")
    try:
        wait_until(started.exists, "the resumed step never started")
        shown = project.baton("status", execution_id)
        assert "interrupted" not in shown.stdout + shown.stderr, shown.stdout + shown.stderr
        assert project.json("status", execution_id)["status"] == "running"
        release.touch()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
    finally:
        release.touch()
        stop(proc)
    assert project.json("status", execution_id)["status"] == "completed"
