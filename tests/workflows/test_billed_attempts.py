"""Every billed attempt counts, and a budget holds (issue 12, item 1).

The real ``claude`` CLI against the fake model server, through ``baton run`` / ``baton
status`` / ``baton usage`` in a project: claude reports ``total_cost_usd`` for every call
in its transcript, and those are the numbers Baton must show — for answers that failed
validation and were retried too. A budget stops a parallel pair within one call's increment,
and stops a running agent as soon as the usage it streams crosses the limit.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from baton.cli.main import app
from tests.agents.support import API_KEY, FAST_FAIL, MODELS, TOOLS_BIN, processes_with, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Hang, Text, ToolCall

pytestmark = pytest.mark.cli_agents

VERDICT = {"type": "object", "required": ["verdict"], "properties": {"verdict": {"type": "string"}}}


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    if TOOLS_BIN.is_dir() and str(TOOLS_BIN) not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = f"{TOOLS_BIN}:{os.environ.get('PATH', os.defpath)}"
    with FakeModelServer() as fake:
        yield fake


def project(tmp_path: Path, server: FakeModelServer, workflow: dict[str, Any], marker: str = "",
            **global_: Any) -> Path:
    require_cli("claude")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "README.md").write_text("# a project\n")
    provider, model = MODELS["claude"]
    env = {**FAST_FAIL["claude"]["env"], **({"BATON_TEST_MARKER": marker} if marker else {})}
    config = {
        "version": "1.0.0",
        "global": {"workspace_dir": str(ws), "cache": {"enabled": False}, **global_},
        "agents": {"claude": {"provider": provider, "model": model, "capabilities": ["code_review"],
                              "config": {"base_url": server.url, "api_key": API_KEY, "env": env}}},
        "workflows": {"wf": workflow},
    }
    (tmp_path / "baton.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path


def invoke(root: Path, *args: str) -> Any:
    cwd = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(cwd)
    return result


def transcript_costs(artifacts: Path) -> list[float]:
    """``total_cost_usd`` of every call claude finished, from its own transcripts."""
    costs = []
    for path in sorted(artifacts.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            obj = json.loads(line) if line.startswith("{") else {}
            if obj.get("type") == "result":
                costs.append(float(obj["total_cost_usd"]))
    return costs


def test_invalid_answers_that_were_retried_are_counted(tmp_path: Path, server: FakeModelServer) -> None:
    # each claude call that answers text instead of the structured output makes two requests
    # (claude asks once more itself); two such calls, then a valid structured answer
    server.script("anthropic", *[Text("this is not json") for _ in range(4)],
                  ToolCall("StructuredOutput", {"verdict": "approve"}), Text("done"))
    workflow = {"steps": [{
        "id": "judge", "agent_id": "claude", "prompt_template": "judge the change",
        "output_schema": VERDICT,
        "retry_policy": {"max_attempts": 3, "backoff_seconds": 0, "retry_on": ["invalid_output"]},
    }]}
    root = project(tmp_path, server, workflow)
    ran = invoke(root, "run", "wf", "--json")
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.stdout)
    assert result["status"] == "completed"
    assert result["outputs"]["judge"]["json"] == {"verdict": "approve"}

    costs = transcript_costs(Path(result["artifacts_dir"]))
    assert len(costs) == 3 and all(c > 0 for c in costs), costs
    billed = sum(costs)
    assert result["cost_usd"] == pytest.approx(billed, abs=1e-6)
    assert result["outputs"]["judge"]["cost_usd"] == pytest.approx(billed, abs=1e-6)
    assert result["usage"]["input_tokens"] > 0

    status = json.loads(invoke(root, "status", result["execution_id"], "--json").stdout)
    assert status["cost_usd"] == pytest.approx(billed, abs=1e-6)
    usage = json.loads(invoke(root, "usage", "--json").stdout)
    assert usage["total"]["calls"] == 3
    assert usage["total"]["cost_usd"] == pytest.approx(billed, abs=1e-6)


def test_a_step_that_never_answers_validly_still_costs(tmp_path: Path, server: FakeModelServer) -> None:
    server.default("anthropic", Text("still not json"))
    workflow = {"steps": [{
        "id": "judge", "agent_id": "claude", "prompt_template": "judge the change",
        "output_schema": VERDICT,
        "retry_policy": {"max_attempts": 2, "backoff_seconds": 0, "retry_on": ["invalid_output"]},
    }]}
    root = project(tmp_path, server, workflow)
    ran = invoke(root, "run", "wf", "--json")
    assert ran.exit_code == 1, ran.output
    result = json.loads(ran.stdout)
    assert result["status"] == "failed" and "InvalidOutput" in result["error"]
    costs = transcript_costs(Path(result["artifacts_dir"]))
    assert len(costs) == 2 and all(c > 0 for c in costs), costs
    assert result["cost_usd"] == pytest.approx(sum(costs), abs=1e-6)
    assert result["outputs"]["judge"]["cost_usd"] == pytest.approx(sum(costs), abs=1e-6)
    assert result["usage"]["input_tokens"] > 0
    usage = json.loads(invoke(root, "usage", "--json").stdout)
    assert usage["total"]["calls"] == 2
    assert usage["total"]["cost_usd"] == pytest.approx(sum(costs), abs=1e-6)


def test_budget_stops_a_parallel_pair_within_one_call(tmp_path: Path, server: FakeModelServer) -> None:
    server.default("anthropic", Text("looks fine"))
    workflow = {"steps": [
        {"id": "left", "agent_id": "claude", "prompt_template": "review the left half", "dependencies": []},
        {"id": "right", "agent_id": "claude", "prompt_template": "review the right half", "dependencies": []},
    ]}
    root = project(tmp_path, server, workflow, budget={"max_cost_usd": 0.0003})
    ran = invoke(root, "run", "wf", "--json")
    assert ran.exit_code == 1, ran.output
    result = json.loads(ran.stdout)
    assert result["status"] == "failed" and "budget exceeded" in result["error"]
    # one call's worth at most: 120 input + 30 output tokens of claude-sonnet-4-5 = $0.00081
    one_call = (120 * 3 + 30 * 15) / 1_000_000
    assert 0.0003 <= result["cost_usd"] <= 0.0003 + one_call
    assert len(server.requests_for("anthropic")) == 1  # the second reviewer never started
    usage = json.loads(invoke(root, "usage", "--json").stdout)
    assert usage["total"]["cost_usd"] == pytest.approx(result["cost_usd"], abs=1e-6)


def test_budget_stops_a_running_agent_when_its_streamed_usage_crosses_it(
    tmp_path: Path, server: FakeModelServer
) -> None:
    # the first turn asks for a tool (100 input tokens: $0.0003 on claude-sonnet-4-5); the
    # second request would never be answered: only the budget can end this step quickly
    server.script("anthropic", ToolCall("Read", {"file_path": "README.md"}), Hang())
    marker = f"budget-{time.monotonic_ns()}"
    workflow = {"steps": [{"id": "work", "agent_id": "claude", "prompt_template": "read the readme",
                           "timeout_seconds": 300}]}
    root = project(tmp_path, server, workflow, marker=marker, budget={"max_cost_usd": 0.0003})
    started = time.monotonic()
    ran = invoke(root, "run", "wf", "--json")
    elapsed = time.monotonic() - started
    assert ran.exit_code == 1, ran.output
    result = json.loads(ran.stdout)
    assert "budget exceeded while claude was running" in result["error"]
    assert elapsed < 60
    assert 0.0003 <= result["cost_usd"] < 0.0004  # the streamed turn, not a second one
    assert processes_with(marker) == []  # the agent was stopped, not left running
    usage = json.loads(invoke(root, "usage", "--json").stdout)
    assert usage["total"]["cost_usd"] == pytest.approx(result["cost_usd"], abs=1e-6)
