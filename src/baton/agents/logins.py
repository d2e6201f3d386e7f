"""Whether a coding-agent CLI has credentials to work with, without calling it.

A CLI agent with ``config.base_url`` uses ``config.api_key`` (checked by the adapter's own
health check). Without one, each CLI uses its user's login: an API-key variable in the
environment, or the file the CLI's login command writes. This looks for both and says, in
one line, what to do when neither is there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class LoginSource:
    """Where one CLI finds its credentials."""

    cli: str
    variables: tuple[str, ...]
    files: tuple[str, ...]  # relative to the home folder (or to home_variable when set)
    home_variable: str | None
    login_command: str  # how to log in, commands in backticks


LOGINS: dict[str, LoginSource] = {
    "anthropic": LoginSource("claude",
                             ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"),
                             (".credentials.json",), "CLAUDE_CONFIG_DIR", "`claude /login`"),
    "openai": LoginSource("codex", ("OPENAI_API_KEY", "CODEX_API_KEY"), ("auth.json",), "CODEX_HOME",
                          "`codex login`"),
    "github": LoginSource("copilot", ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"),
                          ("config.json",), "COPILOT_HOME", "`copilot`, then `/login`"),
    "google": LoginSource("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), ("oauth_creds.json",),
                          "GEMINI_CLI_HOME", "`gemini`, then choose \"Login with Google\""),
}
_DEFAULT_HOMES = {"claude": ".claude", "codex": ".codex", "copilot": ".copilot", "gemini": ".gemini"}


def login_problem(
    provider: str, env: Mapping[str, str] | None = None, home: Path | None = None
) -> str | None:
    """None when the provider's CLI has credentials; else one actionable line."""
    source = LOGINS.get(provider)
    if source is None:
        return None
    env = os.environ if env is None else env
    if any(env.get(name) for name in source.variables):
        return None
    base = Path(env[source.home_variable]) if source.home_variable and env.get(source.home_variable) else (
        (home or Path(env.get("HOME") or Path.home())) / _DEFAULT_HOMES[source.cli]
    )
    if any((base / name).is_file() for name in source.files):
        return None
    if source.cli == "claude" and _claude_account(home or Path(env.get("HOME") or Path.home())):
        return None
    return (f"{source.cli} is not logged in: run {source.login_command} or set "
            f"{' or '.join(source.variables[:2])}")


def _claude_account(home: Path) -> bool:
    try:
        return "oauthAccount" in (home / ".claude.json").read_text(encoding="utf-8")
    except OSError:
        return False
