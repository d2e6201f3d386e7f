"""OpenAI Codex (``codex``) as a Baton agent.

Runs ``codex exec --json --skip-git-repo-check -s read-only|workspace-write -m MODEL PROMPT``
(stdin closed: an open stdin blocks codex forever). With ``config.base_url`` (an
OpenAI-style base such as ``http://host:port/v1``; a bare host gets ``/v1``) Baton writes a
private ``CODEX_HOME/config.toml`` whose ``model_providers.baton`` entry uses the Responses
wire API and reads its key from ``BATON_CODEX_API_KEY``, which only this child's
environment holds, and whose ``request_max_retries`` / ``stream_max_retries`` are
``config.cli_retries`` (codex's defaults, 4 and 5, made one 500 cost 30 requests).
Without it codex uses the user's own ``~/.codex`` login, with analytics, update checks and
plugins switched off by ``-c`` overrides (its built-in provider keeps its own retry budget).

Codex prints no cost; it is priced from ``baton/data/prices.json``. It has no options for
``max_turns`` or tool allow-lists, so those keys are ignored; ``mcp_config`` (a JSON file
with ``mcpServers``) becomes ``-c mcp_servers.NAME={...}`` overrides.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from baton.agents.base import AgentEvent
from baton.agents.cli_base import CallContext, CliAgent, StreamParser, as_str_list, write_private
from baton.agents.failures import Failure, from_message

KEY_VARIABLE = "BATON_CODEX_API_KEY"
# codex's retry notice: "Reconnecting... 2/5 (unexpected status 401 Unauthorized: ...)"
RECONNECTING = re.compile(r"^Reconnecting\.\.\.\s*(\d+)/\d+\s*\((.*)\)\s*$", re.DOTALL)
# what codex says for any 5xx answer (its InternalServerError), without the status
SERVER_ERROR_TEXT = "experiencing high demand"
PROVIDER = "baton"
QUIET_SETTINGS: dict[str, Any] = {
    "check_for_update_on_startup": False,
    "analytics": {"enabled": False},
    "features": {"plugins": False},
}


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (inline tables for dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_document(data: dict[str, Any]) -> str:
    """A TOML document: scalars first, then one ``[table]`` per nested dict."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []

    def walk(prefix: str, table: dict[str, Any]) -> None:
        for key, value in table.items():
            if isinstance(value, dict):
                tables.append((f"{prefix}{key}", value))
            else:
                lines.append(f"{key} = {toml_value(value)}")

    walk("", data)
    while tables:
        name, table = tables.pop(0)
        lines.append(f"\n[{name}]")
        nested = [(k, v) for k, v in table.items() if isinstance(v, dict)]
        for key, value in table.items():
            if not isinstance(value, dict):
                lines.append(f"{key} = {toml_value(value)}")
        tables[0:0] = [(f"{name}.{k}", v) for k, v in nested]
    return "\n".join(lines) + "\n"


def openai_base(url: str) -> str:
    """An OpenAI-style base URL: a bare ``scheme://host:port`` gets ``/v1``."""
    url = url.rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url


def codex_failure(message: str) -> Failure:
    """A failure from codex's message; codex names no status for a 5xx, only this sentence."""
    failure = from_message(message)
    failure.server_error = failure.status is None and SERVER_ERROR_TEXT in message
    return failure


class CodexParser(StreamParser):
    """Parses ``codex exec --json`` lines."""

    def __init__(self) -> None:
        super().__init__()
        self.last_error: str | None = None

    def handle(self, obj: dict[str, Any]) -> list[AgentEvent]:
        kind = obj.get("type")
        if kind == "thread.started":
            self.session_id = obj.get("thread_id") or self.session_id
            return [AgentEvent("status", "thread started", {"session_id": self.session_id})]
        if kind in ("item.started", "item.completed"):
            return self._item(obj.get("item") or {}, done=kind == "item.completed")
        if kind == "turn.completed":
            usage = obj.get("usage") or {}
            cached = int(usage.get("cached_input_tokens") or 0)
            self.usage.input_tokens += max(int(usage.get("input_tokens") or 0) - cached, 0)
            self.usage.cache_read_tokens += cached
            self.usage.cache_write_tokens += int(usage.get("cache_write_input_tokens") or 0)
            self.usage.output_tokens += int(usage.get("output_tokens") or 0)
            self.completed = True
            return []
        if kind == "turn.failed":
            message = str((obj.get("error") or {}).get("message") or self.last_error or "")
            self.failure = codex_failure(message or "codex turn failed")
            self.completed = True
            return [AgentEvent("error", message, {"final": True})]
        if kind == "error":
            self.last_error = str(obj.get("message") or "")
            events = [AgentEvent("error", self.last_error)]
            retry = RECONNECTING.match(self.last_error)
            if retry:
                events += self.retrying(codex_failure(retry.group(2)), retry.group(1))
            return events
        return []

    def _item(self, item: dict[str, Any], done: bool) -> list[AgentEvent]:
        itype = item.get("type")
        if itype == "agent_message" and done:
            self.text = str(item.get("text") or "")
            return [AgentEvent("text", self.text)]
        if itype == "command_execution":
            if not done:
                return [
                    AgentEvent("command", str(item.get("command") or ""), {"command": item.get("command")})
                ]
            return [
                AgentEvent(
                    "tool_result",
                    str(item.get("aggregated_output") or ""),
                    {
                        "command": item.get("command"),
                        "exit_code": item.get("exit_code"),
                        "status": item.get("status"),
                    },
                )
            ]
        if itype == "file_change" and done:
            return [
                AgentEvent(
                    "file_change",
                    str(change.get("path")),
                    {"path": change.get("path"), "kind": change.get("kind")},
                )
                for change in item.get("changes") or []
            ]
        if itype == "mcp_tool_call":
            name = f"{item.get('server')}.{item.get('tool')}"
            if not done:
                return [AgentEvent("tool_use", name, {"name": name, "arguments": item.get("arguments")})]
            return [
                AgentEvent(
                    "tool_result",
                    json.dumps(item.get("result"))[:10_000],
                    {"name": name, "status": item.get("status")},
                )
            ]
        if itype == "error" and done:
            message = str(item.get("message") or "")
            return [AgentEvent("error", message)]
        return []


class CodexAgent(CliAgent):
    """OpenAI's Codex CLI (also used for OpenAI-compatible servers)."""

    cli_name = "codex"
    npm_package = "@openai/codex"
    own_env = ("OPENAI_", "CODEX_", "AZURE_OPENAI_")
    credential_env = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_API_KEY", "CODEX_HOME")
    key_env = "OPENAI_API_KEY"
    home_residue = ("shell_snapshots", "auth.json", "log", "logs_*.sqlite*")
    reads_prompt_from_stdin = True

    def provider_env(self, ctx: CallContext) -> dict[str, str]:
        env: dict[str, str] = {}
        if ctx.home is not None:
            env["CODEX_HOME"] = str(ctx.home)
        if self.api_key:
            if self.base_url:
                env[KEY_VARIABLE] = self.api_key
            else:
                env["OPENAI_API_KEY"] = self.api_key
                env["CODEX_API_KEY"] = self.api_key
        return env

    def credential_hint(self) -> str:
        if self.base_url:
            return f"agents.{self.agent.id}.config.api_key (sent as {KEY_VARIABLE})"
        return super().credential_hint()

    def prepare(self, ctx: CallContext) -> None:
        if ctx.home is None or not self.base_url:
            return
        provider = {
            "name": PROVIDER,
            "base_url": openai_base(self.base_url),
            "env_key": KEY_VARIABLE,
            "wire_api": "responses",
            "request_max_retries": self.cli_retries(),
            "stream_max_retries": self.cli_retries(),
        }
        document = {
            "model": self.agent.model,
            "model_provider": PROVIDER,
            **QUIET_SETTINGS,
            "model_providers": {PROVIDER: provider},
        }
        write_private(ctx.home / "config.toml", toml_document(document))

    def _overrides(self) -> list[str]:
        pairs: list[tuple[str, Any]] = []
        if not self.base_url:
            pairs += [
                ("check_for_update_on_startup", False),
                ("analytics.enabled", False),
                ("features.plugins", False),
            ]
        mcp = self.config.get("mcp_config")
        if mcp:
            servers = json.loads(Path(str(mcp)).read_text(encoding="utf-8"))
            for name, spec in (servers.get("mcpServers") or servers).items():
                pairs.append((f"mcp_servers.{name}", spec))
        args: list[str] = []
        for key, value in pairs:
            args += ["-c", f"{key}={toml_value(value)}"]
        return args

    def build_args(self, ctx: CallContext) -> list[str]:
        request = ctx.request
        args = [
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-s",
            "workspace-write" if request.writes_workspace else "read-only",
            "-m",
            self.agent.model,
            *self._overrides(),
        ]
        if request.output_schema is not None:
            schema_path = ctx.call_dir / "output-schema.json"
            write_private(schema_path, json.dumps(request.output_schema))
            args += ["--output-schema", str(schema_path)]
        args += as_str_list(self.config.get("extra_args"))
        if request.session_id:
            args += ["resume", request.session_id]
        prompt = self.prompt_for(ctx)
        return [*args, prompt if prompt is not None else "-"]

    def new_parser(self, ctx: CallContext) -> StreamParser:
        return CodexParser()
