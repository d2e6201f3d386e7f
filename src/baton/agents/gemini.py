"""Gemini CLI (``gemini``) as a Baton agent.

Runs ``gemini -p PROMPT -o stream-json -m MODEL --skip-trust --approval-mode
default|yolo`` — ``-m`` always, because without it every prompt first makes a routing call.
Read-only calls use the ``default`` approval mode (headless gemini then offers no writing or
shell tools) and exclude ``web_fetch`` and ``google_web_search``; writing calls use ``yolo``.

With ``config.base_url`` or ``config.api_key`` gemini gets a private ``GEMINI_CLI_HOME``
whose ``.gemini/settings.json`` selects API-key auth (``GOOGLE_GEMINI_BASE_URL``,
``GEMINI_API_KEY``) and turns usage statistics off; otherwise the user's own login and
settings are used, with Baton's settings as system defaults. ``general.maxAttempts`` is
``config.cli_retries`` + 1 (gemini's default of 10 kept a 500 going for minutes); gemini's
retry notices on stderr ("Attempt 1 failed with status 500") are read as retry events.
``config.settings`` (a dict) is merged into those settings;
``max_turns`` → ``model.maxSessionTurns``, ``disallowed_tools`` → ``tools.exclude``,
``mcp_config`` (a JSON file with ``mcpServers``) → ``mcpServers``.

Failures: the exit code is the HTTP status mod 256 (145 = 401, 173 = 429, 244 = 500) and
41 means no usable auth. Gemini exits 0 after SIGTERM; Baton knows its own kills.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from baton.agents.base import AgentEvent, Usage
from baton.agents.cli_base import (
    CallContext,
    CliAgent,
    StreamParser,
    as_str_list,
    json_dumps,
    write_private,
)
from baton.agents.failures import Failure, from_message
from baton.agents.pricing import price_models
from baton.agents.structured import schema_instruction
from baton.workspace.process import ProcessResult

FILE_TOOLS = {"write_file", "replace", "edit"}
SHELL_TOOLS = {"run_shell_command"}
AUTH_EXIT = 41


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, merging nested dicts."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def status_from_exit(code: int | None) -> int | None:
    """The HTTP status gemini encoded in its exit code (status mod 256), if any."""
    if code is not None and 144 <= code <= 255:
        return code + 256
    return None


# gemini's retry notices on stderr (retryWithBackoff in its bundle)
RETRY_NOTICE = re.compile(
    r"Attempt (\d+) failed(?: with status (\d{3})| with (429|5xx) error|: (.*?)\. Retrying after)"
)


def retry_failure(line: str) -> tuple[Failure, str] | None:
    """(the failure, the attempt number) of a retry notice gemini printed, or None."""
    match = RETRY_NOTICE.search(line)
    if match is None:
        return None
    attempt, status, kind, quota = match.groups()
    if status:
        return from_message(line, int(status)), attempt
    if kind == "429":
        return from_message(line, 429), attempt
    if kind == "5xx":
        return Failure(message=line, server_error=True), attempt
    failure = from_message(quota or line)
    failure.rate_limited = failure.status is None  # only quota errors are retried after a delay
    return failure, attempt


class GeminiParser(StreamParser):
    """Parses ``gemini -o stream-json`` lines (and the retry notices it prints on stderr)."""

    def __init__(self) -> None:
        super().__init__()
        self._all_text: list[str] = []
        self._since_tool: list[str] = []
        self.per_model: dict[str, Usage] = {}

    def handle(self, obj: dict[str, Any]) -> list[AgentEvent]:
        kind = obj.get("type")
        if kind == "init":
            self.session_id = obj.get("session_id") or self.session_id
            self.model = obj.get("model") or self.model
            return [
                AgentEvent("status", "session started", {"session_id": self.session_id, "model": self.model})
            ]
        if kind == "message" and obj.get("role") == "assistant":
            chunk = str(obj.get("content") or "")
            if not obj.get("delta"):
                self._since_tool.clear()
            self._all_text.append(chunk)
            self._since_tool.append(chunk)
            self.text = "".join(self._since_tool).strip() or "".join(self._all_text).strip()
            return [AgentEvent("text", chunk)] if chunk else []
        if kind == "tool_use":
            return self._tool_use(obj)
        if kind == "tool_result":
            output = obj.get("output")
            error = obj.get("error") or {}
            return [
                AgentEvent(
                    "tool_result",
                    str(output or error.get("message") or ""),
                    {"id": obj.get("tool_id"), "status": obj.get("status")},
                )
            ]
        if kind == "error":
            message = str(obj.get("message") or "")
            return [AgentEvent("error", message, {"severity": obj.get("severity")})]
        if kind == "result":
            self._result(obj)
            return (
                [AgentEvent("error", self.failure.message, {"status": self.failure.status})]
                if self.failure
                else []
            )
        return []

    def feed_stderr(self, line: str) -> list[AgentEvent]:
        found = retry_failure(line)
        return self.retrying(*found) if found is not None else []

    def _tool_use(self, obj: dict[str, Any]) -> list[AgentEvent]:
        self._since_tool.clear()
        name = str(obj.get("tool_name"))
        params = obj.get("parameters") or {}
        events = [AgentEvent("tool_use", name, {"id": obj.get("tool_id"), "name": name, "input": params})]
        if name in FILE_TOOLS and params.get("file_path"):
            events.append(
                AgentEvent(
                    "file_change", str(params["file_path"]), {"path": params["file_path"], "tool": name}
                )
            )
        elif name in SHELL_TOOLS and params.get("command"):
            events.append(AgentEvent("command", str(params["command"]), {"command": params["command"]}))
        return events

    def _result(self, obj: dict[str, Any]) -> None:
        self.completed = True
        stats = obj.get("stats") or {}
        models = stats.get("models") or {}
        source = models or {self.model or "": stats}
        total = Usage()
        for model, numbers in source.items():
            cached = int(numbers.get("cached") or 0)
            usage = Usage(
                input_tokens=max(int(numbers.get("input_tokens") or 0) - cached, 0),
                output_tokens=int(numbers.get("output_tokens") or 0),
                cache_read_tokens=cached,
            )
            self.per_model[model] = usage
            total = total + usage
        self.usage = total
        if len(models) == 1:
            self.model = next(iter(models))
        self.metadata["tool_calls"] = stats.get("tool_calls")
        if obj.get("status") not in (None, "success"):
            error = obj.get("error") or {}
            message = str(error.get("message") or "gemini reported an error")
            self.failure = from_message(message, _embedded_status(message))


def _embedded_status(message: str) -> int | None:
    """The ``code`` of a Google error JSON quoted inside gemini's message, if present."""
    start = message.find("{")
    end = message.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(message[start : end + 1])
    except ValueError:
        return None
    code = (data.get("error") or {}).get("code") if isinstance(data, dict) else None
    return int(code) if isinstance(code, int) else None


# Excluded from read-only calls: nothing a read-only agent reads can leave through them.
NETWORK_TOOLS = ("web_fetch", "google_web_search")


class GeminiAgent(CliAgent):
    """Google's Gemini CLI."""

    cli_name = "gemini"
    npm_package = "@google/gemini-cli"
    own_env = ("GEMINI_", "GOOGLE_")
    credential_env = (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_CLOUD_PROJECT",
        "GEMINI_CLI_HOME",
    )
    key_env = "GEMINI_API_KEY"
    home_residue = (".gemini/oauth_creds.json", ".gemini/google_accounts.json")

    def wants_private_home(self) -> bool:
        return bool(self.base_url or self.api_key)

    def static_env(self) -> dict[str, str]:
        return {"GEMINI_CLI_NO_RELAUNCH": "true"}

    def settings(self, with_auth: bool, read_only: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "privacy": {"usageStatisticsEnabled": False},
            "general": {"maxAttempts": self.cli_retries() + 1},
        }
        if with_auth:
            data["security"] = {"auth": {"selectedType": "gemini-api-key"}}
        if self.config.get("max_turns"):
            data["model"] = {"maxSessionTurns": int(self.config["max_turns"])}
        denied = as_str_list(self.config.get("disallowed_tools"))
        if read_only:
            denied += [tool for tool in NETWORK_TOOLS if tool not in denied]
        if denied:
            data["tools"] = {"exclude": denied}
        if self.config.get("mcp_config"):
            servers = json.loads(Path(str(self.config["mcp_config"])).read_text("utf-8"))
            data["mcpServers"] = servers.get("mcpServers") or servers
        extra = self.config.get("settings")
        if isinstance(extra, dict):
            data = deep_merge(data, extra)
        return data

    def prepare(self, ctx: CallContext) -> None:
        read_only = not ctx.request.writes_workspace
        if ctx.home is not None:
            settings = self.settings(with_auth=True, read_only=read_only)
            write_private(ctx.home / ".gemini" / "settings.json", json_dumps(settings))
        else:
            path = ctx.call_dir / "system-defaults.json"
            write_private(path, json_dumps(self.settings(with_auth=False, read_only=read_only)))
            ctx.extra["defaults"] = path
        (ctx.call_dir / "tmp").mkdir(exist_ok=True)

    def provider_env(self, ctx: CallContext) -> dict[str, str]:
        env = {"TMPDIR": str(ctx.call_dir / "tmp")}
        if ctx.home is not None:
            env["GEMINI_CLI_HOME"] = str(ctx.home)
        if "defaults" in ctx.extra:
            env["GEMINI_CLI_SYSTEM_DEFAULTS_PATH"] = str(ctx.extra["defaults"])
        if self.base_url:
            base = self.base_url
            for suffix in ("/v1beta", "/v1"):
                base = base.removesuffix(suffix)
            env["GOOGLE_GEMINI_BASE_URL"] = base
        if self.api_key:
            env["GEMINI_API_KEY"] = self.api_key
        return env

    def build_args(self, ctx: CallContext) -> list[str]:
        request = ctx.request
        extra = schema_instruction(request.output_schema) if request.output_schema else ""
        args = [
            "-p",
            self.prompt_for(ctx, extra) or "",
            "-o",
            "stream-json",
            "-m",
            self.agent.model,
            "--skip-trust",
            "--approval-mode",
            "yolo" if request.writes_workspace else "default",
        ]
        for tool in as_str_list(self.config.get("allowed_tools")):
            args += ["--allowed-tools", tool]
        if request.session_id:
            args += ["--resume", request.session_id]
        return args + as_str_list(self.config.get("extra_args"))

    def new_parser(self, ctx: CallContext) -> StreamParser:
        return GeminiParser()

    def collect(self, ctx: CallContext, proc: ProcessResult, parser: StreamParser) -> None:
        if isinstance(parser, GeminiParser) and parser.per_model:
            parser.cost_usd = price_models(parser.per_model, self.config.get("prices"))

    def failure_of(self, proc: ProcessResult, parser: StreamParser, stderr: list[str]) -> Failure | None:
        exit_status = status_from_exit(proc.exit_code)
        if proc.exit_code == AUTH_EXIT:
            tail = " | ".join(line.strip() for line in stderr[-3:] if line.strip())
            return Failure(message=tail or "no usable authentication", auth=True)
        failure = super().failure_of(proc, parser, stderr)
        if failure is not None and failure.status is None and exit_status is not None:
            return from_message(failure.message, exit_status)
        return failure
