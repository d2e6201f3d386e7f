"""Item 4 of the first hour: parameters are discoverable (`run WF --help`, `workflows show`),
built-ins are listed with what they need, `baton doctor` explains each problem in one line,
and shell completion installs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Baton, add_workflow


def test_run_help_lists_the_workflows_parameters(project: Path, baton: Baton) -> None:
    add_workflow(project, "greet", """\
  parameters:
    who: {type: string, required: true, description: Whom to greet}
    times: {type: integer, default: 2, description: How many greetings}
  steps:
    - {id: say, agent_id: sh, prompt_template: "echo {{ params.who }}"}
""")
    out = baton("run", "greet", "--help").stdout
    assert "Usage: baton run" in out
    assert "Parameters of greet (give them as --name value or -p name=value):" in out
    rows = [line for line in out.splitlines() if line.startswith("│ --")]
    assert any("--who" in r and "(required)" in r and "Whom to greet" in r for r in rows), out
    assert any("--times" in r and "integer" in r and "2" in r and "How many greetings" in r for r in rows), out
    assert "Parameters of" not in baton("run", "--help").stdout
    add_workflow(project, "plain", """\
  steps:
    - {id: say, agent_id: sh, prompt_template: "echo hi"}
""")
    assert "plain takes no parameters." in baton("run", "plain", "-h").stdout
    assert "which workflow?" in baton("run", code=2).stderr


def test_builtins_are_listed_with_what_they_need(project: Path, baton: Baton) -> None:
    rows = {r["id"]: r for r in json.loads(baton("workflows", "list", "--json").stdout)}
    assert rows["hello"]["builtin"] is False and rows["hello"]["runnable"] is True
    assert rows["hello"]["parameters"][0]["name"] == "name"
    review = rows["code-review"]
    assert review["builtin"] is True and review["runnable"] is False
    assert review["needs"] == ["1 more agent (capability code_review) for reviewers"]
    assert {"base", "pr", "focus"} <= {p["name"] for p in review["parameters"]}
    table = baton("workflows", "list").stdout
    assert "code-review needs 1 more agent (capability code_review) for reviewers: add one with" in table
    shown = baton("workflows", "show", "code-review").stdout
    assert "--focus" in shown and "not runnable here: needs 1 more agent" in shown
    help_text = baton("run", "code-review", "--help").stdout
    assert "Parameters of code-review" in help_text and "--max-group-bytes" in help_text


def test_workflows_show_lists_parameters(project: Path, baton: Baton) -> None:
    out = baton("workflows", "show", "hello").stdout
    assert "│ --name    │ string │ world   │ Who to greet │" in out
    assert "summary" in out


def _fake_cli(bin_dir: Path, name: str, version: str = "1.2.3") -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\necho '{version} ({name})'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_doctor_says_what_is_missing_in_one_line_each(project: Path, baton: Baton, tmp_path: Path) -> None:
    good = baton("doctor")
    assert "ok      python: Python" in good.stdout and "ok      git: git version" in good.stdout
    assert "ok      store:" in good.stdout and good.stdout.rstrip().endswith("all good")
    _fake_cli(tmp_path / "bin", "claude")
    text = (project / "baton.yaml").read_text().replace(
        "agents:\n", "agents:\n  claude: {provider: anthropic, model: claude-sonnet-4-5, "
        "capabilities: [coding]}\n  codex: {provider: openai, model: gpt-5.5, capabilities: [coding]}\n", 1)
    (project / "baton.yaml").write_text(text)
    bad = baton("doctor", code=1)
    lines = bad.stdout.splitlines()
    claude = [line for line in lines if line.startswith("problem agent claude:")]
    assert claude == ["problem agent claude: claude is not logged in: run `claude /login` or set "
                      "ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN (then `baton agents check claude`)"]
    codex = [line for line in lines if line.startswith("problem agent codex:")]
    assert len(codex) == 1 and "codex" in codex[0] and "PATH" in codex[0], lines
    assert lines[-1] == "2 problems"
    os.environ["ANTHROPIC_API_KEY"] = "sk-test-not-real"
    try:
        again = json.loads(baton("doctor", "--json", code=1).stdout)
    finally:
        del os.environ["ANTHROPIC_API_KEY"]
    by_name = {c["name"]: c for c in again["checks"]}
    assert by_name["agent claude"]["ok"] is True and by_name["agent codex"]["ok"] is False


def test_doctor_login_hints_are_commands_to_type(project: Path, baton: Baton, tmp_path: Path) -> None:
    _fake_cli(tmp_path / "bin", "copilot")
    _fake_cli(tmp_path / "bin", "gemini")
    text = (project / "baton.yaml").read_text().replace(
        "agents:\n", "agents:\n  copilot: {provider: github, model: gpt-5.4, capabilities: [coding]}\n"
        "  gemini: {provider: google, model: gemini-2.5-pro, capabilities: [coding]}\n", 1)
    (project / "baton.yaml").write_text(text)
    lines = baton("doctor", code=1).stdout.splitlines()
    copilot = next(line for line in lines if line.startswith("problem agent copilot:"))
    gemini = next(line for line in lines if line.startswith("problem agent gemini:"))
    assert "copilot is not logged in: run `copilot`, then `/login` or set COPILOT_GITHUB_TOKEN or GH_TOKEN" in copilot
    assert 'gemini is not logged in: run `gemini`, then choose "Login with Google" or set GEMINI_API_KEY' in gemini


def test_doctor_counts_executions_in_good_english(project: Path, baton: Baton) -> None:
    assert "(0 executions)" in baton("doctor").stdout
    add_workflow(project, "hi", """\
  steps:
    - {id: say, agent_id: sh, prompt_template: "echo hi"}
""")
    baton("run", "hi")
    assert "(1 execution)" in baton("doctor").stdout
    baton("run", "hi")
    assert "(2 executions)" in baton("doctor").stdout


def test_doctor_without_a_project_says_run_init(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "BATON_USER_CONFIG": str(tmp_path / "none.yaml")}
    done = subprocess.run([sys.executable, "-m", "baton", "doctor"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "problem config: no baton.yaml here or in a parent: run `baton init` in your project" in done.stdout


def test_shell_completion_installs_and_completes(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    entry = str(Path(sys.executable).parent / "baton")  # the installed command, as a user runs it
    # typed in bash, as a user would: Typer finds the shell from its parent process (the
    # trailing `exit` keeps bash from exec-ing the command, which would leave it no bash parent)
    done = subprocess.run(["bash", "-c", f"'{entry}' --install-completion; exit $?"], env=env,
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    script = tmp_path / ".bash_completions" / "baton.sh"
    assert script.is_file() and f"source '{script}'" in (tmp_path / ".bashrc").read_text()
    env.update(_BATON_COMPLETE="complete_bash", COMP_WORDS="baton workf", COMP_CWORD="1")
    done = subprocess.run([entry], env=env, capture_output=True, text=True,
                          check=False, cwd=tmp_path)
    assert done.stdout.split() == ["workflows"]
