"""Each seed validation rule, through the loader, with the exact location of the error."""

from __future__ import annotations

import pytest

from tests.config.conftest import VALID, Project

V = 'version: "1.0.0"\n'
SH = "  sh: {provider: shell, model: bash, capabilities: [command]}\n"


def with_steps(steps: str, workflow: str = "") -> str:
    return f"{V}agents:\n{SH}workflows:\n  w:\n{workflow}    steps:\n{steps}"


def test_valid_configuration_loads(project: Project) -> None:
    loaded = project.load(VALID)
    assert loaded.configuration.version == "1.0.0"
    assert loaded.path == project.root / "baton.yaml"
    assert loaded.root == project.root
    assert loaded.workflow("w").steps[0].agent_id == "sh"
    assert loaded.agent("sh").provider == "shell"


@pytest.mark.parametrize(
    ("marked", "field", "fragment"),
    [
        (
            V + "agents:\n  ⟦Claude: {provider: shell, model: bash, capabilities: [c]}\n",
            "agents.Claude",
            "must match ^[a-z][a-z0-9_-]*$",
        ),
        (
            V + "agents:\n  ⟦9sh: {provider: shell, model: bash, capabilities: [c]}\n",
            "agents.9sh",
            "must match",
        ),
        (
            V + "agents:\n" + SH + "workflows:\n  ⟦Review:\n    steps:\n"
            "      - {id: a, agent_id: sh, prompt_template: x}\n",
            "workflows.Review",
            "must match",
        ),
        (
            with_steps("      - {⟦id: Build, agent_id: sh, prompt_template: x}\n"),
            "workflows.w.steps[0].id",
            "must match",
        ),
    ],
    ids=["agent-uppercase", "agent-digit", "workflow-uppercase", "step-uppercase"],
)
def test_id_pattern(project: Project, marked: str, field: str, fragment: str) -> None:
    project.assert_located(marked, field, fragment)


def test_provider_must_be_supported(project: Project) -> None:
    err = project.assert_located(
        V + "agents:\n  x:\n    ⟦provider: acme\n    model: m\n    capabilities: [c]\n",
        "agents.x.provider",
        "unsupported provider 'acme'",
    )
    assert "anthropic" in err.message  # lists what is supported


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("anthropic", "gpt-4"),
        ("openai", "claude-sonnet-4-5"),
        ("google", "gpt-5"),
        ("shell", "zsh"),
        ("github", "Not A Model"),
    ],
)
def test_model_must_be_valid_for_provider(project: Project, provider: str, model: str) -> None:
    project.assert_located(
        V + f"agents:\n  x:\n    provider: {provider}\n    ⟦model: {model}\n    capabilities: [c]\n",
        "agents.x.model",
        "is not valid for provider",
    )


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "opus"),
        ("openai", "gpt-5.5"),
        ("openai", "o3"),
        ("github", "openai/gpt-4.1"),
        ("google", "gemini-2.5-pro"),
        ("shell", "sh"),
        ("openai-compatible", "qwen2.5-coder:7b"),
    ],
)
def test_models_valid_for_their_provider_load(project: Project, provider: str, model: str) -> None:
    cfg = project.load(
        V + f'agents:\n  x: {{provider: {provider}, model: "{model}", capabilities: [c]}}\n'
    ).configuration
    assert cfg.agents["x"].model == model


def test_capabilities_must_be_non_empty(project: Project) -> None:
    project.assert_located(
        V + "agents:\n  sh: {provider: shell, model: bash, ⟦capabilities: []}\n",
        "agents.sh.capabilities",
        "at least one capability",
    )


def test_capabilities_are_required(project: Project) -> None:
    project.assert_located(
        V + "agents:\n  ⟦sh: {provider: shell, model: bash}\n",
        "agents.sh.capabilities",
        "required field is missing",
    )


def test_api_interface_needs_credentials(project: Project) -> None:
    project.assert_located(
        V + "agents:\n  ⟦c: {provider: anthropic, model: opus, capabilities: [c], interface: api}\n",
        "agents.c.config.api_key",
        "config.api_key is required",
    )


def test_cli_with_base_url_needs_credentials(project: Project) -> None:
    project.assert_located(
        V + "agents:\n  c:\n    provider: openai\n    model: gpt-5.5\n    capabilities: [c]\n"
        "    ⟦config: {base_url: 'http://127.0.0.1:1/v1'}\n",
        "agents.c.config.api_key",
        "config.api_key is required",
    )


def test_credentials_from_the_environment_satisfy_the_rule(project: Project) -> None:
    text = V + (
        "agents:\n  c: {provider: anthropic, model: opus, capabilities: [c], interface: api,"
        ' config: {api_key: "${ANTHROPIC_API_KEY}"}}\n'
    )
    loaded = project.load(text, env=project.env(ANTHROPIC_API_KEY="sk-test"))
    assert loaded.configuration.agents["c"].config["api_key"] == "sk-test"


def test_cli_agents_need_no_credentials(project: Project) -> None:
    loaded = project.load(V + "agents:\n  c: {provider: anthropic, model: opus, capabilities: [c]}\n")
    assert loaded.agent("c").interface.value == "cli"


def test_workflow_needs_a_step(project: Project) -> None:
    project.assert_located(
        V + "agents:\n" + SH + "workflows:\n  w:\n    ⟦steps: []\n",
        "workflows.w.steps",
        "at least one step",
    )
    project.assert_located(
        V + "agents:\n" + SH + "workflows:\n  ⟦w: {description: idle}\n",
        "workflows.w.steps",
        "at least one step",
    )


def test_step_must_reference_an_existing_agent(project: Project) -> None:
    err = project.assert_located(
        with_steps(
            "      - {id: a, agent_id: sh, prompt_template: x}\n"
            "      - {id: b, ⟦agent_id: claude, prompt_template: x}\n"
        ),
        "workflows.w.steps[1].agent_id",
        "unknown agent 'claude'",
    )
    assert "defined: sh" in err.message


def test_fallback_agents_must_exist(project: Project) -> None:
    project.assert_located(
        with_steps(
            "      - id: a\n        agent_id: sh\n        prompt_template: x\n"
            "        retry_policy:\n          fallback_agents:\n            - sh\n"
            "            - ⟦codex\n"
        ),
        "workflows.w.steps[0].retry_policy.fallback_agents[1]",
        "unknown agent 'codex'",
    )


@pytest.mark.parametrize(
    "template", ["{{ name", "{% if x %}open", "{{ x | no_such_filter }}", "{% endfor %}"]
)
def test_prompt_template_must_compile(project: Project, template: str) -> None:
    project.assert_located(
        with_steps(f"      - id: a\n        agent_id: sh\n        ⟦prompt_template: {template!r}\n"),
        "workflows.w.steps[0].prompt_template",
        "not a valid Jinja2 template",
    )


@pytest.mark.parametrize("timeout", [0, 9, 3601, 100000])
def test_timeout_outside_10_to_3600(project: Project, timeout: int) -> None:
    project.assert_located(
        with_steps(
            "      - id: a\n        agent_id: sh\n        prompt_template: x\n"
            f"        ⟦timeout_seconds: {timeout}\n"
        ),
        "workflows.w.steps[0].timeout_seconds",
        "must be between 10 and 3600",
    )


@pytest.mark.parametrize("timeout", [10, 3600])
def test_timeout_bounds_are_inclusive(project: Project, timeout: int) -> None:
    cfg = project.load(
        with_steps(f"      - {{id: a, agent_id: sh, prompt_template: x, timeout_seconds: {timeout}}}\n")
    ).configuration
    assert cfg.workflows["w"].steps[0].timeout_seconds == timeout


@pytest.mark.parametrize("condition", ["params.x ==", "x = 1", "{{ x }}", "(a"])
def test_condition_must_parse(project: Project, condition: str) -> None:
    project.assert_located(
        with_steps(f"      - {{id: a, agent_id: sh, prompt_template: x, ⟦condition: {condition!r}}}\n"),
        "workflows.w.steps[0].condition",
        "condition does not parse",
    )


def test_valid_condition_loads(project: Project) -> None:
    cfg = project.load(
        with_steps(
            "      - {id: a, agent_id: sh, prompt_template: x,"
            " condition: \"params.strict and succeeded('a')\"}\n"
        )
    ).configuration
    assert cfg.workflows["w"].steps[0].condition == "params.strict and succeeded('a')"


def test_dependencies_must_exist(project: Project) -> None:
    project.assert_located(
        with_steps(
            "      - {id: a, agent_id: sh, prompt_template: x}\n"
            "      - {id: b, agent_id: sh, prompt_template: x, ⟦dependencies: [a, ghost]}\n"
        ),
        "workflows.w.steps[1].dependencies",
        "unknown step 'ghost'",
    )


def test_dependencies_must_be_acyclic(project: Project) -> None:
    err = project.assert_located(
        with_steps(
            "      - id: a\n        agent_id: sh\n        prompt_template: x\n"
            "        ⟦dependencies: [c]\n"
            "      - {id: b, agent_id: sh, prompt_template: x, dependencies: [a]}\n"
            "      - {id: c, agent_id: sh, prompt_template: x, dependencies: [b]}\n"
        ),
        "workflows.w.steps[0].dependencies",
        "dependency cycle",
    )
    assert "a -> c -> b -> a" in err.message


def test_parallel_dependencies_load(project: Project) -> None:
    wf = project.load(
        with_steps(
            "      - {id: a, agent_id: sh, prompt_template: x}\n"
            "      - {id: b, agent_id: sh, prompt_template: x, dependencies: [a]}\n"
            "      - {id: c, agent_id: sh, prompt_template: x, dependencies: [a]}\n"
            "      - {id: d, agent_id: sh, prompt_template: x, dependencies: [b, c]}\n"
        )
    ).workflow("w")
    assert [s.dependencies for s in wf.steps] == [None, ["a"], ["a"], ["b", "c"]]


@pytest.mark.parametrize("version", ["1.0", "1", "v1.0.0", "1.0.0.0", "01.2.3", "1.2.3-", "latest"])
def test_version_must_be_semver(project: Project, version: str) -> None:
    project.assert_located(f"⟦version: {version!r}\nagents: {{}}\n", "version", "not a semantic version")


@pytest.mark.parametrize("version", ["0.0.1", "1.2.3-rc.1", "2.0.0+build.5", "10.20.30"])
def test_semver_versions_load(project: Project, version: str) -> None:
    assert project.load(f"version: {version!r}\n").configuration.version == version


def test_version_is_required_in_the_project_file(project: Project) -> None:
    project.assert_located("⟦agents:\n" + SH, "version", "required field is missing")


def test_unknown_key_suggests_the_field(project: Project) -> None:
    err = project.assert_located(
        with_steps("      - {id: a, agent_id: sh, prompt_template: x, ⟦timout: 30}\n"),
        "workflows.w.steps[0].timout",
        "unknown key",
    )
    assert "did you mean 'timeout_seconds'" in err.message


def test_wrong_type_names_the_input(project: Project) -> None:
    err = project.assert_located(
        V + "global:\n  ⟦max_concurrent_executions: lots\n",
        "global.max_concurrent_executions",
        "valid integer",
    )
    assert "'lots'" in err.message


def test_union_error_reports_the_deepest_problem(project: Project) -> None:
    project.assert_located(
        with_steps(
            "      - id: a\n        agent_id: sh\n        prompt_template: x\n"
            "        next:\n          - {⟦when: 'x ===', goto: a}\n",
            workflow="    type: langgraph\n",
        ),
        "workflows.w.steps[0].next[0].when",
        "does not parse",
    )


def test_workflow_and_agent_lookups(project: Project) -> None:
    from baton.config import AgentNotFound, WorkflowNotFound

    loaded = project.load(VALID)
    with pytest.raises(WorkflowNotFound, match=r"unknown workflow 'nope' \(defined: w\)"):
        loaded.workflow("nope")
    with pytest.raises(AgentNotFound, match=r"unknown agent 'nope' \(defined: sh\)"):
        loaded.agent("nope")
    assert loaded.workflow("w") is loaded.workflow("w")
    assert loaded.workflow("w").name == "w"


def test_error_is_a_baton_error_with_exit_code_2(project: Project) -> None:
    from baton.errors import BatonError

    err = project.error(V + "agents: [x]\n")
    assert isinstance(err, BatonError)
    assert err.cli_exit_code == 2
