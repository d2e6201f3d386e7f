"""``baton agents list|check|add|remove`` through the real CLI app (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli.main import app
from baton.config import load_configuration
from baton.secrets import open_secret_store
from tests.fixtures.fake_model_server import FakeModelServer, Text

CONFIG = """\
version: "1.0.0"
# Agents used by the review workflow.
agents:
  sh: {provider: shell, model: bash, capabilities: [command]}   # always there
  broken:
    provider: shell
    model: bash
    capabilities: [command]
    config: {command: baton-no-such-shell}

workflows:
  hello:
    steps:
      - {id: hi, agent_id: sh, prompt_template: "echo hi"}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "baton.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_SECRETS_DIR", str(tmp_path / "secrets"))
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_list_then_check_records_status_and_health(project: Path) -> None:
    code, out = invoke("agents", "list", "--json")
    assert code == 0, out
    listed = {a["id"]: a for a in json.loads(out)}
    assert set(listed) == {"sh", "broken"}
    assert listed["sh"]["status"] == "unregistered" and listed["sh"]["last_health_check"] is None

    code, out = invoke("agents", "check", "--all", "--json")
    assert code == 1, out  # one agent failed its check
    checked = {r["id"]: r for r in json.loads(out)}
    assert checked["sh"]["ok"] and checked["sh"]["status"] == "active"
    assert not checked["broken"]["ok"] and checked["broken"]["status"] == "error"
    assert "baton-no-such-shell" in checked["broken"]["detail"]

    code, out = invoke("agents", "list", "--json")
    listed = {a["id"]: a for a in json.loads(out)}
    assert listed["sh"]["status"] == "active" and listed["sh"]["last_health_check"]
    assert listed["broken"]["status"] == "error"

    code, out = invoke("agents", "check", "sh")
    assert code == 0 and "active" in out and "ok" in out
    code, out = invoke("agents", "list")
    assert code == 0 and "LAST CHECK" in out and "never" not in out


def test_check_rejects_unknown_names(project: Path) -> None:
    code, out = invoke("agents", "check", "nope")
    assert code == 2 and "no agent named 'nope'" in out and "sh, broken" in out
    code, out = invoke("agents", "check", "sh", "--all")
    assert code == 2 and "not both" in out


def test_live_check_of_an_api_agent(project: Path) -> None:
    with FakeModelServer() as server:
        code, out = invoke(
            "agents",
            "add",
            "gpt",
            "--provider",
            "openai",
            "--model",
            "gpt-4.1",
            "--interface",
            "api",
            "--base-url",
            f"{server.url}/v1",
            "--set",
            "api_key=sk-live-check-test-99aa",
            "--capability",
            "code_review",
        )
        assert code == 0, out
        server.script("chat", Text("ok"))
        code, out = invoke("agents", "check", "gpt", "--live", "--json")
        assert code == 0, out
        [result] = json.loads(out)
        assert result["ok"] and "answered a live call" in result["detail"]
        assert len(server.requests_for("chat")) == 1
        assert "sk-live-check-test-99aa" not in out


def test_add_keeps_comments_and_validates_first(project: Path) -> None:
    code, out = invoke(
        "agents",
        "add",
        "reviewer",
        "--provider",
        "anthropic",
        "--model",
        "claude-sonnet-4-6",
        "--interface",
        "api",
        "--api-key-secret",
        "ANTHROPIC_KEY",
    )
    assert code == 2 and "baton secrets set ANTHROPIC_KEY" in out  # the reference must resolve
    open_secret_store().set("ANTHROPIC_KEY", "sk-ant-cli-add-test-31f0")
    code, out = invoke(
        "agents",
        "add",
        "reviewer",
        "--provider",
        "anthropic",
        "--model",
        "claude-sonnet-4-6",
        "--interface",
        "api",
        "--api-key-secret",
        "ANTHROPIC_KEY",
        "--capability",
        "code_review",
        "--capability",
        "security",
    )
    assert code == 0, out
    text = (project / "baton.yaml").read_text()
    assert "# Agents used by the review workflow." in text and "# always there" in text
    loaded = load_configuration(project / "baton.yaml", resolvers={})
    reviewer = loaded.configuration.agents["reviewer"]
    assert reviewer.capabilities == ["code_review", "security"]
    assert reviewer.config == {"api_key": "${secret:ANTHROPIC_KEY}"}
    assert text.index("reviewer:") < text.index("workflows:")

    before = (project / "baton.yaml").read_text()
    code, out = invoke("agents", "add", "bad", "--provider", "openai", "--model", "not-a-model")
    assert code == 2 and "baton.yaml:" in out and "agents.bad.model" in out
    assert ".edit" not in out  # the error names the real file
    assert (project / "baton.yaml").read_text() == before  # nothing written
    code, out = invoke("agents", "add", "sh", "--provider", "shell", "--model", "bash")
    assert code == 2 and "already exists" in out


def test_remove_refuses_an_agent_a_workflow_uses(project: Path) -> None:
    before = (project / "baton.yaml").read_text()
    code, out = invoke("agents", "remove", "sh")
    assert code == 2 and "sh" in out
    assert (project / "baton.yaml").read_text() == before

    invoke("agents", "check", "broken")
    code, out = invoke("agents", "remove", "broken", "--json")
    assert code == 0, out
    assert json.loads(out) == {"removed": "broken", "path": str(project / "baton.yaml"), "unregistered": True}
    text = (project / "baton.yaml").read_text()
    assert "broken" not in text and "# always there" in text
    code, out = invoke("agents", "remove", "broken")
    assert code == 2 and "not defined in this file" in out


def test_check_knows_acp_agents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``interface: acp`` presets and ``provider: acp`` agents: program on PATH, or what to install."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "my-acp-agent"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    (tmp_path / "baton.yaml").write_text(
        'version: "1.0.0"\n'
        "agents:\n"
        "  mine: {provider: acp, model: m1, interface: acp, capabilities: [x], config: {command: [my-acp-agent, --acp]}}\n"
        "  codex: {provider: openai, model: gpt-5.5, interface: acp, capabilities: [x], config: {command: no-such-codex-acp}}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    code, out = invoke("agents", "check", "--all", "--json")
    checked = {r["id"]: r for r in json.loads(out)}
    assert checked["mine"]["ok"] and "my-acp-agent --acp" in checked["mine"]["detail"]
    assert not checked["codex"]["ok"]
    assert "no-such-codex-acp" in checked["codex"]["detail"] and "@zed-industries/codex-acp" in checked["codex"]["detail"]
    assert code == 1
