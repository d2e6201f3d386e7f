"""``baton secrets set|list|remove`` and ``${secret:NAME}`` in baton.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli.main import app
from baton.config import InterpolationError, load_configuration
from baton.observability.redact import redactor
from baton.secrets import open_secret_store

VALUE = "sk-cli-secret-3f9a1c7e55"


@pytest.fixture
def secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "secrets"
    monkeypatch.setenv("BATON_SECRETS_DIR", str(folder))
    monkeypatch.delenv("BATON_SECRETS_BACKEND", raising=False)
    return folder


def test_set_list_remove_through_the_cli(secrets_dir: Path) -> None:
    runner = CliRunner()
    stored = runner.invoke(app, ["secrets", "set", "OPENAI_KEY"], input=VALUE + "\n")
    assert stored.exit_code == 0, stored.output
    assert "${secret:OPENAI_KEY}" in stored.output
    assert VALUE not in stored.output
    # the value was read from stdin, without its line ending
    assert open_secret_store({"BATON_SECRETS_DIR": str(secrets_dir)}).get("OPENAI_KEY") == VALUE

    listed = runner.invoke(app, ["secrets", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"OPENAI_KEY"' in listed.output and VALUE not in listed.output
    assert str(secrets_dir) in listed.output

    removed = runner.invoke(app, ["secrets", "remove", "OPENAI_KEY"])
    assert removed.exit_code == 0, removed.output
    again = runner.invoke(app, ["secrets", "remove", "OPENAI_KEY"])
    assert again.exit_code == 1
    assert "no secret named 'OPENAI_KEY'" in again.output


def test_set_never_takes_the_value_from_argv(secrets_dir: Path) -> None:
    result = CliRunner().invoke(app, ["secrets", "set", "K", VALUE])
    assert result.exit_code == 2  # an extra argument is a usage error, not a value
    assert not (secrets_dir / "secrets.enc").exists()


def test_set_refuses_empty_values_and_bad_names(secrets_dir: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["secrets", "set", "EMPTY"], input="\n")
    assert empty.exit_code == 2 and "no value" in empty.output
    bad = runner.invoke(app, ["secrets", "set", "bad name"], input="x-value-1\n")
    assert bad.exit_code == 2 and "invalid secret name" in bad.output


def _project(tmp_path: Path, reference: str) -> Path:
    config = tmp_path / "baton.yaml"
    config.write_text(
        'version: "1.0.0"\n'
        "agents:\n"
        "  gpt:\n"
        "    provider: openai\n"
        "    model: gpt-4.1\n"
        "    interface: api\n"
        "    capabilities: [code_review]\n"
        f'    config: {{api_key: "{reference}", headers: {{X-Org: "org-${{secret:ORG_ID}}"}}}}\n'
    )
    return config


def test_secret_references_resolve_from_the_store(secrets_dir: Path, tmp_path: Path) -> None:
    store = open_secret_store({"BATON_SECRETS_DIR": str(secrets_dir)})
    store.set("OPENAI_KEY", VALUE)
    store.set("ORG_ID", "org-id-7777")
    loaded = load_configuration(_project(tmp_path, "${secret:OPENAI_KEY}"))
    cfg = loaded.configuration.agents["gpt"].config
    assert cfg["api_key"] == VALUE
    assert cfg["headers"] == {"X-Org": "org-org-id-7777"}
    assert VALUE in redactor() and "org-id-7777" in redactor()
    # an explicit empty resolver set keeps references as written
    raw = load_configuration(_project(tmp_path, "${secret:OPENAI_KEY}"), resolvers={})
    assert raw.configuration.agents["gpt"].config["api_key"] == "${secret:OPENAI_KEY}"


def test_a_missing_secret_is_a_located_error_saying_how_to_set_it(secrets_dir: Path, tmp_path: Path) -> None:
    open_secret_store({"BATON_SECRETS_DIR": str(secrets_dir)}).set("ORG_ID", "org-id-8888")
    with pytest.raises(InterpolationError) as caught:
        load_configuration(_project(tmp_path, "${secret:NOT_SET}"))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'baton.yaml'}:8:")
    assert "agents.gpt.config.api_key" in message
    assert "baton secrets set NOT_SET" in message
