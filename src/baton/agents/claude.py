"""Claude Code (``claude``) as a Baton agent.

Runs ``claude -p PROMPT --output-format stream-json --verbose`` with
``--permission-mode plan`` (read-only, with ``WebFetch`` and ``WebSearch`` disallowed) or
``acceptEdits`` (the step writes the workspace).
With ``config.base_url`` it talks to that endpoint (``ANTHROPIC_BASE_URL`` /
``ANTHROPIC_API_KEY``) and keeps its state in a private ``CLAUDE_CONFIG_DIR``; otherwise it
uses the user's own login. Claude reports ``total_cost_usd`` itself. An API failure is a
``result`` with ``is_error: true`` (often with ``subtype: "success"``) and
``api_error_status``. Claude retries failed requests itself (401 included) and says so in
``{"type":"system","subtype":"api_retry","error_status":401}`` events: Baton stops it at the
first rejected credential, and its own retry budget is ``config.cli_retries``
(``CLAUDE_CODE_MAX_RETRIES``, default 1, unless the user set that variable) so Baton's
retry policy is in charge.
"""

from __future__ import annotations

import json
import os
from typing import Any

from baton.agents.base import AgentEvent, Usage
from baton.agents.cli_base import CallContext, CliAgent, StreamParser, as_str_list
from baton.agents.failures import from_message
from baton.workspace.process import ProcessResult

RETRIES_ENV = "CLAUDE_CODE_MAX_RETRIES"
FILE_TOOLS = {"Write", "Edit", "MultiEdit", "NotebookEdit"}
SHELL_TOOLS = {"Bash"}
# Disallowed in read-only calls: nothing a read-only agent reads can leave through them.
NETWORK_TOOLS = ("WebFetch", "WebSearch")


class ClaudeParser(StreamParser):
    """Parses ``claude --output-format stream-json --verbose`` lines."""

    def handle(self, obj: dict[str, Any]) -> list[AgentEvent]:
        kind = obj.get("type")
        if kind == "system" and obj.get("subtype") == "init":
            self.session_id = obj.get("session_id") or self.session_id
            self.model = obj.get("model") or self.model
            return [
                AgentEvent(
                    "status",
                    "session started",
                    {
                        "session_id": self.session_id,
                        "model": self.model,
                        "permission_mode": obj.get("permissionMode"),
                    },
                )
            ]
        if kind == "system" and obj.get("subtype") == "api_retry":
            status = obj.get("error_status")
            message = str(obj.get("error") or "api error")
            return self.retrying(from_message(message, int(status) if status else None), obj.get("attempt"))
        if kind == "assistant":
            return self._assistant(obj)
        if kind == "user":
            return self._tool_results(obj)
        if kind == "result":
            self._result(obj)
            return (
                [AgentEvent("error", self.failure.message, {"status": self.failure.status})]
                if self.failure
                else []
            )
        return []

    def _assistant(self, obj: dict[str, Any]) -> list[AgentEvent]:
        message = obj.get("message") or {}
        events: list[AgentEvent] = []
        usage = message.get("usage")
        if isinstance(usage, dict) and message.get("id"):
            self.streamed[str(message["id"])] = Usage(
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
                cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
                cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
            )
        api_error = obj.get("is_api_error_message") or obj.get("error")
        for block in message.get("content") or []:
            btype = block.get("type")
            if btype == "text" and block.get("text"):
                events.append(AgentEvent("error" if api_error else "text", block["text"]))
            elif btype == "tool_use":
                name = str(block.get("name"))
                args = block.get("input") or {}
                events.append(
                    AgentEvent("tool_use", name, {"id": block.get("id"), "name": name, "input": args})
                )
                if name in FILE_TOOLS and args.get("file_path"):
                    events.append(
                        AgentEvent(
                            "file_change", str(args["file_path"]), {"path": args["file_path"], "tool": name}
                        )
                    )
                elif name in SHELL_TOOLS and args.get("command"):
                    events.append(AgentEvent("command", str(args["command"]), {"command": args["command"]}))
        return events

    def _tool_results(self, obj: dict[str, Any]) -> list[AgentEvent]:
        content = (obj.get("message") or {}).get("content")
        if not isinstance(content, list):
            return []
        events = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                body = block.get("content")
                if isinstance(body, list):
                    body = "\n".join(str(part.get("text", "")) for part in body if isinstance(part, dict))
                events.append(
                    AgentEvent(
                        "tool_result",
                        str(body or ""),
                        {"id": block.get("tool_use_id"), "is_error": bool(block.get("is_error"))},
                    )
                )
        return events

    def _result(self, obj: dict[str, Any]) -> None:
        self.completed = True
        self.session_id = obj.get("session_id") or self.session_id
        self.text = str(obj.get("result") or "")
        usage = obj.get("usage") or {}
        self.usage.input_tokens = int(usage.get("input_tokens") or 0)
        self.usage.output_tokens = int(usage.get("output_tokens") or 0)
        self.usage.cache_read_tokens = int(usage.get("cache_read_input_tokens") or 0)
        self.usage.cache_write_tokens = int(usage.get("cache_creation_input_tokens") or 0)
        if obj.get("total_cost_usd") is not None:
            self.cost_usd = float(obj["total_cost_usd"])
        models = obj.get("modelUsage") or {}
        if len(models) == 1:
            self.model = next(iter(models))
        if "structured_output" in obj and obj["structured_output"] is not None:
            self.has_structured = True
            self.structured = obj["structured_output"]
        self.metadata.update(
            {
                "num_turns": obj.get("num_turns"),
                "terminal_reason": obj.get("terminal_reason"),
                "permission_denials": obj.get("permission_denials") or [],
            }
        )
        subtype = str(obj.get("subtype") or "")
        if obj.get("is_error") or subtype.startswith("error"):
            status = obj.get("api_error_status")
            message = self.text or subtype or "claude reported an error"
            self.failure = from_message(message, int(status) if status else None)


class ClaudeAgent(CliAgent):
    """Anthropic's Claude Code CLI."""

    cli_name = "claude"
    npm_package = "@anthropic-ai/claude-code"
    own_env = (
        "ANTHROPIC_",
        "CLAUDE_",
        "API_TIMEOUT_MS",
        "MAX_THINKING_TOKENS",
        "DISABLE_AUTOUPDATER",
        "IS_SANDBOX",
    )
    credential_env = (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "CLAUDE_CONFIG_DIR",
    )
    key_env = "ANTHROPIC_API_KEY"
    home_residue = ("shell-snapshots", ".credentials.json", "debug", "statsig")
    reads_prompt_from_stdin = True

    def static_env(self) -> dict[str, str]:
        env = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
        if "cli_retries" in self.config or RETRIES_ENV not in os.environ:  # the user's own setting stays
            env[RETRIES_ENV] = str(self.cli_retries())
        return env

    def provider_env(self, ctx: CallContext) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.base_url:
            env["ANTHROPIC_BASE_URL"] = self.base_url
        if self.api_key:
            env["ANTHROPIC_API_KEY"] = self.api_key
        if ctx.home is not None:
            env["CLAUDE_CONFIG_DIR"] = str(ctx.home)
        return env

    def build_args(self, ctx: CallContext) -> list[str]:
        request = ctx.request
        prompt = self.prompt_for(ctx)
        args = [
            "-p",
            *([prompt] if prompt is not None else []),
            "--output-format",
            "stream-json",
            "--verbose",
            "--model",
            self.agent.model,
            "--permission-mode",
            "acceptEdits" if request.writes_workspace else "plan",
        ]
        if self.config.get("max_turns"):
            args += ["--max-turns", str(int(self.config["max_turns"]))]
        allowed = as_str_list(self.config.get("allowed_tools"))
        if allowed:
            args += ["--allowedTools", ",".join(allowed)]
        denied = as_str_list(self.config.get("disallowed_tools"))
        if not request.writes_workspace:
            denied += [tool for tool in NETWORK_TOOLS if tool not in denied]
        if denied:
            args += ["--disallowedTools", ",".join(denied)]
        if self.config.get("mcp_config"):
            args += ["--mcp-config", str(self.config["mcp_config"])]
        if request.output_schema is not None:
            args += ["--json-schema", json.dumps(request.output_schema)]
        if request.session_id:
            args += ["--resume", request.session_id]
        return args + as_str_list(self.config.get("extra_args"))

    def new_parser(self, ctx: CallContext) -> StreamParser:
        return ClaudeParser()

    def login_status_args(self) -> list[str] | None:
        return ["auth", "status"]

    def login_from_status(self, proc: ProcessResult) -> tuple[bool, str]:
        try:
            state = json.loads(proc.stdout)
        except ValueError:
            state = None
        if not isinstance(state, dict):
            return True, "installed, login not verified (use --live)"
        if not state.get("loggedIn"):
            return False, ("not logged in (`claude auth status`): run `claude /login` or set "
                           "ANTHROPIC_API_KEY, or give the agent config.base_url and config.api_key")
        method = state.get("apiKeySource") or state.get("authMethod") or "?"
        return True, f"logged in ({method}, per `claude auth status`); not tried without --live"
