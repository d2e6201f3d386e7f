"""Resuming a failed execution, and what the summary says afterwards (issue 12, items 6 and 11).

- ``baton resume`` of a failed LangGraph execution runs the failed step again, like the
  simple scheduler; the original error stays in the execution's history.
- After ``resume`` the summary shows the earlier steps' real status, not ``pending``.
- A loop's repeated step shows which pass it is on.
- A skipped step's ``next:`` routes are not evaluated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from baton.cli.main import app
from baton.models import ExecutionStatus, StepStatus

from .conftest import SHELL, MakeBaton, scripted

# fails until the file `fixed` exists in the workspace
FLAKY = "test -f fixed || { echo 'boom: database is locked' >&2; exit 1; }; echo repaired"


def three_steps(kind: str) -> dict[str, Any]:
    return {"type": kind, "steps": [
        {"id": "prepare", "agent_id": "sh", "prompt_template": "echo prepared >> ran.log"},
        {"id": "flaky", "agent_id": "sh", "prompt_template": FLAKY},
        {"id": "publish", "agent_id": "sh", "prompt_template": "echo published >> ran.log"},
    ]}


@pytest.mark.parametrize("kind", ["simple", "langgraph"])
async def test_resume_retries_the_failed_step_and_keeps_its_error(
    kind: str, make_baton: MakeBaton, tmp_path: Path
) -> None:
    baton = make_baton({"wf": three_steps(kind)})
    workspace = tmp_path / "ws"
    first = await baton.run_to_end("wf")
    assert first.status is ExecutionStatus.FAILED
    assert first.error == "step flaky failed: AgentFailed: command exited with code 1: boom: database is locked"
    assert first.steps["flaky"] is StepStatus.FAILED and first.steps["publish"] is StepStatus.SKIPPED

    (workspace / "fixed").write_text("")
    second = await baton.resume(first.execution_id).wait()
    assert second.status is ExecutionStatus.COMPLETED, second.error
    assert second.steps == {"prepare": StepStatus.COMPLETED, "flaky": StepStatus.COMPLETED,
                            "publish": StepStatus.COMPLETED}
    assert second.outputs["flaky"]["text"] == "repaired\n"
    assert (workspace / "ran.log").read_text() == "prepared\npublished\n"  # prepare ran once

    history = [row.message for row in baton.store.list_logs(first.execution_id)]
    assert any("step flaky failed" in m and "boom: database is locked" in m for m in history)
    assert not any("Error: failed" in m for m in history)


async def test_resume_without_a_fix_reports_the_real_error_again(make_baton: MakeBaton) -> None:
    baton = make_baton({"wf": three_steps("langgraph")})
    first = await baton.run_to_end("wf")
    again = await baton.resume(first.execution_id).wait()
    assert again.status is ExecutionStatus.FAILED
    assert again.error == first.error


async def test_a_skipped_steps_routes_are_not_evaluated(make_baton: MakeBaton) -> None:
    wf = {"type": "langgraph", "parameters": {"go": {"type": "boolean", "default": False}}, "steps": [
        {"id": "start", "agent_id": "sh", "prompt_template": "echo start"},
        {"id": "gate", "agent_id": "sh", "prompt_template": "exit 0", "condition": "params.go",
         "next": [{"when": "outputs.gate.exit_code == 0", "goto": "green"}, {"goto": "red"}]},
        {"id": "green", "agent_id": "sh", "prompt_template": "echo green", "next": "end"},
        {"id": "red", "agent_id": "sh", "prompt_template": "echo red", "next": "end"},
    ]}
    baton = make_baton({"wf": wf})
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert result.steps == {"start": StepStatus.COMPLETED, "gate": StepStatus.SKIPPED,
                            "green": StepStatus.SKIPPED, "red": StepStatus.SKIPPED}
    messages = [row.message for row in baton.store.list_logs(result.execution_id)]
    assert not any("TemplateRenderError" in m for m in messages)
    went = await baton.run_to_end("wf", {"go": "true"})
    assert went.steps["green"] is StepStatus.COMPLETED and went.steps["red"] is StepStatus.SKIPPED


# -- through the CLI ---------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    loop = {"type": "langgraph", "steps": [
        # red twice, then green: a test/fix loop like issue-to-pr's
        {"id": "test", "agent_id": "sh", "allow_failure": True, "max_iterations": 4,
         "prompt_template": "echo x >> runs; test $(wc -l < runs) -ge 3",
         "next": [{"when": "succeeded('test')", "goto": "end"}, {"goto": "fix"}]},
        {"id": "fix", "agent_id": "bot", "prompt_template": "fix it", "next": "test"},
    ]}
    config = {
        "version": "1.0.0",
        "global": {"workspace_dir": str(ws), "cache": {"enabled": False}},
        "agents": {"sh": SHELL, "bot": scripted(script=[{"reply": "fixed"}])},
        "workflows": {"three": three_steps("langgraph"), "loop": loop},
    }
    (tmp_path / "baton.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return ws


def row(table: str, step: str) -> str:
    """The summary table's line for ``step``."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1] == step:
            return line
    raise AssertionError(f"no row for {step} in:\n{table}")


def test_summary_after_resume_shows_earlier_steps_as_they_ended(project: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["run", "three"])
    assert first.exit_code == 1, first.output
    execution_id = re.search(r"baton logs (\S+)", first.stdout).group(1)  # type: ignore[union-attr]
    (project / "fixed").write_text("")
    resumed = runner.invoke(app, ["resume", execution_id])
    assert resumed.exit_code == 0, resumed.output
    assert "completed" in row(resumed.stdout, "prepare") and "pending" not in resumed.stdout
    assert "completed" in row(resumed.stdout, "flaky")
    assert "completed" in row(resumed.stdout, "publish")
    status = json.loads(runner.invoke(app, ["status", execution_id, "--json"]).stdout)
    assert [(s["step_id"], s["status"]) for s in status["steps"]] == [
        ("prepare", "completed"), ("flaky", "completed"), ("publish", "completed")]


def test_summary_shows_the_last_pass_of_a_loop(project: Path) -> None:
    ran = CliRunner().invoke(app, ["run", "loop"])
    assert ran.exit_code == 0, ran.output
    test_row = row(ran.stdout, "test")
    assert "completed" in test_row and "pass 3" in test_row, ran.stdout
    assert "pass 2" in row(ran.stdout, "fix")
