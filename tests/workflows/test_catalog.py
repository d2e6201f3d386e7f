"""Built-in workflows: roles bound to the configured agents, fan-out, overrides, the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from baton.cli.main import app
from baton.config import load_configuration
from baton.engine import Baton
from baton.engine.errors import WorkflowNotFound
from baton.models import AgentConfig, WorkflowConfig, WorkflowType
from baton.store import open_store
from baton.workflows import BuiltinUnavailable, builtin_ids, builtin_workflow
from baton.workflows.catalog import RoleSpec, expand

from .support import SHELL, scripted, write_config

CLI_AGENTS = {
    "claude": AgentConfig(
        provider="anthropic",
        model="claude-sonnet-4-5",
        capabilities=["code_review", "task_planning", "coding"],
    ),
    "codex": AgentConfig(provider="openai", model="gpt-5.5", capabilities=["code_review", "coding"]),
    "copilot": AgentConfig(provider="github", model="gpt-5.4", capabilities=["code_review", "coding"]),
    "gemini": AgentConfig(provider="google", model="gemini-2.5-pro", capabilities=["code_review", "coding"]),
    "sh": AgentConfig.model_validate(SHELL),
}


def test_the_package_ships_the_three_workflows() -> None:
    assert builtin_ids() == ["code-review", "issue-to-pr", "pr-fix"]


@pytest.mark.parametrize("workflow_id", ["code-review", "issue-to-pr", "pr-fix"])
@pytest.mark.parametrize("agents", [["claude", "codex", "copilot", "gemini", "sh"], ["codex", "sh"]])
def test_every_builtin_binds_to_the_agents_baton_init_writes(workflow_id: str, agents: list[str]) -> None:
    wf = builtin_workflow(workflow_id, {a: CLI_AGENTS[a] for a in agents})
    assert wf is not None and wf.id == workflow_id
    assert all(step.agent_id in agents for step in wf.steps)
    # what the engine runs is an ordinary, valid workflow definition
    WorkflowConfig.model_validate(wf.model_dump(exclude={"id", "created_at", "updated_at"}))
    for step in wf.steps:
        if step.agent_id == "sh" and "python" in step.prompt_template:
            assert f'{{% set python = "{sys.executable}" %}}' in step.prompt_template


def test_reviewers_are_the_configured_ones_in_preference_order_at_most_three() -> None:
    wf = builtin_workflow("code-review", CLI_AGENTS)
    assert wf is not None
    reviewers = [s.agent_id for s in wf.steps if s.id.startswith("review-") and s.id.endswith("-1")]
    assert reviewers == ["claude", "codex", "copilot"]
    merge = wf.step("merge")
    assert merge.dependencies == [f"review-{a}-{k}" for a in reviewers for k in (1, 2, 3)]
    assert all(not s.writes_workspace for s in wf.steps if s.id.startswith("review-"))
    assert wf.step("review-codex-2").condition == "(outputs.diff.json.groups | length > 1)"


def test_a_single_agent_role_falls_back_to_the_other_candidates() -> None:
    wf = builtin_workflow("issue-to-pr", CLI_AGENTS)
    assert wf is not None and wf.type is WorkflowType.LANGGRAPH
    assert wf.step("implement").agent_id == "claude"
    assert wf.step("implement").retry_policy.fallback_agents == ["codex", "copilot"]
    assert wf.step("review").agent_id == "codex"


def test_missing_agents_make_a_builtin_unavailable_with_a_one_line_reason() -> None:
    with pytest.raises(BuiltinUnavailable) as err:
        builtin_workflow("code-review", {"sh": CLI_AGENTS["sh"]})
    message = str(err.value)
    assert "\n" not in message and err.value.cli_exit_code == 2
    assert "'reviewers' role (capability code_review)" in message and "found 0" in message
    with pytest.raises(BuiltinUnavailable, match=r"'shell' role \(provider shell\)"):
        builtin_workflow("code-review", {"claude": CLI_AGENTS["claude"]})


def test_role_spec_rules() -> None:
    role = RoleSpec(capabilities=["code_review"], prefer=["b"], max=2)
    agents = {a: CLI_AGENTS["codex"] for a in ("d", "b", "a")}
    assert role.candidates(agents) == ["b", "a"]
    with pytest.raises(ValueError, match="min"):
        RoleSpec(min=3, max=2)


def test_expand_copies_fanned_out_steps_and_rewires_dependencies() -> None:
    body = {
        "steps": [
            {"id": "diff", "agent_role": "shell", "prompt_template": "x"},
            {
                "id": "check",
                "agent_role": "team",
                "fan_out": True,
                "dependencies": ["diff"],
                "prompt_template": "I am {{ agent }}",
            },
            {
                "id": "sum",
                "agent_role": "shell",
                "dependencies": ["check"],
                "prompt_template": "{{ expanded.check | join(',') }}",
            },
        ]
    }
    out = expand(body, {"shell": ["sh"], "team": ["a-1", "b"]})
    ids = [s["id"] for s in out["steps"]]
    assert ids == ["diff", "check-a-1", "check-b", "sum"]
    assert out["steps"][1]["output_key"] == "check_a_1"
    assert out["steps"][3]["dependencies"] == ["check-a-1", "check-b"]
    assert out["steps"][3]["prompt_template"].startswith(
        '{% set expanded = {"check": ["check_a_1", "check_b"]} %}'
        '{% set expanded_agents = {"check_a_1": "a-1", "check_b": "b"} %}'
    )


def test_config_validate_ignores_builtins_whatever_the_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, {"sh": SHELL}, workspace=tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["config", "validate"])
    assert result.exit_code == 0, result.output
    assert "1 agent, 0 workflows" in result.output
    run = CliRunner().invoke(app, ["run", "code-review", "--base", "main"])
    assert run.exit_code == 2
    assert "needs 1 agent for its 'reviewers' role" in run.output


def test_a_project_workflow_overrides_the_builtin(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {"sh": SHELL, "claude": scripted({"verdict": "approve", "summary": "", "findings": []})},
        workspace=tmp_path,
    )
    (tmp_path / ".baton" / "workflows").mkdir(parents=True)
    (tmp_path / ".baton" / "workflows" / "code-review.yaml").write_text(
        yaml.safe_dump(
            {"description": "ours", "steps": [{"id": "lint", "agent_id": "sh", "prompt_template": "true"}]}
        )
    )
    loaded = load_configuration(tmp_path / "baton.yaml")
    assert loaded.workflow("code-review").description == "ours"
    baton = Baton(loaded.configuration, open_store(None, base_dir=tmp_path), root=tmp_path)
    try:
        assert [s.id for s in baton.workflow("code-review").steps] == ["lint"]
        assert "code-review" in baton.workflow_ids()
    finally:
        baton.close()


def test_builtins_are_listed_and_resolved_by_the_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        tmp_path,
        {"sh": SHELL, "claude": scripted({"verdict": "approve", "summary": "", "findings": []})},
        workspace=tmp_path,
    )
    loaded = load_configuration(tmp_path / "baton.yaml")
    assert loaded.workflow_ids == []
    assert loaded.workflow("code-review").metadata == {"builtin": True}
    with pytest.raises(Exception, match="unknown workflow 'nope'"):
        loaded.workflow("nope")
    monkeypatch.chdir(tmp_path)
    listed = CliRunner().invoke(app, ["workflows", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = yaml.safe_load(listed.output)
    # every built-in is listed (issue 13); only those the agents here can run are runnable
    assert [w["id"] for w in rows] == ["code-review", "issue-to-pr", "pr-fix"]
    assert [w["id"] for w in rows if w["runnable"]] == ["code-review"]
    assert all(w["builtin"] for w in rows)
    baton = Baton(loaded.configuration, open_store(None, base_dir=tmp_path), root=tmp_path)
    try:
        with pytest.raises(WorkflowNotFound, match=r"available: code-review\)"):
            baton.workflow("nope")
    finally:
        baton.close()
