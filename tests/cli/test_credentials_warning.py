"""A token that actions/checkout (or anyone) persisted in `.git/config` is readable by every
agent working in the repository, and lets it push. `baton github action` removes it; any other
run whose workflow has a writing agent step warns (and leaves the user's git config alone)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.conftest import Baton, add_workflow

TOKEN = "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX3NlY3JldA=="
KEY = "http.https://github.com/.extraheader"


def _project(project: Path) -> None:
    path = project / "baton.yaml"
    path.write_text(path.read_text().replace("agents:\n", (
        "agents:\n  bot: {provider: scripted, model: echo, capabilities: [coding], config: {script: "
        "[{reply: done, write: {notes.txt: hi}}]}}\n"), 1))
    add_workflow(project, "edit", """\
  steps:
    - {id: change, agent_id: bot, prompt_template: "add notes", writes_workspace: true}
""")
    add_workflow(project, "look", """\
  steps:
    - {id: read, agent_id: bot, prompt_template: "read"}
    - {id: script, agent_id: sh, prompt_template: "true", writes_workspace: true}
""")


def test_a_writing_agent_beside_a_persisted_token_warns(project: Path, baton: Baton) -> None:
    _project(project)
    subprocess.run(["git", "config", "--local", KEY, TOKEN], cwd=project, check=True)
    out = baton("run", "edit").stdout
    assert f"the workspace's git config holds a token ({KEY})" in out
    assert "writing step (change)" in out and "persist-credentials: false" in out
    rows = json.loads(baton("logs", "--json").stdout)
    warned = [r for r in rows if r["metadata"].get("event") == "execution.credentials"]
    assert [(r["level"], r["metadata"]["keys"], r["metadata"]["steps"]) for r in warned] == [
        ("warning", [KEY], ["change"])]
    assert "ghs_secret" not in json.dumps(rows) and "eC1hY2Nlc3M" not in json.dumps(rows)
    # the user's config is left as it was
    kept = subprocess.run(["git", "config", "--local", "--get", KEY], cwd=project, capture_output=True, text=True)
    assert kept.stdout.strip() == TOKEN


def test_no_warning_without_a_token_or_without_a_writing_agent(project: Path, baton: Baton) -> None:
    _project(project)
    assert "git config holds a token" not in baton("run", "edit").stdout
    subprocess.run(["git", "config", "--local", KEY, TOKEN], cwd=project, check=True)
    # a read-only agent step and a shell step (the user's own script) do not warn
    assert "git config holds a token" not in baton("run", "look").stdout
    # a header that is no credential does not warn either
    subprocess.run(["git", "config", "--local", KEY, "X-Trace: 1"], cwd=project, check=True)
    assert "git config holds a token" not in baton("run", "edit").stdout
