"""action.yml and the documented workflow files agree with what ``baton github action`` reads."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from baton.cli.github_cmd import action_command

ROOT = Path(__file__).resolve().parents[2]


def _action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_declares_the_inputs_and_outputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    for name in (
        "workflow",
        "config",
        "agents",
        "anthropic-api-key",
        "openai-api-key",
        "github-token",
        "fail-on",
    ):
        assert name in action["inputs"], name
    assert set(action["outputs"]) == {"verdict", "execution-id", "cost-usd"}
    run = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    assert run["run"].strip() == "baton github action"


def test_the_run_step_sets_the_variables_the_entry_point_reads() -> None:
    run = next(s for s in _action()["runs"]["steps"] if s.get("id") == "run")
    params = action_command.__wrapped__.__defaults__  # typer OptionInfo objects
    envvars = {o.envvar for o in params if getattr(o, "envvar", None)}
    assert envvars <= set(run["env"])
    # API keys only reach the run when the trust step allows it (forks get none)
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "COPILOT_GITHUB_TOKEN"):
        assert run["env"][key].startswith("${{ steps.trust.outputs.secrets == 'true' &&")
    # the token goes to Baton under its own name; no step exports GITHUB_TOKEN to what it starts
    assert run["env"]["BATON_GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    for step in _action()["runs"]["steps"]:
        assert "GITHUB_TOKEN" not in (step.get("env") or {}), step.get("name")
        assert "GH_TOKEN" not in (step.get("env") or {}), step.get("name")


def test_documented_checkouts_do_not_persist_the_token() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "baton-review.yml").read_text())
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False


def test_documented_workflows_use_only_declared_inputs() -> None:
    inputs = set(_action()["inputs"])
    doc = (ROOT / "docs" / "github-action.md").read_text()
    snippet = re.search(r"## Five lines\n\n```yaml\n(.*?)```", doc, re.S)
    assert snippet is not None and len(snippet.group(1).strip().splitlines()) == 5
    files = [
        yaml.safe_load(snippet.group(1)),
        yaml.safe_load((ROOT / "docs" / "baton-review.yml").read_text()),
    ]
    for workflow in files:
        for job in workflow["jobs"].values():
            used = [s for s in job["steps"] if "baton" in s.get("uses", "")]
            assert len(used) == 1
            assert set(used[0]["with"]) <= inputs
