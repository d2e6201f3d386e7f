"""A newcomer's project: ``baton init`` in a fresh git repository, the store inside it,
no agent CLI on PATH (the shell agent runs the workflows)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from baton.cli.main import app

Baton = Callable[..., Result]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    monkeypatch.setenv("BATON_USER_CONFIG", str(tmp_path / "no-user.yaml"))
    monkeypatch.setenv("BATON_CACHE_DIR", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in list(os.environ):
        if (name.startswith("BATON_") and "__" in name) or name == "BATON_DATABASE_URL":
            monkeypatch.delenv(name)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q",
                    "--allow-empty", "-m", "init"], cwd=root, check=True)
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def baton(project: Path) -> Baton:
    """``baton ARGS...`` in the project, in this process."""

    def invoke(*args: str, code: int | None = 0) -> Result:
        result = CliRunner().invoke(app, list(args))
        if code is not None:
            assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return invoke


def baton_process(project: Path, *args: str, columns: int = 80, **kw: object) -> subprocess.CompletedProcess[str]:
    """``python -m baton ARGS...`` as a separate process with a terminal width of ``columns``."""
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def add_workflow(project: Path, name: str, text: str) -> None:
    """Append a workflow to the project's baton.yaml (``text`` indented as under workflows:)."""
    path = project / "baton.yaml"
    body = path.read_text()
    indented = "".join(f"  {line}\n" if line else "\n" for line in f"{name}:\n{text}".splitlines())
    path.write_text(body.rstrip("\n") + "\n" + indented)
