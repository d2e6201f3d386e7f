"""Item 1 of the first hour: ids typed by a unique prefix or left out, whole ids in tables,
and the exact next command after a failure, a cancel or an approval pause."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.conftest import Baton, add_workflow, baton_process


def _run(baton: Baton, *args: str, code: int = 0) -> str:
    out = json.loads(baton("run", *args, "--json", code=code).stdout)
    return str(out["execution_id"])


def test_a_unique_prefix_names_an_execution_everywhere(project: Path, baton: Baton) -> None:
    first, second = _run(baton, "hello"), _run(baton, "hello", "-p", "name=you")
    common = next(i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b)
    short = second[: common + 1]
    assert json.loads(baton("status", short, "--json").stdout)["execution_id"] == second
    logs = json.loads(baton("logs", short, "--json").stdout)
    assert {row["execution_id"] for row in logs} == {second}
    ambiguous = baton("status", second[:common], code=2)
    assert "ambiguous" in ambiguous.stderr and first in ambiguous.stderr and second in ambiguous.stderr
    missing = baton("status", "zzzz", code=2)
    assert "no execution 'zzzz'" in missing.stderr


def test_no_id_means_the_latest_and_last_says_so(project: Path, baton: Baton) -> None:
    _run(baton, "hello")
    latest = _run(baton, "hello", "-p", "name=latest")
    for args in (("status",), ("status", "--last")):
        assert json.loads(baton(*args, "--json").stdout)["execution_id"] == latest
    assert {r["execution_id"] for r in json.loads(baton("logs", "--json").stdout)} == {latest}
    clash = baton("status", latest, "--last", code=2)
    assert "not both" in clash.stderr


def test_no_executions_yet_says_how_to_start_one(project: Path, baton: Baton) -> None:
    for command in ("status", "logs", "resume", "cancel"):
        result = baton(command, code=2)
        assert "no executions yet; start one with `baton run WORKFLOW`" in result.stderr


def test_tables_keep_ids_whole_on_a_narrow_terminal(project: Path, baton: Baton) -> None:
    add_workflow(project, "long", """\
  steps:
    - id: a_step_with_a_rather_long_identifier
      agent_id: sh
      prompt_template: "echo {{ 'x' * 200 }}"
""")
    eid = _run(baton, "long")
    history = baton_process(project, "history", columns=50)
    assert eid in history.stdout, history.stdout
    status = baton_process(project, "status", eid[:-3], columns=90)
    assert "a_step_with_a_rather_long_identifier" in status.stdout, status.stdout
    assert "…" in status.stdout  # the other columns gave way, with an ellipsis


def test_a_failure_prints_the_command_to_resume(project: Path, baton: Baton) -> None:
    add_workflow(project, "broken", """\
  steps:
    - {id: boom, agent_id: sh, prompt_template: "exit 3"}
""")
    result = baton("run", "broken", code=1)
    eid = json.loads(baton("status", "--json").stdout)["execution_id"]
    assert "error:" in result.stderr
    lines = result.stdout.splitlines()
    assert f"next: baton resume {eid}   (after fixing the cause; see baton logs {eid} --level error)" in lines


def test_cancel_prints_the_command_to_resume(project: Path, baton: Baton) -> None:
    add_workflow(project, "slow", """\
  steps:
    - {id: nap, agent_id: sh, prompt_template: "sleep 20"}
""")
    started = json.loads(baton("run", "slow", "--detach", "--json").stdout)["execution_id"]
    result = baton("cancel", started[:-4])
    assert result.stdout.splitlines() == [f"{started}: cancelled",
                                          f"next: baton resume {started}   (completed steps are kept)"]
    deadline = time.monotonic() + 20
    while json.loads(baton("status", "--json").stdout)["status"] != "cancelled":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    again = baton("cancel", code=2)
    assert f"execution {started} already cancelled; nothing to cancel" in again.stderr


def test_an_approval_pause_is_not_an_error_and_says_what_to_type(project: Path, baton: Baton) -> None:
    add_workflow(project, "release", """\
  type: langgraph
  steps:
    - {id: build, agent_id: sh, prompt_template: "echo built"}
    - id: deploy
      agent_id: sh
      prompt_template: "echo deployed"
      approval: {message: "Deploy?"}
""")
    paused = baton("run", "release", code=3)
    eid = json.loads(baton("status", "--json").stdout)["execution_id"]
    assert "paused: waiting for approval of step deploy" in baton("status").stdout
    assert "error:" not in paused.stderr and "paused: waiting for approval of step deploy" in paused.stderr
    assert f"next: baton approve {eid}   (or add --reject --reason ...)" in paused.stdout.splitlines()
    approved = baton("approve")  # the latest execution
    assert f"step deploy approved; continuing {eid}" in approved.stderr
    assert json.loads(baton("status", "--json").stdout)["status"] == "completed"


def test_json_errors_are_json(project: Path, baton: Baton) -> None:
    result = baton("status", "zzzz", "--json", code=2)
    assert json.loads(result.stdout) == {"error": {"type": "ExecutionNotFound",
                                                   "message": "no execution 'zzzz' (see `baton history`)",
                                                   "exit_code": 2}}
    assert "error: no execution 'zzzz'" in result.stderr
