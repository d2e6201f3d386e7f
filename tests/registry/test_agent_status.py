"""What ``baton agents check`` says is true, and runs honour it (issue 12, item 3).

- The real ``claude`` CLI with no login (an empty HOME, no key) is not ``ok``: the check
  fails with "not logged in" and records ERROR; with a key it is ``ok`` and says how it
  knows; a CLI pointed at an endpoint says its key is not verified without ``--live``.
- An agent in ERROR or INACTIVE is not used: a run falls back to the step's fallback agent,
  or is refused with the reason and the alternatives.
- ``baton agents disable`` / ``enable`` follow the seed's Agent state machine; the expected
  transitions are written out here, not taken from the code's table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from baton.cli.main import app
from tests.agents.support import TOOLS_BIN, require_cli


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    if TOOLS_BIN.is_dir():
        monkeypatch.setenv("PATH", f"{TOOLS_BIN}:{os.environ.get('PATH', os.defpath)}")
    monkeypatch.setenv("HOME", str(home))  # a user who never logged in
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "CLAUDE_")):
            monkeypatch.delenv(name)
    config = {
        "version": "1.0.0",
        "global": {"workspace_dir": str(tmp_path), "cache": {"enabled": False}},
        "agents": {
            "claude": {"provider": "anthropic", "model": "claude-sonnet-4-5", "capabilities": ["code_review"]},
            "bot": {"provider": "scripted", "model": "echo", "capabilities": ["code_review"],
                    "config": {"script": [{"reply": "reviewed by bot"}]}},
            "sh": {"provider": "shell", "model": "bash", "capabilities": ["command"]},
        },
        "workflows": {
            "review": {"steps": [{"id": "r", "agent_id": "claude", "prompt_template": "review",
                                  "retry_policy": {"fallback_agents": ["bot"]}}]},
            "strict": {"steps": [{"id": "r", "agent_id": "claude", "prompt_template": "review"}]},
            "bot-only": {"steps": [{"id": "r", "agent_id": "bot", "prompt_template": "review"}]},
        },
    }
    (tmp_path / "baton.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def status_of(agent: str) -> str:
    listed = {a["id"]: a for a in json.loads(invoke("agents", "list", "--json").stdout)}
    return str(listed[agent]["status"])


def test_a_cli_that_is_not_logged_in_is_not_ok(project: Path) -> None:
    require_cli("claude")
    checked = invoke("agents", "check", "claude", "--json")
    assert checked.exit_code == 1, checked.output
    result = json.loads(checked.stdout)[0]
    assert result["ok"] is False and result["status"] == "error"
    assert "not logged in" in result["detail"] and "claude /login" in result["detail"]
    assert status_of("claude") == "error"


def test_a_cli_with_a_key_is_ok_and_says_how_it_knows(project: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    require_cli("claude")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-baton-test-not-a-real-key")
    checked = invoke("agents", "check", "claude", "--json")
    assert checked.exit_code == 0, checked.output
    detail = json.loads(checked.stdout)[0]["detail"]
    assert "logged in (ANTHROPIC_API_KEY, per `claude auth status`); not tried without --live" in detail


def test_an_agent_in_error_is_not_used(project: Path) -> None:
    require_cli("claude")
    assert invoke("agents", "check", "claude").exit_code == 1  # ERROR: not logged in
    ran = invoke("run", "review", "--json")
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.stdout)
    assert result["outputs"]["r"]["agent_id"] == "bot"  # the fallback, claude never started
    refused = invoke("run", "strict")
    assert refused.exit_code != 0
    assert "agent 'claude' failed its last health check" in refused.output
    assert "baton agents check claude" in refused.output
    assert "bot" in refused.output  # the alternative with its capabilities


def test_disable_and_enable_follow_the_agent_state_machine(project: Path) -> None:
    # UNREGISTERED -> REGISTERING -> ACTIVE (check) -> INACTIVE (disable) -> ACTIVE (enable)
    assert status_of("bot") == "unregistered"
    refused = invoke("agents", "disable", "bot")
    assert refused.exit_code == 2 and "not registered yet" in refused.output
    assert invoke("agents", "check", "bot").exit_code == 0
    assert status_of("bot") == "active"
    assert json.loads(invoke("agents", "disable", "bot", "--json").stdout) == {"id": "bot", "status": "inactive"}
    assert status_of("bot") == "inactive"

    blocked = invoke("run", "bot-only")
    assert blocked.exit_code != 0 and "agent 'bot' is disabled" in blocked.output
    assert "baton agents enable bot" in blocked.output
    # a health check of a disabled agent records the check, the agent stays INACTIVE
    assert invoke("agents", "check", "bot").exit_code == 0
    assert status_of("bot") == "inactive"

    assert json.loads(invoke("agents", "enable", "bot", "--json").stdout) == {"id": "bot", "status": "active"}
    ran = invoke("run", "bot-only", "--json")
    assert ran.exit_code == 0 and json.loads(ran.stdout)["outputs"]["r"]["text"] == "reviewed by bot"
    again = invoke("agents", "enable", "bot")
    assert again.exit_code == 2 and "not disabled" in again.output
