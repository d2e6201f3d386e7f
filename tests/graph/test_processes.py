"""Real `python -m baton` processes: an approval that survives the process, and kill -9
in the middle of a loop followed by `baton resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def _baton(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _calls(record: Path) -> list[str]:
    if not record.exists():
        return []
    return [json.loads(line)["step"] for line in record.read_text().splitlines() if line.strip()]


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {proc.returncode}): {proc.stdout!r} {proc.stderr!r}") from None


def _project(tmp_path: Path) -> Path:
    record = tmp_path / "calls.jsonl"
    (tmp_path / "baton.yaml").write_text(f"""
version: "1.0.0"
global: {{cache: {{enabled: false}}}}
agents:
  bot:
    provider: scripted
    model: echo
    capabilities: [test]
    config: {{record: "{record}", script: {{fix: [{{echo: true, delay: 1.0}}], "*": [{{echo: true}}]}}}}
  sh: {{provider: shell, model: bash, capabilities: [command]}}
workflows:
  release:
    type: langgraph
    steps:
      - {{id: build, agent_id: bot, prompt_template: "build"}}
      - id: deploy
        agent_id: bot
        prompt_template: "deploy {{{{ outputs.build.text }}}}"
        approval: {{message: "Ship {{{{ outputs.build.text }}}}?"}}
      - {{id: announce, agent_id: bot, prompt_template: "announce"}}
  loop:
    type: langgraph
    steps:
      - {{id: implement, agent_id: bot, prompt_template: "implement"}}
      - id: test
        agent_id: sh
        prompt_template: "n=$(( $(cat runs 2>/dev/null || echo 0) + 1 )); echo $n > runs; if [ $n -ge 3 ]; then echo green; else echo red; fi"
        next:
          - {{when: "'green' in outputs.test.text", goto: end}}
          - {{goto: fix}}
      - {{id: fix, agent_id: bot, prompt_template: "fix after {{{{ outputs.test.text | trim }}}}", next: test}}
""")
    return record


def test_approval_pauses_survives_the_process_and_resumes_on_approve(tmp_path: Path) -> None:
    record = _project(tmp_path)
    run = _baton(tmp_path, "run", "release", "--json")
    assert run.returncode == 3, run.stderr
    paused = _json(run)
    execution_id = paused["execution_id"]
    assert paused["status"] == "pending"
    assert {s["step_id"]: s["status"] for s in paused["steps"]} == {"build": "completed", "deploy": "waiting"}
    assert f"baton approve {execution_id}" in paused["error"]

    status = _json(_baton(tmp_path, "status", execution_id, "--json"))
    assert status["status"] == "pending"
    deploy = next(s for s in status["steps"] if s["step_id"] == "deploy")
    assert deploy["status"] == "waiting"
    assert deploy["output"]["approval"]["message"] == "Ship build?"
    text = _baton(tmp_path, "status", execution_id)
    assert "waiting" in text.stdout and "baton approve" in text.stdout

    wrong = _baton(tmp_path, "approve", execution_id, "--step", "announce")
    assert wrong.returncode == 2
    assert "does not wait for approval" in wrong.stderr and "Traceback" not in wrong.stderr

    approved = _baton(tmp_path, "approve", execution_id, "--reason", "green build", "--by", "carol", "--json")
    assert approved.returncode == 0, approved.stderr
    done = _json(approved)
    assert done["status"] == "completed"
    assert done["outputs"]["deploy"]["text"] == "deploy build"
    assert _calls(record) == ["build", "deploy", "announce"]
    logs = _json(_baton(tmp_path, "logs", execution_id, "--json"))
    events = [(row["metadata"]["event"], row["step_id"]) for row in logs]
    assert ("step.waiting", "deploy") in events and ("step.approved", "deploy") in events
    assert events.index(("step.waiting", "deploy")) < events.index(("step.approved", "deploy"))
    assert events[-1] == ("execution.completed", None)

    gone = _baton(tmp_path, "approve", execution_id)
    assert gone.returncode == 2 and "no step waiting for approval" in gone.stderr


def test_rejecting_from_another_process_fails_the_execution(tmp_path: Path) -> None:
    record = _project(tmp_path)
    run = _baton(tmp_path, "run", "release", "--json")
    assert run.returncode == 3, run.stderr
    execution_id = _json(run)["execution_id"]
    rejected = _baton(tmp_path, "approve", execution_id, "--reject", "--reason", "not on a Friday", "--json")
    assert rejected.returncode == 1, rejected.stderr
    result = _json(rejected)
    assert result["status"] == "failed"
    assert "rejected by" in result["error"] and "not on a Friday" in result["error"]
    assert _calls(record) == ["build"]


def test_kill_9_in_a_loop_then_resume_runs_no_finished_node_again(tmp_path: Path) -> None:
    record = _project(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "baton", "run", "loop", "--json"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while _calls(record).count("fix") < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # the second fix is in flight (its agent answers after 1 s)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert _calls(record) == ["implement", "fix", "fix"]
    assert (tmp_path / "runs").read_text().strip() == "2"

    execution_id = _json(_baton(tmp_path, "history", "--json"))[0]["execution_id"]
    before = _json(_baton(tmp_path, "status", execution_id, "--json"))
    # the first command after the crash notices the dead owner: interrupted, resumable
    assert before["status"] == "failed" and before["error"].startswith("interrupted:")
    resumed = _baton(tmp_path, "resume", execution_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = _json(resumed)
    assert result["status"] == "completed", result["error"]
    assert result["outputs"]["test"]["text"].strip() == "green"
    # implement and the first fix finished before the kill: not run again; the killed fix
    # runs again, and the tests ran exactly three times in all (the counter file says so)
    assert _calls(record) == ["implement", "fix", "fix", "fix"]
    assert (tmp_path / "runs").read_text().strip() == "3"
    logs = _json(_baton(tmp_path, "logs", execution_id, "--json"))
    completed = [row["step_id"] for row in logs if row["metadata"]["event"] == "step.completed"]
    assert completed == ["implement", "test", "fix", "test", "fix", "test"]
