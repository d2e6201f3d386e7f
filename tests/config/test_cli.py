"""``baton init`` and ``baton config validate|show|apply|history|diff`` through the real CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli.main import app
from tests.config.conftest import VALID


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project directory as cwd, with no user file, cache or agent CLI on PATH."""
    project = tmp_path / "project"
    project.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("BATON_USER_CONFIG", str(tmp_path / "no-user.yaml"))
    monkeypatch.setenv("BATON_CACHE_DIR", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in list(os.environ):
        if (name.startswith("BATON_") and "__" in name) or name == "BATON_DATABASE_URL":
            monkeypatch.delenv(name)
    return project


def _fake_cli(isolated: Path, name: str) -> Path:
    path = isolated.parent / "bin" / name
    path.write_text("#!/bin/sh\necho fake\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# -- init --------------------------------------------------------------------------------------------
def test_init_without_agent_clis_validates(isolated: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "claude" in result.stdout and "not found" in result.stdout
    text = (isolated / "baton.yaml").read_text()
    assert "# claude:" in text and "\n  claude:" not in text
    check = runner.invoke(app, ["config", "validate"])
    assert check.exit_code == 0, check.stderr
    assert check.stdout == "OK baton.yaml: version 1.0.0, 1 agent, 1 workflow\n"


def test_init_enables_agent_clis_found_on_path(isolated: Path, runner: CliRunner) -> None:
    fake = _fake_cli(isolated, "claude")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert f"found at {fake}" in result.stdout
    check = runner.invoke(app, ["config", "validate", "--json"])
    assert check.exit_code == 0, check.stderr
    assert json.loads(check.stdout)["agents"] == 2
    show = runner.invoke(app, ["config", "show", "--json", "--section", "agents.claude"])
    claude = json.loads(show.stdout)
    assert (claude["provider"], claude["interface"]) == ("anthropic", "cli")
    assert "# codex:" in (isolated / "baton.yaml").read_text()


def test_init_hello_workflow_has_a_parallel_pair_and_a_join(isolated: Path, runner: CliRunner) -> None:
    from baton.config import load_configuration

    assert runner.invoke(app, ["init"]).exit_code == 0
    wf = load_configuration(isolated / "baton.yaml").workflow("hello")
    deps = {s.id: s.dependencies for s in wf.steps}
    assert deps == {"greet": None, "files": ["greet"], "when": ["greet"], "summary": ["files", "when"]}
    assert wf.parameters["name"].default == "world"
    assert "params.name" in wf.steps[0].prompt_template


def test_init_refuses_to_overwrite_without_force(isolated: Path, runner: CliRunner) -> None:
    (isolated / "baton.yaml").write_text("mine\n")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert "already exists; pass --force" in result.stderr
    assert (isolated / "baton.yaml").read_text() == "mine\n"
    assert runner.invoke(app, ["init", "--force"]).exit_code == 0
    assert (isolated / "baton.yaml").read_text().startswith("# Baton configuration")


def test_init_into_another_directory(isolated: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["init", "--dir", "sub/project"])
    assert result.exit_code == 0, result.output
    check = runner.invoke(app, ["config", "validate", "-c", "sub/project/baton.yaml"])
    assert check.exit_code == 0, check.stderr


def test_init_then_validate_with_the_installed_entry_point(tmp_path: Path) -> None:
    env = {
        "PATH": str(tmp_path),  # no agent CLI anywhere
        "HOME": str(tmp_path),
        "BATON_USER_CONFIG": str(tmp_path / "none.yaml"),
        "BATON_CACHE_DIR": "",
    }
    cmd = [sys.executable, "-m", "baton"]
    done = subprocess.run([*cmd, "init"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*cmd, "config", "validate"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "OK baton.yaml: version 1.0.0, 1 agent, 1 workflow\n",
        "",
    )


# -- validate ---------------------------------------------------------------------------------------------
def test_validate_reports_a_located_error(isolated: Path, runner: CliRunner) -> None:
    (isolated / "baton.yaml").write_text(
        VALID.replace('prompt_template: "echo hi"', 'prompt_template: "{{ x"')
    )
    result = runner.invoke(app, ["config", "validate"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        "baton.yaml:7:31 workflows.w.steps[0].prompt_template: not a valid Jinja2"
    )
    assert result.stderr.count("\n") == 1


def test_validate_json_error(isolated: Path, runner: CliRunner) -> None:
    (isolated / "baton.yaml").write_text('version: "1.0"\n')
    result = runner.invoke(app, ["config", "validate", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert (error["file"], error["line"], error["column"], error["field"]) == ("baton.yaml", 1, 1, "version")


def test_validate_without_any_config(isolated: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["config", "validate"])
    assert result.exit_code == 2
    assert "run `baton init`" in result.stderr


def test_validate_with_set_override(isolated: Path, runner: CliRunner) -> None:
    (isolated / "baton.yaml").write_text(VALID)
    bad = runner.invoke(app, ["config", "validate", "--set", "global.max_concurrent_executions=0"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("override global.max_concurrent_executions: ")


# -- show ---------------------------------------------------------------------------------------------------
SECRETS = (
    VALID
    + """\
global:
  database_url: "postgresql://baton:${DB_PASSWORD}@127.0.0.1/baton"
  budget: {max_tokens: 5000}
agents:
  sh: {provider: shell, model: bash, capabilities: [command]}
  api:
    provider: anthropic
    model: claude-sonnet-4-5
    capabilities: [code_review]
    interface: api
    config: {api_key: "${ANTHROPIC_API_KEY}", github_token: "ghp_literal", endpoint: "https://x"}
"""
)


def test_show_masks_credentials(isolated: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret")
    monkeypatch.setenv("DB_PASSWORD", "hunter2")
    (isolated / "baton.yaml").write_text(SECRETS.replace(VALID, 'version: "1.0.0"\n'))
    for args in (["config", "show"], ["config", "show", "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
        for secret in ("sk-ant-very-secret", "hunter2", "ghp_literal"):
            assert secret not in result.stdout
        assert "***" in result.stdout
    data = json.loads(runner.invoke(app, ["config", "show", "--json"]).stdout)
    assert data["agents"]["api"]["config"] == {
        "api_key": "***",
        "github_token": "***",
        "endpoint": "https://x",
    }
    assert data["global"]["database_url"] == "postgresql://baton:***@127.0.0.1/baton"
    assert data["global"]["budget"]["max_tokens"] == 5000  # not a credential


def test_show_section_and_unknown_section(isolated: Path, runner: CliRunner) -> None:
    (isolated / "baton.yaml").write_text(VALID)
    result = runner.invoke(app, ["config", "show", "--section", "global.cache", "--json"])
    assert json.loads(result.stdout) == {"enabled": True, "ttl_seconds": 604800}
    yaml_out = runner.invoke(app, ["config", "show", "-s", "agents"])
    assert yaml_out.stdout.startswith("sh:\n  name: null\n  provider: shell\n")
    missing = runner.invoke(app, ["config", "show", "--section", "global.nope"])
    assert missing.exit_code == 2
    assert "no 'nope' in global" in missing.stderr


def test_show_invalid_config_is_one_line_exit_2(isolated: Path, runner: CliRunner) -> None:
    (isolated / "baton.yaml").write_text(
        'version: "1.0.0"\nagents:\n  sh: {provider: x, model: y, capabilities: [code_review]}\n'
    )
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "baton.yaml:3:8 agents.sh.provider: unsupported provider 'x'" in result.stderr
    assert "Traceback" not in result.output


# -- apply / history / diff against a real SQLite store --------------------------------------------------------
def test_apply_history_diff(isolated: Path, runner: CliRunner) -> None:
    config = isolated / "baton.yaml"
    config.write_text(VALID)
    applied = runner.invoke(app, ["config", "apply", "--actor", "alice"])
    assert applied.exit_code == 0, applied.stderr
    assert applied.stdout.startswith("applied version 1.0.0 (")
    assert (isolated / ".baton" / "baton.db").is_file()

    again = runner.invoke(app, ["config", "apply", "--actor", "bob", "--json"])
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["new"] is False

    config.write_text(VALID.replace("echo hi", "echo bye"))
    refused = runner.invoke(app, ["config", "apply"])
    assert refused.exit_code == 2
    assert "already applied with different content" in refused.stderr
    assert "1.0.1" in refused.stderr  # the store suggests the bump

    pending = runner.invoke(app, ["config", "diff"])
    assert pending.exit_code == 0, pending.stderr
    assert '-      - {id: a, agent_id: sh, prompt_template: "echo hi"}' in pending.stdout
    assert '+      - {id: a, agent_id: sh, prompt_template: "echo bye"}' in pending.stdout

    config.write_text(VALID.replace("echo hi", "echo bye").replace("1.0.0", "1.0.1"))
    bumped = runner.invoke(app, ["config", "apply", "--actor", "carol"])
    assert bumped.exit_code == 0, bumped.stderr

    between = runner.invoke(app, ["config", "diff", "1.0.0", "1.0.1", "--json"])
    body = json.loads(between.stdout)
    assert body["changed"] is True and '+version: "1.0.1"' in body["diff"]
    clean = runner.invoke(app, ["config", "diff"])
    assert (clean.exit_code, clean.stdout) == (0, "")
    assert "no differences" in clean.stderr

    history = json.loads(runner.invoke(app, ["config", "history", "--json"]).stdout)
    assert [v["version"] for v in history["versions"]] == ["1.0.0", "1.0.1"]
    assert [(a["actor"], a["action"], a["version"]) for a in history["audit"]] == [
        ("carol", "apply", "1.0.1"),
        ("bob", "reapply", "1.0.0"),
        ("alice", "apply", "1.0.0"),
    ]
    table = runner.invoke(app, ["config", "history"])
    assert table.exit_code == 0 and "carol" in table.stdout

    unknown = runner.invoke(app, ["config", "diff", "9.9.9"])
    assert unknown.exit_code == 2
    assert "version '9.9.9' was never applied (applied: 1.0.0, 1.0.1)" in unknown.stderr


def test_apply_refuses_an_invalid_file(isolated: Path, runner: CliRunner) -> None:
    (isolated / "baton.yaml").write_text('version: "1.0.0"\nagents: [x]\n')
    result = runner.invoke(app, ["config", "apply"])
    assert result.exit_code == 2
    assert not (isolated / ".baton" / "baton.db").exists()


def test_diff_before_any_apply(isolated: Path, runner: CliRunner) -> None:
    (isolated / "baton.yaml").write_text(VALID)
    result = runner.invoke(app, ["config", "diff"])
    assert result.exit_code == 2
    assert "no configuration version applied yet" in result.stderr
