"""``allow_failure: true``: a failure that does not fail the workflow (issue 12, item 5).

The README's example is run as written, through ``baton run`` / ``baton status``: the
allowed step is failed, ``failed('test')`` is true, the "on failure" step runs, and the
execution completes.
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

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> list[dict[str, Any]]:
    """The steps of the README's ``allow_failure`` example, exactly as printed there."""
    text = README.read_text(encoding="utf-8")
    start = text.index("- `allow_failure: true`")
    block = re.search(r"```yaml\n(.*?)```", text[start:], re.DOTALL)
    assert block is not None, "the README lost its allow_failure example"
    steps: list[dict[str, Any]] = yaml.safe_load(block.group(1))["steps"]
    return steps


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose workspace has a failing pytest suite; ``claude`` is scripted to echo."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "test_math.py").write_text("def test_add():\n    assert 1 + 1 == 3\n")
    config = {
        "version": "1.0.0",
        "global": {"workspace_dir": str(ws), "cache": {"enabled": False}},
        "agents": {"sh": SHELL, "claude": scripted(script=[{"echo": True}])},
        "workflows": {"check": {"steps": readme_example()}},
    }
    (tmp_path / "baton.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_example_runs_the_on_failure_step(project: Path) -> None:
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "check", "--json"])
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.stdout)
    assert result["status"] == "completed"
    assert {s["step_id"]: s["status"] for s in result["steps"]} == {"test": "failed", "triage": "completed"}
    assert result["outputs"]["test"]["exit_code"] == 1
    assert "1 failed" in result["outputs"]["test"]["text"]
    triage = result["outputs"]["triage"]["text"]
    assert triage.startswith("The tests fail (exit 1):") and "FAILED test_math.py::test_add" in triage

    shown = runner.invoke(app, ["status", result["execution_id"], "--json"])
    steps = {s["step_id"]: s for s in json.loads(shown.stdout)["steps"]}
    assert steps["test"]["status"] == "failed" and steps["test"]["allowed_failure"] is True
    assert steps["triage"]["status"] == "completed" and steps["triage"]["allowed_failure"] is False
    table = runner.invoke(app, ["status", result["execution_id"]])
    assert re.search(r"test\s+│\s+failed \(allowed\)", table.stdout), table.stdout


def test_without_a_failure_the_on_failure_step_is_skipped(project: Path) -> None:
    (project / "ws" / "test_math.py").write_text("def test_add():\n    assert 1 + 1 == 2\n")
    ran = CliRunner().invoke(app, ["run", "check", "--json"])
    assert ran.exit_code == 0, ran.output
    ran_steps = {s["step_id"]: s["status"] for s in json.loads(ran.stdout)["steps"]}
    assert ran_steps == {"test": "completed", "triage": "skipped"}


async def test_allowed_failure_in_both_engines(make_baton: MakeBaton) -> None:
    steps = [
        {"id": "lint", "agent_id": "sh", "prompt_template": "echo 3 issues; exit 2", "allow_failure": True},
        {"id": "on_failure", "agent_id": "bot", "prompt_template": "lint said {{ outputs.lint.text | trim }}",
         "dependencies": ["lint"], "condition": "failed('lint')"},
        {"id": "on_success", "agent_id": "bot", "prompt_template": "clean",
         "dependencies": ["lint"], "condition": "succeeded('lint')"},
        {"id": "after", "agent_id": "bot", "prompt_template": "after {{ status('lint') }}",
         "dependencies": ["lint"]},
    ]
    baton = make_baton({"simple": {"steps": steps},
                        "graph": {"type": "langgraph", "steps": steps}},
                       agents={"sh": SHELL, "bot": scripted(script=[{"echo": True}])})
    for wf in ("simple", "graph"):
        result = await baton.run_to_end(wf)
        assert result.status is ExecutionStatus.COMPLETED, (wf, result.error)
        assert result.steps == {"lint": StepStatus.FAILED, "on_failure": StepStatus.COMPLETED,
                                "on_success": StepStatus.SKIPPED, "after": StepStatus.COMPLETED}, wf
        assert result.outputs["lint"]["exit_code"] == 2
        assert result.outputs["on_failure"]["text"] == "lint said 3 issues"
        assert result.outputs["after"]["text"] == "after failed"


async def test_a_failure_not_allowed_still_fails_the_workflow(make_baton: MakeBaton) -> None:
    steps = [{"id": "lint", "agent_id": "sh", "prompt_template": "exit 2"},
             {"id": "after", "agent_id": "sh", "prompt_template": "echo after", "dependencies": ["lint"]}]
    result = await make_baton({"wf": {"steps": steps}}).run_to_end("wf")
    assert result.status is ExecutionStatus.FAILED
    assert result.steps == {"lint": StepStatus.FAILED, "after": StepStatus.SKIPPED}
