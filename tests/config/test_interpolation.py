"""${VAR} interpolation, defaults, escapes, secret references and .env files."""

from __future__ import annotations

import pytest

from baton.config import InterpolationError, Interpolator
from baton.config.interpolate import Unresolved
from tests.config.conftest import VALID, Project

V = 'version: "1.0.0"\n'


def _db(project: Project, value: str, **env: str) -> str | None:
    cfg = project.load(V + f"global:\n  database_url: {value}\n", env=project.env(**env)).configuration
    return cfg.global_.database_url


def test_variable_is_substituted(project: Project) -> None:
    assert _db(project, '"postgresql://${DB_USER}@h/db"', DB_USER="alice") == "postgresql://alice@h/db"


def test_default_used_when_unset_or_empty(project: Project) -> None:
    assert _db(project, '"${DB_URL:-sqlite:///x.db}"') == "sqlite:///x.db"
    assert _db(project, '"${DB_URL:-sqlite:///x.db}"', DB_URL="") == "sqlite:///x.db"
    assert _db(project, '"${DB_URL:-sqlite:///x.db}"', DB_URL="pg://y") == "pg://y"
    assert _db(project, '"${DB_URL:-}"') == ""


def test_set_but_empty_without_default_is_empty(project: Project) -> None:
    assert _db(project, '"a${EMPTY}b"', EMPTY="") == "ab"


def test_dollar_dollar_escapes(project: Project) -> None:
    assert _db(project, '"$${NOT_A_VAR} and $$ and $HOME"') == "${NOT_A_VAR} and $$ and $HOME"


def test_several_references_in_one_value(project: Project) -> None:
    assert _db(project, '"${A}-${B:-b}-${A}"', A="a") == "a-b-a"


def test_numbers_from_variables_validate_as_numbers(project: Project) -> None:
    cfg = project.load(
        V + "global: {max_concurrent_executions: '${N}'}\n", env=project.env(N="12")
    ).configuration
    assert cfg.global_.max_concurrent_executions == 12


def test_unset_variable_is_located_at_the_reference(project: Project) -> None:
    err = project.error(
        V + "agents:\n  c:\n    provider: anthropic\n    model: opus\n"
        '    capabilities: [c]\n    config:\n      api_key: "key-${MISSING_KEY}"\n'
    )
    assert isinstance(err, InterpolationError)
    assert (err.file, err.line, err.column) == ("baton.yaml", 8, 21)
    assert err.field_path == "agents.c.config.api_key"
    assert "MISSING_KEY is not set" in err.message
    assert str(err).startswith("baton.yaml:8:21 agents.c.config.api_key: environment variable MISSING_KEY")


def test_secret_references_are_left_for_the_resolver(project: Project) -> None:
    text = (
        V + "agents:\n  c: {provider: anthropic, model: opus, capabilities: [c], interface: api,"
        " config: {api_key: '${secret:ANTHROPIC}'}}\n"
    )
    cfg = project.load(text).configuration
    assert cfg.agents["c"].config["api_key"] == "${secret:ANTHROPIC}"


def test_a_resolver_can_be_plugged_in(project: Project) -> None:
    from baton.config import load_configuration

    project.write("baton.yaml", V + "global: {database_url: 'pg://u:${secret:DB_PASS}@h/db'}\n")
    seen: list[str] = []

    def resolve(name: str) -> str:
        seen.append(name)
        return "s3cret"

    cfg = load_configuration(env=project.env(), cwd=project.root, resolvers={"secret": resolve}).configuration
    assert cfg.global_.database_url == "pg://u:s3cret@h/db"
    assert seen == ["DB_PASS"]


def test_a_failing_resolver_is_a_located_error(project: Project) -> None:
    from baton.config import load_configuration

    project.write("baton.yaml", V + "global:\n  database_url: '${secret:NOPE}'\n")

    def resolve(name: str) -> str:
        raise KeyError(f"no secret {name}")

    with pytest.raises(InterpolationError) as info:
        load_configuration(env=project.env(), cwd=project.root, resolvers={"secret": resolve})
    assert str(info.value).startswith("baton.yaml:3:18 global.database_url: cannot resolve ${secret:NOPE}")


def test_prompt_templates_are_never_interpolated(project: Project) -> None:
    text = (
        V + "agents:\n  sh: {provider: shell, model: bash, capabilities: [c]}\n"
        "workflows:\n  w:\n    description: 'for ${TEAM}'\n    steps:\n"
        "      - {id: a, agent_id: sh, prompt_template: 'for f in *; do echo \"${f}\"; done'}\n"
    )
    cfg = project.load(text, env=project.env(TEAM="core")).configuration
    assert cfg.workflows["w"].steps[0].prompt_template == 'for f in *; do echo "${f}"; done'
    assert cfg.workflows["w"].description == "for core"


def test_keys_are_not_interpolated(project: Project) -> None:
    cfg = project.load(V + "workflows: {}\nobservability: {redact: ['${X:-a}']}\n").configuration
    assert cfg.observability.redact == ["a"]


def test_dotenv_supplies_missing_variables_and_real_env_wins(project: Project) -> None:
    project.write(".env", "DB_USER=from-dotenv\nDB_HOST=dotenv-host\n# comment\nEMPTY_ONE\n")
    value = _db(project, '"pg://${DB_USER}@${DB_HOST}/db"', DB_HOST="real-host")
    assert value == "pg://from-dotenv@real-host/db"


def test_dotenv_does_not_touch_os_environ(project: Project) -> None:
    import os

    project.write(".env", "BATON_DOTENV_PROBE=1\n")
    project.load(VALID)
    assert "BATON_DOTENV_PROBE" not in os.environ


def test_dotenv_can_set_baton_variables(project: Project) -> None:
    project.write(".env", "BATON_GLOBAL__MAX_CONCURRENT_EXECUTIONS=2\n")
    assert project.load(VALID).configuration.global_.max_concurrent_executions == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${UNCLOSED", "unclosed"),
        ("${1X}", "malformed"),
        ("${ A }", "malformed"),
        ("${foo:bar}", "unknown reference prefix 'foo:'"),
        ("${A:-${B}}", "nested"),
    ],
)
def test_malformed_references(text: str, fragment: str) -> None:
    with pytest.raises(Unresolved, match=fragment):
        Interpolator({}).expand(f"x {text} y")


def test_expand_tree_does_not_mutate_its_input() -> None:
    data = {"a": ["${X}", {"b": "${X:-d}"}], "workflows": {"w": {"steps": [{"prompt_template": "${X}"}]}}}
    out = Interpolator({"X": "1"}).expand_tree(data)
    assert out == {"a": ["1", {"b": "1"}], "workflows": {"w": {"steps": [{"prompt_template": "${X}"}]}}}
    assert data["a"] == ["${X}", {"b": "${X:-d}"}]


def test_expand_paths_matches_expand_tree() -> None:
    from baton.config.interpolate import dollar_paths

    data = {
        "a": ["${X}", {"b": "${Y:-d}", "c": "plain"}],
        "n": 3,
        "workflows": {"w": {"steps": [{"prompt_template": "${X}"}]}},
    }
    interp = Interpolator({"X": "1"})
    assert interp.expand_paths(data, dollar_paths(data)) == interp.expand_tree(data)
