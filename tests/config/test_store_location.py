"""``load_store_location`` (what ``baton status`` reads) names the same store as the full load,
from every place a database URL can come from; a configuration it cannot read that way gets
the full load's located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.config import ConfigError, load_configuration
from baton.config.loader import StoreLocation, load_store_location

PG = "postgresql://baton@db.example/baton"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATON_USER_CONFIG", str(tmp_path / "user.yaml"))
    monkeypatch.delenv("BATON_DATABASE_URL", raising=False)
    monkeypatch.delenv("DB_URL", raising=False)
    monkeypatch.setenv("BATON_CACHE_DIR", "")
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    return root


def both(project: Path) -> tuple[StoreLocation, StoreLocation]:
    full = load_configuration(cwd=project / "sub")
    return (load_store_location(cwd=project / "sub"),
            StoreLocation(full.configuration.global_.database_url, full.root))


def write(path: Path, text: str) -> None:
    path.write_text('version: "1.0.0"\nagents: {sh: {provider: shell, model: bash, capabilities: [command]}}\n' + text)


@pytest.mark.parametrize("case", ["default", "project", "user", "user_then_project", "dotenv", "env",
                                  "env_over_project", "default_value", "escaped"])
def test_same_store_as_the_full_load(project: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    user = project.parent / "user.yaml"
    if case == "default":
        write(project / "baton.yaml", "")
    elif case == "project":
        write(project / "baton.yaml", f"global: {{database_url: '{PG}'}}\n")
    elif case == "user":
        user.write_text(f"global: {{database_url: '{PG}'}}\n")
        write(project / "baton.yaml", "global: {max_concurrent_executions: 3}\n")
    elif case == "user_then_project":
        user.write_text("global: {database_url: 'sqlite:///user.db'}\n")
        write(project / "baton.yaml", f"global: {{database_url: '{PG}'}}\n")
    elif case == "dotenv":
        (project / ".env").write_text(f"DB_URL={PG}\n")
        write(project / "baton.yaml", "global: {database_url: '${DB_URL}'}\n")
    elif case == "env":
        monkeypatch.setenv("BATON_DATABASE_URL", PG)
        write(project / "baton.yaml", "")
    elif case == "env_over_project":
        monkeypatch.setenv("BATON_DATABASE_URL", PG)
        write(project / "baton.yaml", "global: {database_url: 'sqlite:///other.db'}\n")
    elif case == "default_value":
        write(project / "baton.yaml", "global: {database_url: '${DB_URL:-sqlite:///fallback.db}'}\n")
    elif case == "escaped":
        write(project / "baton.yaml", "global: {database_url: 'sqlite:///$${odd}.db'}\n")
    light, full = both(project)
    assert light == full
    assert light.root == project


def test_a_bad_configuration_gets_the_full_loads_error(project: Path) -> None:
    write(project / "baton.yaml", "global: {database_url: 5}\n")
    with pytest.raises(ConfigError) as light:
        load_store_location(cwd=project)
    with pytest.raises(ConfigError) as full:
        load_configuration(cwd=project)
    assert str(light.value) == str(full.value)
    assert "database_url" in str(light.value)
    write(project / "baton.yaml", "global: {database_url: '${NOT_SET_ANYWHERE}'}\n")
    with pytest.raises(ConfigError) as unresolved:
        load_store_location(cwd=project)
    assert "NOT_SET_ANYWHERE" in str(unresolved.value)


def test_no_configuration_is_the_same_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as light:
        load_store_location(cwd=tmp_path)
    with pytest.raises(ConfigError) as full:
        load_configuration(cwd=tmp_path)
    assert str(light.value) == str(full.value)
