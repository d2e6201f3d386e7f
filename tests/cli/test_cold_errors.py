"""Ordinary mistakes on a newcomer's path get an error that names the flag they typed."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Baton, add_workflow, baton_process


def test_gc_bad_older_than_names_that_flag(baton: Baton) -> None:
    result = baton("gc", "--dry-run", "--older-than", "soon", code=2)
    assert "--older-than 'soon': expected a span like 7d" in result.stderr
    assert "--since" not in result.stderr


def test_usage_bad_since_names_since(baton: Baton) -> None:
    assert "--since 'soon': expected a span" in baton("usage", "--since", "soon", code=2).stderr


def test_history_on_an_80_column_pipe_shows_whole_statuses(project: Path, baton: Baton) -> None:
    baton("run", "hello")
    summary = json.loads(baton("history", "--json").stdout)[0]
    history = baton_process(project, "history", columns=80)
    row = next(line for line in history.stdout.splitlines() if "hel" in line)
    assert "completed" in row, history.stdout
    # the whole id, the workflow and when it started (hour:minute today, like ps) all fit
    start = datetime.fromisoformat(summary["start_time"]).astimezone(UTC)
    assert summary["execution_id"] in row and " hello " in row and f" {start:%H:%M} " in row, history.stdout
    assert "…" not in history.stdout and max(map(len, history.stdout.splitlines())) <= 80


def test_pr_fix_without_github_says_which_half_is_missing(
    project: Path, baton: Baton, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("langgraph")
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_REPOSITORY", "BATON_GITHUB_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    text = (project / "baton.yaml").read_text().replace(
        "agents:\n", "agents:\n  bot: {provider: scripted, model: echo, capabilities: [coding, code_review]}\n", 1)
    (project / "baton.yaml").write_text(text)
    # a fresh repository has no origin: Baton cannot know the repository, and says how to name it
    no_repo = baton("run", "pr-fix", "--pr", "12", code=2).stderr
    assert "Baton cannot tell which GitHub repository this is: set GITHUB_REPOSITORY=OWNER/NAME, " \
        "pass --github-repo OWNER/NAME, or add a GitHub remote named origin" in no_repo, no_repo
    assert "parameters.github_repo" not in no_repo
    git = ["git", "remote", "add", "origin", "https://github.com/octo/demo.git"]
    subprocess.run(git, cwd=project, check=True)
    no_token = baton("run", "pr-fix", "--pr", "12", code=2).stderr
    assert "no GitHub credentials: set GITHUB_TOKEN" in no_token and "repository" not in no_token, no_token


def test_every_command_but_init_and_secrets_takes_config() -> None:
    import typer.main

    from baton.cli.main import app

    def leaves(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
        if not hasattr(command, "list_commands"):
            return [(path, command)]
        ctx = command.context_class(command)
        subs = [(name, command.get_command(ctx, name)) for name in command.list_commands(ctx)]
        return [leaf for name, sub in subs if sub is not None for leaf in leaves(sub, (*path, name))]

    exempt = {("init",), ("secrets", "set"), ("secrets", "list"), ("secrets", "remove")}
    found = leaves(typer.main.get_command(app), ())
    without = {path for path, command in found
               if not any("--config" in p.opts for p in command.params)}
    assert len(found) > 30 and without == exempt, sorted(without)


def test_under_json_every_error_is_json_on_stdout(baton: Baton) -> None:
    baton("run", "hello")
    cases = [
        (("status", "nosuch"), "ExecutionNotFound", "no execution 'nosuch'"),
        (("usage", "--since", "7x"), "InvalidInput", "--since '7x': expected a span"),
        (("gc", "--older-than", "soon"), "InvalidInput", "--older-than 'soon': expected a span"),
        (("diff", "--step", "nosuch"), "InvalidInput", "has no step 'nosuch'"),
        (("run", "hello", "-p", "name"), "InvalidInput", "-p 'name': expected key=value"),
        (("agents", "check", "nosuch"), "InvalidInput", "no agent named 'nosuch'"),
    ]
    for args, kind, text in cases:
        result = baton(*args, "--json", code=2)
        error = json.loads(result.stdout)["error"]
        assert (error["type"], error["exit_code"]) == (kind, 2) and text in error["message"], (args, result.stdout)
        assert text in result.stderr  # the one line for a person stays on stderr


def test_under_json_a_usage_error_is_json_on_stdout_too(baton: Baton) -> None:
    cases = [
        (("logs", "--level", "bogus"), "Invalid value for '--level'"),
        (("history", "--limit", "x"), "Invalid value for '--limit'"),
        (("history", "--nope"), "No such option: --nope"),
        (("agents", "check", "--nope"), "No such option: --nope"),
    ]
    for args, text in cases:
        result = baton(*args, "--json", code=2)
        error = json.loads(result.stdout)["error"]
        assert (error["type"], error["exit_code"]) == ("UsageError", 2) and text in error["message"], result.stdout
        assert text in result.stderr  # Click's text for a person stays on stderr
    without = baton("history", "--nope", code=2)
    assert without.stdout == "" and "No such option: --nope" in without.stderr


def test_config_show_and_logs_mask_a_secret_the_same_way(project: Path, baton: Baton) -> None:
    from baton.observability.redact import MASK

    text = (project / "baton.yaml").read_text().replace(
        "    capabilities: [command]\n", "    capabilities: [command]\n    config: {api_key: sk-literal-secret-123}\n", 1)
    (project / "baton.yaml").write_text(text)
    add_workflow(project, "leak", """\
  steps:
    - {id: say, agent_id: sh, prompt_template: "echo key=sk-literal-secret-123"}
""")
    shown = baton("config", "show").stdout
    baton("run", "leak")
    logs = baton("logs", "--level", "debug").stdout
    assert f"api_key: '{MASK}'" in shown, shown
    assert f"key={MASK}" in logs, logs
    assert MASK == "***" and "****" not in shown + logs, shown + logs
    assert "sk-literal-secret-123" not in logs
