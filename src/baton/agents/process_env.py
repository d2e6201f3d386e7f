"""The environment, secrets and private folders of an agent program Baton starts.

Shared by the headless CLI adapters (:mod:`baton.agents.cli_base`) and the ACP agents
(:mod:`baton.agents.acp`), which start the same vendors' programs another way. An agent
program gets an allow-listed environment (its own vendor variables, ``config.env``,
``config.env_allow``, the step's variables), and, when it must not use the user's login, a
private config home. A call's home (``<artifacts>/homes/<step>-<attempt>-<agent>``, or
``homes/<agent>`` when kept) and call folder are created 0700; when the call ends the home is
deleted, or, when kept, stripped of :attr:`ProcessEnvironment.home_residue` and scrubbed of
every registered secret, and the call folder is scrubbed the same way.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from baton.agents.base import AgentBase, AgentRequest
from baton.observability.propagation import agent_traceparent
from baton.observability.redact import redactor
from baton.private import lock_down, private_dir, scrub_tree
from baton.workspace.environment import child_environment

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)


@dataclass
class CallContext:
    """Everything one call of an agent program needs while it is being assembled."""

    request: AgentRequest
    program: list[str]
    home: Path | None
    call_dir: Path
    prompt: str
    env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # text for the CLI's stdin (a prompt too large for one argv item), else stdin is closed
    stdin: str | None = None


def as_str_list(value: Any) -> list[str]:
    """A config value given as a list or a comma-separated string, as a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return [str(part) for part in value]
    return [str(value)]


class ProcessEnvironment(AgentBase):
    """Environment, secrets and private home of one agent's program; vendors fill the hooks."""

    # The program's name, in messages and temporary folder names.
    cli_name: ClassVar[str]
    # Parent-environment variables that belong to this program (exact names or NAME_ prefixes).
    own_env: ClassVar[tuple[str, ...]] = ()
    # Credential variables dropped from the parent environment when base_url is configured.
    credential_env: ClassVar[tuple[str, ...]] = ()
    # The variable that carries config.api_key, named in credential errors.
    key_env: ClassVar[str] = ""
    # Whether the program gets a private config home even without base_url.
    always_private_home: ClassVar[bool] = False
    # What the program leaves in its home that holds its environment or credentials (shell
    # snapshots, logs, auth files; glob patterns relative to the home): removed even when
    # the home is kept.
    home_residue: ClassVar[tuple[str, ...]] = ()

    def credential_hint(self) -> str:
        where = f"agents.{self.agent.id}.config.api_key"
        return f"{where} (or {self.key_env})" if self.key_env else where

    # -- hooks --------------------------------------------------------------------------
    def wants_private_home(self) -> bool:
        """Whether this call gets its own config home (the user's login is not needed)."""
        return bool(self.base_url) or self.always_private_home

    def static_env(self) -> dict[str, str]:
        """Variables this program always gets (telemetry and auto-update off, ...)."""
        return {}

    def provider_env(self, ctx: CallContext) -> dict[str, str]:
        """Variables for this call: endpoint, key, config home."""
        return {}

    def prepare(self, ctx: CallContext) -> None:
        """Write private config files into ``ctx.home`` / ``ctx.call_dir`` (optional hook)."""
        return None

    # -- shared machinery -----------------------------------------------------------------
    def secrets(self) -> list[str]:
        """Values that must never appear in messages, events or transcripts."""
        found = [self.api_key] if self.api_key else []
        for name, value in (self.config.get("env") or {}).items():
            if _SECRET_NAME.search(str(name)) and value:
                found.append(str(value))
        found.extend(redactor().values())  # every ${secret:...} and agent key Baton knows of
        return found

    def _allowed_names(self) -> set[str]:
        names: set[str] = set()
        for name in os.environ:
            for own in self.own_env:
                if name == own or (own.endswith("_") and name.startswith(own)):
                    names.add(name)
        if self.base_url:
            names -= set(self.credential_env)
        names.update(as_str_list(self.config.get("env_allow")))
        return names

    def build_env(self, ctx: CallContext | None) -> dict[str, str]:
        extra: dict[str, str] = dict(self.static_env())
        if ctx is not None:
            extra.update(self.provider_env(ctx))
        for key, value in (self.config.get("env") or {}).items():
            extra[str(key)] = str(value)
        if ctx is not None:
            extra.update(ctx.request.environment)
            if traceparent := agent_traceparent(ctx.request.trace_id):
                extra["TRACEPARENT"] = traceparent
        return child_environment(allow=self._allowed_names(), extra=extra)

    @contextlib.contextmanager
    def call_dirs(self, request: AgentRequest, secrets: list[str],
                  keep_home: bool | None = None) -> Iterator[tuple[Path | None, Path]]:
        """(private config home or None, per-call folder) for one call; retired afterwards.

        ``keep_home`` (default ``config.keep_home``) keeps the home across the agent's calls
        in one execution, so a later call can resume a session.
        """
        wants_home = self.wants_private_home()
        keep = self.config.get("keep_home") is True if keep_home is None else keep_home
        if request.artifacts_dir is not None:
            base = private_dir(Path(request.artifacts_dir))
            call_dir = private_dir(private_dir(base / "calls") / self.call_name(request))
            name = self.agent.id if keep else self.call_name(request)
            home = private_dir(private_dir(base / "homes") / name) if wants_home else None
            try:
                yield home, call_dir
            finally:
                self._retire(home, call_dir, secrets, keep)
            return
        with tempfile.TemporaryDirectory(prefix=f"baton-{self.cli_name}-") as tmp:
            call_dir = private_dir(Path(tmp) / "call")
            home = private_dir(Path(tmp) / "home") if wants_home else None
            yield home, call_dir

    def _retire(self, home: Path | None, call_dir: Path, secrets: list[str], keep: bool) -> None:
        """Delete the call's home (or strip and scrub a kept one) and scrub the call folder."""
        if home is not None:
            if keep:
                for pattern in self.home_residue:
                    for path in home.glob(pattern):
                        if path.is_dir() and not path.is_symlink():
                            shutil.rmtree(path, ignore_errors=True)
                        else:
                            path.unlink(missing_ok=True)
                scrub_tree(home, secrets)
                lock_down(home)
            else:
                shutil.rmtree(home, ignore_errors=True)
        scrub_tree(call_dir, secrets)
        lock_down(call_dir)
