"""A user's project for the security tests: a fresh git repository, ``baton init``, then the
``baton`` command run as a subprocess (store and artifacts in ``.baton/`` of the workspace)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.agents.support import COPILOT_CACHE, TOOLS_BIN

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True,
                          text=True, check=True)
    return done.stdout


def user_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **GIT_ENV, "CI": os.environ.get("CI", "")}
    if TOOLS_BIN.is_dir():
        env["PATH"] = f"{TOOLS_BIN}:{env.get('PATH', os.defpath)}"
    if COPILOT_CACHE.is_dir():
        env.setdefault("COPILOT_PKG_CACHE_HOME", str(COPILOT_CACHE))
    for name in list(env):
        if name.startswith("BATON_"):
            del env[name]
    env.update(extra or {})
    return env


def baton(repo: Path, *args: str, env: dict[str, str] | None = None,
          timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=repo, env=user_env(env),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def baton_json(repo: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    done = baton(repo, *args, "--json", env=env)
    assert done.returncode == 0, f"baton {' '.join(args)}: {done.stderr}\n{done.stdout}"
    return json.loads(done.stdout)


def new_project(path: Path) -> Path:
    """A fresh repository with one commit, after ``baton init``."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "README.md").write_text("# demo\n")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "init")
    done = baton(path, "init")
    assert done.returncode == 0, done.stderr
    return path


def configure(repo: Path, agents: dict[str, Any], workflows: dict[str, Any],
              global_: dict[str, Any] | None = None) -> None:
    """Replace the agents and workflows of the baton.yaml that ``baton init`` wrote."""
    path = repo / "baton.yaml"
    data = yaml.safe_load(path.read_text())
    data["agents"] = {"sh": data["agents"]["sh"], **agents}
    data["workflows"] = workflows
    data["global"].update(global_ or {})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
