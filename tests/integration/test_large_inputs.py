"""A step's text over what one argv item holds (128 KiB on Linux) reaches the shell and the CLIs whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agents.support import API_KEY, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text
from tests.integration.userpath import Project

SIZE = 300 * 1024
BIG = {"id": "big", "agent_id": "sh",
       "prompt_template": f"head -c {SIZE} /dev/zero | tr '\\0' a; echo; echo END-OF-BLOB"}


def test_shell_step_takes_a_300_kib_script(tmp_path: Path) -> None:
    project = Project.init(tmp_path / "repo")
    project.configure(workflows={"large": {"steps": [
        BIG,
        {"id": "count", "agent_id": "sh",
         "prompt_template": "printf '%s' {{ outputs.big.text }} | wc -c"},
    ]}})
    out = project.baton("run", "large", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "completed", result
    assert int(result["outputs"]["count"]["text"].strip()) == len(result["outputs"]["big"]["text"])
    assert len(result["outputs"]["big"]["text"]) > SIZE


@pytest.mark.cli_agents
@pytest.mark.parametrize("cli", ["claude", "codex"])
def test_cli_gets_a_300_kib_prompt_whole(tmp_path: Path, cli: str) -> None:
    require_cli(cli)
    provider, model, api = {"claude": ("anthropic", "claude-sonnet-4-5", "anthropic"),
                            "codex": ("openai", "gpt-5.5", "responses")}[cli]
    project = Project.init(tmp_path / "repo")
    with FakeModelServer() as server:
        server.default(api, Text("summarised"))
        project.configure(
            agents={cli: {"provider": provider, "model": model, "interface": "cli",
                          "capabilities": ["coding"],
                          "config": {"base_url": server.url, "api_key": API_KEY}}},
            workflows={"large": {"steps": [
                BIG,
                {"id": "ask", "agent_id": cli, "dependencies": ["big"],
                 "prompt_template": "Summarise this:\n{{ outputs.big.text }}"},
            ]}})
        out = project.baton("run", "large", "--json", "--no-cache")
        assert out.returncode == 0, out.stderr + out.stdout
        result = json.loads(out.stdout)
        assert result["status"] == "completed", result
        assert result["outputs"]["ask"]["text"].strip() == "summarised"
        bodies = [json.dumps(r.body) for r in server.requests_for(api)]
        assert any("END-OF-BLOB" in body and "a" * SIZE in body for body in bodies), \
            "the model never saw the whole prompt"
