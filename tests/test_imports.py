"""Start-up cannot silently regress: what each common command does *not* import.

Each check runs the command in a fresh interpreter, the way the ``baton`` script does, and lists
the top-level packages loaded when it ends. The CLI loads a command's module only when that
command runs (``baton.cli.main.COMMANDS``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from baton.cli.main import COMMANDS, module_commands

PROBE = """
import json, sys
sys.argv = ["baton", *json.loads(sys.argv[1])]
from baton.cli.main import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""

HEAVY_SERVICE = {"langgraph", "fastapi", "starlette", "uvicorn", "dbos", "anthropic", "openai", "mcp",
                 "docker", "acp", "opentelemetry", "githubkit", "psycopg", "playwright"}


def loaded(argv: list[str], cwd: Path) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], cwd=cwd, capture_output=True,
                         text=True, check=True).stdout
    names = json.loads(out.rsplit("MODULES ", 1)[1])
    return set(names) | {name.split(".")[0] for name in names}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    for argv in (["init"], ["run", "hello"]):
        subprocess.run([sys.executable, "-m", "baton", *argv], cwd=root, check=True, capture_output=True)
    return root


def test_version_imports_no_model_store_or_engine(project: Path) -> None:
    modules = loaded(["--version"], project)
    for heavy in ("pydantic", "sqlalchemy", "langgraph", "jsonschema", "jinja2", "yaml", "structlog",
                  "rich", "baton.models", "baton.engine", "baton.store", "baton.config", *HEAVY_SERVICE):
        assert heavy not in modules, f"baton --version imports {heavy}"


# Reading executions needs the store's read statements and nothing that runs executions or
# validates a whole configuration; on a SQLite store at the current schema, not even SQLAlchemy
# or the execution models (the statements run through sqlite3).
NOT_FOR_READING = {
    "baton.engine.core", "baton.engine.executor", "baton.agents", "baton.workspace.git",
    "baton.models.configuration", "baton.models.workflow", "baton.models.agent", "baton.config.diagnostics",
    "jinja2", "jsonschema", "alembic", "sqlalchemy.orm", "baton.cli.run_cmd", "structlog",
    "baton.api", "baton.ui", "baton.workers", "baton.cli.service_cmd",
    "sqlalchemy", "baton.store.sql", "baton.store.base", "baton.models.execution", "baton.engine.ownership",
    "baton.secrets",
}


@pytest.mark.parametrize("argv", [["status"], ["history"], ["logs"], ["status", "--json"], ["logs", "--json"]])
def test_read_commands_import_only_the_store(project: Path, argv: list[str]) -> None:
    modules = loaded(argv, project)
    assert "baton.store.sqlite_reader" in modules  # the command really ran
    for heavy in HEAVY_SERVICE | NOT_FOR_READING:
        assert heavy not in modules, f"baton {' '.join(argv)} imports {heavy}"


def test_config_validate_imports_no_store_or_engine(project: Path) -> None:
    modules = loaded(["config", "validate"], project)
    assert "baton.config" in modules
    for heavy in HEAVY_SERVICE | {"baton.engine.core", "baton.store.sql", "baton.cli.run_cmd"}:
        assert heavy not in modules, f"baton config validate imports {heavy}"


def test_command_table_matches_what_modules_register() -> None:
    registered: dict[str, str] = {}
    for module in sorted(set(COMMANDS.values())):
        for name in module_commands(module).commands:
            registered[name] = module
    assert registered == COMMANDS


def test_every_command_is_listed_in_help() -> None:
    from typer.testing import CliRunner

    from baton.cli.main import app

    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        if not name.startswith("_"):
            assert f" {name} " in result.output, name
    assert isinstance(app, typer.Typer)
