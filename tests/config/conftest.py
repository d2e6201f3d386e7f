"""Fixtures for configuration tests: a throw-away project directory and a CLI runner."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from baton.config import ConfigError, LoadedConfig, load_configuration

MARK = "⟦"

VALID = """\
version: "1.0.0"
agents:
  sh: {provider: shell, model: bash, capabilities: [command]}
workflows:
  w:
    steps:
      - {id: a, agent_id: sh, prompt_template: "echo hi"}
"""


def unmark(text: str) -> tuple[str, int, int]:
    """``text`` without its ``⟦`` marker, and the marker's 1-based line and column."""
    index = text.index(MARK)
    before = text[:index]
    return text.replace(MARK, "", 1), before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


class Project:
    """A project directory whose loads never see the real user file or cache."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "BATON_USER_CONFIG": str(self.root / "no-such-user-config.yaml"),
            "BATON_CACHE_DIR": "",
            **extra,
        }

    def load(
        self,
        text: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        resolvers: Mapping[str, Any] | None = None,
    ) -> LoadedConfig:
        """Load (after writing ``text`` as baton.yaml); ``${secret:...}`` stays as written."""
        if text is not None:
            self.write("baton.yaml", text)
        return load_configuration(
            env=self.env() if env is None else env,
            overrides=overrides,
            cwd=self.root,
            resolvers={} if resolvers is None else resolvers,
        )

    def error(self, text: str | None = None, **kwargs: Any) -> ConfigError:
        with pytest.raises(ConfigError) as info:
            self.load(text, **kwargs)
        return info.value

    def assert_located(
        self, marked: str, field: str, fragment: str, *, file: str = "baton.yaml"
    ) -> ConfigError:
        """Load ``marked`` (with a ``⟦`` where the error must point) and check the error."""
        text, line, col = unmark(marked)
        err = self.error(text)
        assert (err.file, err.line, err.column, err.field_path) == (file, line, col, field), str(err)
        assert fragment in err.message, str(err)
        assert str(err).startswith(f"{file}:{line}:{col} {field}: ")
        assert "\n" not in str(err)
        return err


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
