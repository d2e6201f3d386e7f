"""A baton.yaml with gemini, copilot, claude and codex over ACP, run through ``baton run``.

Each agent answers, one writes a file in a writing step, and each is refused the same
write in a read-only step; every decision is a ``agent.permission`` log row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agents.support import API_KEY, FAST_FAIL, MODELS, require_cli
from tests.agents.test_acp_agents import SPECS
from tests.fixtures.fake_model_server import FakeModelServer, Text

pytestmark = pytest.mark.cli_agents


def _baton(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)


def test_four_acp_agents_answer_write_and_are_refused(fake_model_server: FakeModelServer,
                                                      git_workspace: Path) -> None:
    for spec in SPECS.values():
        require_cli(spec.program)
    agents: dict[str, Any] = {}
    steps: list[dict[str, Any]] = []
    previous: str | None = None
    for name, spec in SPECS.items():
        provider, model = MODELS[name]
        agents[name] = {"provider": provider, "model": model, "interface": "acp", "capabilities": ["code_review"],
                        "config": {"base_url": fake_model_server.url, "api_key": "${FAKE_MODEL_KEY}",
                                   **FAST_FAIL[name]}}
        answer = {"id": f"{name}-answer", "agent_id": name, "prompt_template": "say hello",
                  "timeout_seconds": 240}
        if previous:
            answer["dependencies"] = [previous]
        refused = {"id": f"{name}-readonly", "agent_id": name, "prompt_template": "create hello.txt",
                   "timeout_seconds": 240, "dependencies": [answer["id"]]}
        steps += [answer, refused]
        previous = refused["id"]
        fake_model_server.script(spec.api, Text(f"{name} answers"), spec.write_call(git_workspace),
                                 Text(f"{name} was refused"))
    steps.append({"id": "gemini-writes", "agent_id": "gemini", "prompt_template": "create hello.txt",
                  "writes_workspace": True, "timeout_seconds": 240, "dependencies": [previous]})
    fake_model_server.script("gemini", SPECS["gemini"].write_call(git_workspace), Text("gemini wrote it"))
    (git_workspace / "baton.yaml").write_text(yaml.safe_dump({
        "version": "1.0.0", "agents": agents, "workflows": {"acp-all": {"steps": steps}}}))
    env = {**os.environ, "FAKE_MODEL_KEY": API_KEY}
    env.pop("CI", None)

    run = _baton(git_workspace, "run", "acp-all", "--json", env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert result["status"] == "completed"
    workspace = Path(result["workspace_dir"])
    for name in SPECS:
        assert result["outputs"][f"{name}_answer"]["text"] == f"{name} answers"
        out = result["outputs"][f"{name}_readonly"]
        assert out["status"] == "completed"
        assert out["files_changed"] == []
        assert [d["decision"] for d in out["metadata"]["permissions"]] == ["reject"] * len(
            out["metadata"]["permissions"]) and out["metadata"]["permissions"]
    writer = result["outputs"]["gemini_writes"]
    assert writer["files_changed"] == ["hello.txt"] and writer["text"] == "gemini wrote it"
    assert (workspace / "hello.txt").read_text() == "hi\n"
    assert "+hi" in (writer["metadata"]["diff"] or "")

    logs = _baton(git_workspace, "logs", result["execution_id"], "--json", env=env)
    assert logs.returncode == 0, logs.stderr[-2000:]
    rows = json.loads(logs.stdout)
    decisions = [r for r in rows if (r.get("metadata") or {}).get("event") == "agent.permission"]
    by_step = {(r["step_id"], r["metadata"]["decision"]) for r in decisions}
    for name in SPECS:
        assert (f"{name}-readonly", "reject") in by_step
    assert ("gemini-writes", "allow") in by_step
    assert all(r["level"] == "warning" for r in decisions if r["metadata"]["decision"] == "reject")
    assert API_KEY not in logs.stdout + run.stdout
