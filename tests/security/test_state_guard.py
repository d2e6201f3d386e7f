"""Agents cannot change Baton's own state or configuration (issue 11, item 6).

A writing step whose agent edits ``baton.yaml`` or anything in ``.baton/`` (other than the
database, artifacts and worktrees Baton itself writes) fails loudly, and the files are put
back as they were; the agent's other changes stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.support import API_KEY, FAST_FAIL, MODELS, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text, ToolCall

from .project import baton, configure, new_project


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


def test_a_scripted_agent_editing_batons_files_fails_and_is_reverted(tmp_path: Path) -> None:
    repo = new_project(tmp_path / "project")
    configure(repo, {"coder": {"provider": "scripted", "model": "echo", "capabilities": ["coding"],
                               "config": {"acts_on_workspace": True, "script": [{"reply": "done", "write": {
                                   "src/app.py": "print(1)\n",
                                   "baton.yaml": "version: '9.9.9'\n",
                                   ".baton/workflows/evil.yaml": "workflows: {}\n"}}]}}},
              {"impl": {"steps": [{"id": "code", "agent_id": "coder", "prompt_template": "go",
                                   "writes_workspace": True}]}})
    config = (repo / "baton.yaml").read_text()
    done = baton(repo, "run", "impl", "--json")
    assert done.returncode != 0
    assert "changed Baton's own configuration or state" in done.stdout
    assert "baton.yaml" in done.stdout and "evil.yaml" in done.stdout and "(reverted)" in done.stdout
    assert (repo / "baton.yaml").read_text() == config
    assert not (repo / ".baton" / "workflows" / "evil.yaml").exists()
    assert (repo / "src" / "app.py").read_text() == "print(1)\n"  # its other work stays
    assert baton(repo, "config", "validate").returncode == 0


@pytest.mark.cli_agents
def test_a_real_cli_writing_into_dot_baton_fails_the_step(server: FakeModelServer, tmp_path: Path) -> None:
    require_cli("claude")
    repo = new_project(tmp_path / "project")
    provider, model = MODELS["claude"]
    configure(repo, {"claude": {"provider": provider, "model": model, "capabilities": ["coding"],
                                "config": {"base_url": server.url, "api_key": API_KEY, **FAST_FAIL["claude"]}}},
              {"impl": {"steps": [{"id": "code", "agent_id": "claude", "prompt_template": "go",
                                   "writes_workspace": True}]}})
    target = repo / ".baton" / "mcp" / "servers.json"
    server.script("anthropic", ToolCall("Write", {"file_path": str(target), "content": "{}\n"}), Text("done"))
    done = baton(repo, "run", "impl", "--json")
    assert done.returncode != 0, done.stdout
    assert "changed Baton's own configuration or state" in done.stdout and "servers.json" in done.stdout
    assert not target.exists()
