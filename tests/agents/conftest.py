"""Fixtures for the coding-CLI adapter tests: the fake model server, workspaces, events.

The real ``claude``/``codex``/``copilot``/``gemini`` binaries are used (``.ci/agents.sh``
installs them into ``.tools/npm``; they are put on PATH here when present). A test that
needs a missing binary is skipped locally and fails under ``CI=true``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.support import COPILOT_CACHE, TOOLS_BIN, Events
from tests.fixtures.fake_model_server import FakeModelServer


def pytest_configure(config: pytest.Config) -> None:
    if TOOLS_BIN.is_dir() and str(TOOLS_BIN) not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = f"{TOOLS_BIN}:{os.environ.get('PATH', os.defpath)}"
    if COPILOT_CACHE.is_dir():
        os.environ.setdefault("COPILOT_PKG_CACHE_HOME", str(COPILOT_CACHE))


@pytest.fixture
def fake_model_server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as server:
        yield server


@pytest.fixture
def git_workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    (ws / "README.md").write_text("# test repo\n")
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "README.md"],
        ["git", "commit", "-q", "-m", "init"],
    ):
        subprocess.run(cmd, cwd=ws, env=env, check=True)
    return ws


@pytest.fixture
def events() -> Events:
    return Events()
