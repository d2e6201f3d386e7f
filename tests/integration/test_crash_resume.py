"""kill -9 of a real `baton run` process at several points, then `baton resume`."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

STEPS = ["s1", "s2", "s3", "s4", "s5"]


def _project(tmp_path: Path, delay: float = 0.6) -> Path:
    record = tmp_path / "calls.jsonl"
    lines = ["      - {id: s1, agent_id: bot, prompt_template: \"do s1\"}"]
    for prev, cur in itertools.pairwise(STEPS):
        lines.append(f"      - {{id: {cur}, agent_id: bot, "
                     f"prompt_template: \"do {cur} after {{{{ outputs.{prev}.text }}}}\"}}")
    steps = "\n".join(lines)
    (tmp_path / "baton.yaml").write_text(f"""
version: "1.0.0"
agents:
  bot:
    provider: scripted
    model: echo
    capabilities: [test]
    config: {{record: "{record}", script: [{{echo: true, delay: {delay}}}]}}
workflows:
  chain:
    steps:
{steps}
""")
    return record


def _baton(tmp_path: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, **kw)


def _calls(record: Path) -> list[str]:
    if not record.exists():
        return []
    return [json.loads(line)["step"] for line in record.read_text().splitlines() if line.strip()]


def _status(tmp_path: Path, execution_id: str) -> dict[str, Any]:
    out = _baton(tmp_path, "status", execution_id, "--json")
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_calls", [1, 3, 5])
def test_kill_9_then_resume_runs_no_completed_step_twice(tmp_path: Path, kill_after_calls: int) -> None:
    record = _project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "baton", "run", "chain", "--json"], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while len(_calls(record)) < kill_after_calls and time.monotonic() < deadline:
        time.sleep(0.02)
    # kill mid-step: the agent call for step N has started but not finished
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    hist = json.loads(_baton(tmp_path, "history", "--json").stdout)
    execution_id = hist[0]["execution_id"]
    before = _status(tmp_path, execution_id)
    # the first command after the crash notices the dead owner: interrupted, resumable
    assert before["status"] == "failed" and before["error"].startswith("interrupted:")
    completed_before = [s["step_id"] for s in before["steps"] if s["status"] == "completed"]
    assert len(completed_before) == kill_after_calls - 1
    logs_before = json.loads(_baton(tmp_path, "logs", execution_id, "--json").stdout)

    resumed = _baton(tmp_path, "resume", execution_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "completed"
    assert result["outputs"]["s5"]["text"].startswith("do s5 after do s4")

    calls = _calls(record)
    for step_id in completed_before:
        assert calls.count(step_id) == 1, f"{step_id} ran again after resume: {calls}"
    assert sorted(set(calls)) == STEPS
    logs_after = json.loads(_baton(tmp_path, "logs", execution_id, "--json").stdout)
    after_ids = {row["id"] for row in logs_after}
    assert {row["id"] for row in logs_before} <= after_ids, "log rows were lost"
    completed_events = [row["step_id"] for row in logs_after if row["metadata"]["event"] == "step.completed"]
    assert sorted(completed_events) == STEPS  # each step completed exactly once
    seqs = [row["seq"] for row in logs_after]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


@pytest.mark.slow
def test_ctrl_c_cancels_cleanly_and_is_resumable(tmp_path: Path) -> None:
    record = _project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "baton", "run", "chain", "--json"], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while len(_calls(record)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130
    result = json.loads(out)
    assert result["status"] == "cancelled"
    steps = {s["step_id"]: s["status"] for s in result["steps"]}
    assert steps["s1"] == "completed" and steps["s2"] == "cancelled"
    resumed = _baton(tmp_path, "resume", result["execution_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert _calls(record).count("s1") == 1


def test_cancel_command_stops_a_detached_run(tmp_path: Path) -> None:
    _project(tmp_path, delay=20)
    started = _baton(tmp_path, "run", "chain", "--detach", "--json")
    assert started.returncode == 0, started.stderr
    execution_id = json.loads(started.stdout)["execution_id"]
    deadline = time.monotonic() + 30
    while _status(tmp_path, execution_id)["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    cancelled = _baton(tmp_path, "cancel", execution_id)
    assert cancelled.returncode == 0, cancelled.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        data = _status(tmp_path, execution_id)
        if not any(s["status"] == "running" for s in data["steps"]):
            break
        time.sleep(0.1)
    assert data["status"] == "cancelled"
    assert not any(s["status"] == "running" for s in data["steps"])
