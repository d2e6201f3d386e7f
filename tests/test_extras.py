"""A plain ``pip install baton`` leaves LangGraph, MCP and the Prometheus exporter out: a feature
that needs one says which extra to install, before anything is recorded, and the rest works.

Each check runs ``baton`` in a fresh interpreter whose import system refuses the extra's
packages, as a core install would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
blocked = set(json.loads(sys.argv[1]))

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
sys.argv = ["baton", *json.loads(sys.argv[2])]
from baton.cli.main import main
main()
"""

CORE_LEAVES_OUT = ["langgraph", "langchain_core", "langsmith", "mcp", "prometheus_client", "orjson",
                   "httpx"]

WORKFLOWS = """
  graph:
    type: langgraph
    steps:
      - {id: first, agent_id: sh, prompt_template: "echo one"}
      - {id: second, agent_id: sh, prompt_template: "echo two", next: end}
"""


def baton(cwd: Path, *argv: str, blocked: list[str] = CORE_LEAVES_OUT, env: dict[str, str] | None = None,
          stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, json.dumps(blocked), json.dumps(list(argv))],
                          cwd=cwd, capture_output=True, text=True, timeout=120, input=stdin,
                          env=None if env is None else {**os.environ, **env})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    done = baton(tmp_path, "init")
    assert done.returncode == 0, done.stderr
    config = tmp_path / "baton.yaml"
    text = config.read_text()
    config.write_text(text.replace("\nworkflows:\n", "\nworkflows:\n" + WORKFLOWS[1:], 1))
    return tmp_path


def test_core_runs_simple_workflows_and_reads_them_back(project: Path) -> None:
    run = baton(project, "run", "hello", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "completed"
    for argv in (["status"], ["history"], ["logs"], ["config", "validate"], ["workflows", "show", "hello"]):
        done = baton(project, *argv)
        assert done.returncode == 0, (argv, done.stderr)


def test_a_langgraph_workflow_names_its_extra_and_records_nothing(project: Path) -> None:
    run = baton(project, "run", "graph")
    assert run.returncode != 0
    assert "pip install 'baton[langgraph]'" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    history = baton(project, "history", "--json")
    assert json.loads(history.stdout) == []
    drawn = baton(project, "workflows", "graph", "graph")
    assert "pip install 'baton[langgraph]'" in drawn.stderr, drawn.stderr


def test_the_same_workflow_runs_with_the_extra(project: Path) -> None:
    run = baton(project, "run", "graph", "--json", blocked=[])
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "completed"


def test_mcp_and_metrics_name_their_extras(project: Path) -> None:
    serve = baton(project, "mcp", "serve")
    assert serve.returncode != 0
    assert "pip install 'baton[mcp]'" in serve.stderr, serve.stderr
    config = project / "baton.yaml"
    config.write_text(config.read_text() + "\nobservability:\n  metrics: true\n")
    run = baton(project, "run", "hello")
    assert run.returncode != 0
    assert "pip install 'baton[metrics]'" in run.stderr, run.stderr


def test_the_dashboard_draws_a_note_for_a_langgraph_workflow_without_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from baton.models import Workflow, WorkflowConfig
    from baton.ui.charts import graph

    config = WorkflowConfig.model_validate({"type": "langgraph", "steps": [
        {"id": "first", "agent_id": "sh", "prompt_template": "echo one"},
        {"id": "second", "agent_id": "sh", "prompt_template": "echo two", "next": "end"}]})
    workflow = Workflow.from_config("graph", config)
    drawn = str(graph(workflow, [], None))
    assert "<svg" in drawn and "second" in drawn
    monkeypatch.setitem(sys.modules, "langgraph", None)  # as if not installed
    note = str(graph(workflow, [], None))
    assert "<svg" not in note
    assert "pip install &#39;baton[langgraph]&#39;" in note

