"""Item 2 of the first hour: the live view ticks and shows retries on a terminal, its header
ends "completed in"/"failed after", the summary lists the files each step changed and the
workspace's branch and commit; ``baton diff`` and ``baton show --prompt``."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Baton, add_workflow, baton_process


def _on_a_terminal(project: Path, *args: str) -> str:
    """Run ``baton ARGS`` with a pseudo-terminal as stdout/stderr; everything it drew."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "110", "LINES": "40", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "baton", *args], cwd=project, env=env,
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))


def test_a_quiet_step_ticks_and_the_header_says_completed_in(project: Path) -> None:
    add_workflow(project, "quiet", """\
  steps:
    - {id: nap, agent_id: sh, prompt_template: "sleep 2"}
""")
    screen = _on_a_terminal(project, "run", "quiet")
    ticks = {float(x) for x in re.findall(r"│\s+(\d+\.\d)s\s+│", screen)}
    assert len([t for t in ticks if t < 1.9]) >= 3, sorted(ticks)  # redrawn while the step said nothing
    assert re.search(r"quiet completed in \d+\.\ds", screen), screen[-800:]


def test_retries_show_on_a_terminal_and_a_failure_says_failed_after(project: Path) -> None:
    add_workflow(project, "flaky", """\
  steps:
    - id: try
      agent_id: sh
      prompt_template: "echo trying; exit 1"
      retry_policy: {max_attempts: 2, backoff_seconds: 1, jitter: 0}
""")
    screen = _on_a_terminal(project, "run", "flaky")
    assert "↻ retrying" in screen and "attempt 1 failed (AgentFailed); retry in" in screen, screen[-1500:]
    assert "after 2 attempts: command exited with code 1" in screen
    assert re.search(r"flaky failed after \d+\.\ds", screen)


def test_summary_lists_files_per_step_and_diff_shows_them(project: Path, baton: Baton) -> None:
    (project / "README.md").write_text("# project\n")
    subprocess.run(["git", "add", "README.md"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "readme"],
                   cwd=project, check=True)
    add_workflow(project, "edit", """\
  parameters:
    word: {type: string, default: two}
  steps:
    - id: write
      agent_id: sh
      prompt_template: "printf 'one\\\\n{{ params.word }}\\\\n' > notes.txt; echo more >> README.md"
    - {id: change, agent_id: sh, dependencies: [write], prompt_template: "printf 'one\\\\nTWO\\\\n' > notes.txt"}
""")
    ran = baton("run", "edit", "-p", "word=deux")
    eid = json.loads(baton("status", "--json").stdout)["execution_id"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout
    lines = ran.stdout.splitlines()
    assert "files changed:" in lines
    assert "  write: README.md, notes.txt" in lines and "  change: notes.txt" in lines
    assert f"diff:      baton diff {eid}" in lines
    assert f"workspace: {project}  (branch main, commit {head[:12]})" in lines

    step = baton("diff", "--step", "change").stdout
    assert step == "--- a/notes.txt\n+++ b/notes.txt\n@@ -1,2 +1,2 @@\n one\n-deux\n+TWO\n"
    whole = baton("diff", eid[:-5]).stdout
    assert whole == ("--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n # project\n+more\n"
                     "--- /dev/null\n+++ b/notes.txt\n@@ -0,0 +1,2 @@\n+one\n+TWO\n")
    assert baton("diff", "--name-only").stdout == "README.md\nnotes.txt\n"
    assert "no step 'nope'" in baton("diff", "--step", "nope", code=2).stderr

    prompt = baton("show", "--step", "write", "--prompt").stdout
    assert prompt == "printf 'one\\ndeux\\n' > notes.txt; echo more >> README.md\n"
    assert baton("show", eid, "--step", "write").stdout == ""  # the step printed nothing


def test_a_run_that_changes_nothing_says_so(project: Path, baton: Baton) -> None:
    baton("run", "hello")
    assert "changed no files" in baton("diff").stderr


def test_a_markdown_report_is_rendered_on_a_terminal_and_plain_otherwise() -> None:
    import io

    from rich.console import Console

    from baton.cli.run_cmd import print_report

    report = "# Review\n\n**Verdict:** approve\n\n- `a.py`: fine\n"
    tty, plain = io.StringIO(), io.StringIO()
    print_report(report, Console(file=tty, force_terminal=True, width=60))
    print_report(report, Console(file=plain, force_terminal=False, width=60))
    assert plain.getvalue().rstrip("\n") == report.rstrip("\n")
    shown = re.sub(r"\x1b\[[0-9;]*m", "", tty.getvalue())
    assert "**" not in shown and "# Review" not in shown and "Verdict: approve" in shown


def test_a_failed_step_shows_what_its_billed_attempts_cost(project: Path) -> None:
    text = (project / "baton.yaml").read_text().replace(
        "agents:\n", "agents:\n  bot:\n    provider: scripted\n    model: echo\n    capabilities: [coding]\n"
        "    config: {script: [{fail: invalid_output, message: not json, usage: {input_tokens: 100, "
        "output_tokens: 20}, cost_usd: 0.5}]}\n", 1)
    (project / "baton.yaml").write_text(text)
    add_workflow(project, "strict", """\
  steps:
    - id: ask
      agent_id: bot
      prompt_template: "answer in JSON"
      retry_policy: {max_attempts: 2, backoff_seconds: 0.1, jitter: 0}
""")
    done = baton_process(project, "run", "strict", columns=160)
    assert done.returncode == 1, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("│ ask "))
    # the run's own table, the run's total and baton status agree on the two billed attempts
    assert re.search(r"│\s+240\s+│\s+\$1\.0000\s+│", row), done.stdout
    assert "total: 240 tokens, $1.0000" in done.stdout
    status = baton_process(project, "status", columns=160).stdout
    assert re.search(r"│ ask .*│ 240\s+│ \$1\.0000 │", status), status
