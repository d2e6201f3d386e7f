"""A lazy load (``baton run``) checks one workflow's templates when it is asked for it.

``load_configuration(lazy=True)`` leaves out the checks that parse each workflow's text
(templates, conditions, output schemas, the steps they name) and makes them for the workflow
that runs, with the same located error as the full load (`baton config validate`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli.main import app
from baton.config import ConfigError, load_configuration
from tests.config.conftest import unmark

CORPUS = sorted((Path(__file__).parent.parent / "fixtures" / "bad_configs").glob("*.yaml"))
ENV = {"BATON_USER_CONFIG": "/nonexistent/baton-user.yaml", "BATON_CACHE_DIR": ""}


def _full_error(path: Path) -> str | None:
    try:
        load_configuration(path, env=ENV, cwd=path.parent, resolvers={})
    except ConfigError as exc:
        return str(exc)
    return None


def _lazy_error(path: Path) -> str | None:
    """The error of a lazy load, else of the first workflow whose deferred checks fail."""
    try:
        loaded = load_configuration(path, env=ENV, cwd=path.parent, resolvers={}, lazy=True)
        for workflow_id in loaded.workflow_ids:
            loaded.check_workflow(workflow_id)
    except ConfigError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_lazy_checks_give_the_full_loads_error(path: Path) -> None:
    # each file of the corpus has one mistake: both ways must find it, word for word
    assert _lazy_error(path) == _full_error(path)


HEAD = 'version: "1.0.0"\nagents:\n  sh: {provider: shell, model: bash, capabilities: [command]}\nworkflows:\n'
GOOD = "  good:\n    steps:\n      - {id: a, agent_id: sh, prompt_template: \"echo {{ 'ok' }}\"}\n"
BROKEN = (
    "  broken:\n    steps:\n      - id: a\n        agent_id: sh\n"
    "        ⟦prompt_template: \"echo {{ x | nosuchfilter }}\"\n"
)


def test_a_lazy_load_checks_a_workflow_when_it_is_asked_for(tmp_path: Path) -> None:
    text, line, col = unmark(HEAD + GOOD + BROKEN)
    (tmp_path / "baton.yaml").write_text(text)
    loaded = load_configuration(env=ENV, cwd=tmp_path, resolvers={}, lazy=True)
    assert loaded.workflow("good").steps[0].prompt_template == "echo {{ 'ok' }}"
    with pytest.raises(ConfigError) as err:
        loaded.workflow("broken")
    assert (err.value.file, err.value.line, err.value.column) == ("baton.yaml", line, col)
    assert err.value.field_path == "workflows.broken.steps[0].prompt_template"
    assert "No filter named 'nosuchfilter'" in str(err.value)
    with pytest.raises(ConfigError) as full:
        load_configuration(env=ENV, cwd=tmp_path, resolvers={})
    assert str(full.value) == str(err.value)


@pytest.fixture
def broken_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    text, line, col = unmark(HEAD + GOOD + BROKEN)
    (tmp_path / "baton.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    for name in list(os.environ):
        if (name.startswith("BATON_") and "__" in name) or name == "BATON_DATABASE_URL":
            monkeypatch.delenv(name)
    return tmp_path, f"baton.yaml:{line}:{col} workflows.broken.steps[0].prompt_template: "


def test_run_of_a_good_workflow_is_not_stopped_by_a_broken_one(broken_project: tuple[Path, str]) -> None:
    _, located = broken_project
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "good", "--json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["status"] == "completed"

    # running the broken one fails before anything is recorded, with the located line
    bad = runner.invoke(app, ["run", "broken", "--json"])
    assert bad.exit_code == 2, bad.output
    assert bad.stderr.startswith(f"error: {located}") and "No filter named 'nosuchfilter'" in bad.stderr
    history = runner.invoke(app, ["history", "--json"])
    assert [e["workflow_id"] for e in json.loads(history.stdout)] == ["good"]

    # validate checks every workflow and reports the same line
    checked = runner.invoke(app, ["config", "validate"])
    assert checked.exit_code == 2
    assert f"error: {checked.stderr}" == bad.stderr
