"""Layering: defaults < user file < project file < workflow files < BATON_* env < overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.config import ConfigNotFound, find_config, load_configuration, parse_assignments
from baton.config.layers import env_path
from tests.config.conftest import VALID, Project


def _user(project: Project, text: str) -> dict[str, str]:
    path = project.write("home/user.yaml", text)
    return project.env(BATON_USER_CONFIG=str(path))


def test_defaults_apply_when_nothing_sets_a_value(project: Project) -> None:
    cfg = project.load(VALID).configuration
    assert cfg.global_.max_concurrent_executions == 10
    assert cfg.global_.cache.enabled is True
    assert cfg.observability.log_level == "info"


def test_user_file_beats_defaults(project: Project) -> None:
    env = _user(project, "global: {max_concurrent_executions: 3}\n")
    cfg = project.load(VALID, env=env).configuration
    assert cfg.global_.max_concurrent_executions == 3


def test_project_file_beats_user_file_key_by_key(project: Project) -> None:
    env = _user(
        project,
        "global: {max_concurrent_executions: 3, default_timeout_seconds: 42}\n"
        "agents:\n  mine: {provider: shell, model: sh, capabilities: [personal]}\n",
    )
    cfg = project.load(VALID + "global: {max_concurrent_executions: 7}\n", env=env).configuration
    assert cfg.global_.max_concurrent_executions == 7  # project wins
    assert cfg.global_.default_timeout_seconds == 42  # merged, not replaced
    assert set(cfg.agents) == {"mine", "sh"}  # agents from both files


def test_environment_beats_project_file(project: Project) -> None:
    env = project.env(
        BATON_GLOBAL__MAX_CONCURRENT_EXECUTIONS="4",
        BATON_GLOBAL__CACHE__ENABLED="false",
        BATON_OBSERVABILITY__LOG_LEVEL="debug",
    )
    cfg = project.load(VALID + "global: {max_concurrent_executions: 7}\n", env=env).configuration
    assert cfg.global_.max_concurrent_executions == 4
    assert cfg.global_.cache.enabled is False
    assert cfg.observability.log_level == "debug"


def test_database_url_alias_and_ignored_names(project: Project) -> None:
    env = project.env(
        BATON_DATABASE_URL="postgresql://baton@127.0.0.1/baton",
        BATON_TEST_POSTGRES_URL="postgresql://elsewhere/x",
        BATON_CONFIG="/nowhere/baton.yaml",
        BATON_SOMETHING="x",
    )
    cfg = project.load(VALID, env=env).configuration
    assert cfg.global_.database_url == "postgresql://baton@127.0.0.1/baton"


def test_env_names_map_to_paths() -> None:
    assert env_path("BATON_GLOBAL__MAX_CONCURRENT_EXECUTIONS") == ("global", "max_concurrent_executions")
    assert env_path("BATON_AGENTS__CLAUDE__MODEL") == ("agents", "claude", "model")
    assert env_path("BATON_DATABASE_URL") == ("global", "database_url")
    for ignored in (
        "BATON_TEST_POSTGRES_URL",
        "BATON_USER_CONFIG",
        "BATON_CONFIG",
        "BATON_VERSION",
        "BATON_NOPE__X",
        "BATON_GLOBAL__",
        "HOME",
    ):
        assert env_path(ignored) is None, ignored


def test_overrides_beat_environment(project: Project) -> None:
    env = project.env(BATON_GLOBAL__MAX_CONCURRENT_EXECUTIONS="4")
    cfg = project.load(
        VALID,
        env=env,
        overrides={"global.max_concurrent_executions": 9, "global": {"cache": {"enabled": False}}},
    ).configuration
    assert cfg.global_.max_concurrent_executions == 9
    assert cfg.global_.cache.enabled is False


def test_parse_assignments_reads_yaml_scalars() -> None:
    assert parse_assignments(["global.cache.enabled=false", "a.b=4", "c=x=y", "d="]) == {
        "global.cache.enabled": False,
        "a.b": 4,
        "c": "x=y",
        "d": None,
    }
    with pytest.raises(Exception, match="KEY=VALUE"):
        parse_assignments(["novalue"])


def test_invalid_environment_value_names_the_variable(project: Project) -> None:
    env = project.env(BATON_GLOBAL__MAX_CONCURRENT_EXECUTIONS="lots")
    err = project.error(VALID, env=env)
    assert str(err).startswith(
        "env BATON_GLOBAL__MAX_CONCURRENT_EXECUTIONS: global.max_concurrent_executions: "
    )


def test_invalid_override_names_the_override(project: Project) -> None:
    err = project.error(VALID, overrides={"global.default_timeout_seconds": 1})
    assert str(err).startswith("override global.default_timeout_seconds: global.default_timeout_seconds:")


def test_error_in_user_file_points_into_it(project: Project) -> None:
    env = _user(project, "global:\n  cache:\n    ttl_seconds: -5\n")
    err = project.error(VALID, env=env)
    assert (err.file, err.line, err.column) == ("home/user.yaml", 3, 5)
    assert err.field_path == "global.cache.ttl_seconds"


def test_lists_are_replaced_not_merged(project: Project) -> None:
    env = _user(project, "observability: {redact: [a, b]}\n")
    cfg = project.load(VALID + "observability: {redact: [c]}\n", env=env).configuration
    assert cfg.observability.redact == ["c"]


def test_relative_paths_resolve_against_the_defining_file(project: Project) -> None:
    env = _user(project, "global: {artifacts_dir: artifacts}\n")
    cfg = project.load(VALID + "global: {workspace_dir: src}\n", env=env).configuration
    assert cfg.global_.workspace_dir == str(project.root / "src")
    assert cfg.global_.artifacts_dir == str(project.root / "home" / "artifacts")


def test_default_paths_resolve_against_the_project(project: Project) -> None:
    cfg = project.load(VALID).configuration
    assert cfg.global_.workspace_dir == str(project.root)
    assert cfg.global_.artifacts_dir == str(project.root / ".baton" / "artifacts")


def test_absolute_and_home_paths_are_kept(project: Project) -> None:
    cfg = project.load(VALID + "global: {workspace_dir: /srv/work}\n").configuration
    assert cfg.global_.workspace_dir == "/srv/work"


def test_find_config_walks_up(tmp_path: Path) -> None:
    (tmp_path / "baton.yaml").write_text(VALID)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / "baton.yaml"
    loaded = load_configuration(env={"BATON_CACHE_DIR": ""}, cwd=deep)
    assert loaded.root == tmp_path


def test_missing_config_is_an_error_unless_optional(tmp_path: Path) -> None:
    env = {"BATON_USER_CONFIG": str(tmp_path / "none.yaml")}
    with pytest.raises(ConfigNotFound, match="run `baton init`"):
        load_configuration(env=env, cwd=tmp_path)
    loaded = load_configuration(env=env, cwd=tmp_path, required=False)
    assert loaded.path is None and loaded.configuration.agents == {}
    with pytest.raises(ConfigNotFound, match="no such file"):
        load_configuration(tmp_path / "missing.yaml", env=env, cwd=tmp_path)


def test_directory_path_means_its_baton_yaml(project: Project) -> None:
    project.write("baton.yaml", VALID)
    loaded = load_configuration(project.root, env=project.env(), cwd=Path("/"))
    assert loaded.path == project.root / "baton.yaml"


def test_sources_list_every_file_read(project: Project) -> None:
    project.write(".env", "X=1\n")
    project.write(".baton/workflows/extra.yaml", "steps:\n  - {id: a, agent_id: sh, prompt_template: x}\n")
    env = _user(project, "{}\n")
    loaded = project.load(VALID, env=env)
    assert [p.name for p in loaded.sources] == [".env", "user.yaml", "baton.yaml", "extra.yaml"]
