"""The user's path for integration tests: a fresh git repository, `baton init`, then `baton` commands.

The store is where `baton init` puts it (``.baton/baton.db`` inside the workspace); extra
agents and workflows are merged into the generated ``baton.yaml``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.git_repos import GIT_ENV


class Project:
    """A git repository initialised with `baton init`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def init(cls, root: Path) -> Project:
        root.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **GIT_ENV}
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True, env=env)
        (root / "README.md").write_text("# demo\n")
        subprocess.run(["git", "add", "README.md"], cwd=root, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "init"], cwd=root, check=True, env=env)
        project = cls(root)
        out = project.baton("init")
        assert out.returncode == 0, out.stderr
        return project

    @property
    def config_path(self) -> Path:
        return self.root / "baton.yaml"

    def configure(self, *, agents: dict[str, Any] | None = None,
                  workflows: dict[str, Any] | None = None,
                  global_: dict[str, Any] | None = None) -> None:
        """Merge agents, workflows and global settings into ``baton.yaml``."""
        data = yaml.safe_load(self.config_path.read_text())
        data.setdefault("agents", {}).update(agents or {})
        data.setdefault("workflows", {}).update(workflows or {})
        data.setdefault("global", {}).update(global_ or {})
        self.config_path.write_text(yaml.safe_dump(data, sort_keys=False))

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "baton", *args]

    def baton(self, *args: str, timeout: float = 180, **kw: Any) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **GIT_ENV, **kw.pop("env", {})}
        return subprocess.run(self.command(*args), cwd=self.root, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env=env, **kw)

    def popen(self, *args: str, **kw: Any) -> subprocess.Popen[str]:
        env = {**os.environ, **GIT_ENV, **kw.pop("env", {})}
        return subprocess.Popen(self.command(*args), cwd=self.root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                **kw)

    def json(self, *args: str) -> Any:
        out = self.baton(*args, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)
