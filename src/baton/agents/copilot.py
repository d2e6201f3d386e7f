"""GitHub Copilot CLI (``copilot``) as a Baton agent.

Runs ``copilot -p PROMPT --output-format json --no-auto-update --no-ask-user
--usage-output-file FILE``. A writing step allows the ``write`` and ``shell`` permission
kinds (never ``--allow-all-tools``); read-only calls deny them. Every call denies ``url``
(web fetches, shell commands naming a URL), ``shell(git push)`` and ``shell(gh)``, and runs
without copilot's built-in GitHub MCP servers unless ``config.builtin_mcps`` is true.
With ``config.base_url`` (OpenAI-style, ``.../v1``; a bare host gets ``/v1``) copilot runs in
BYOK offline mode (``COPILOT_PROVIDER_BASE_URL``, ``COPILOT_PROVIDER_API_KEY``,
``COPILOT_MODEL``, ``COPILOT_OFFLINE=true``) with a private ``COPILOT_HOME``; otherwise it
uses the user's Copilot login (``config.api_key`` becomes ``COPILOT_GITHUB_TOKEN``). The
process never gets ``GITHUB_TOKEN`` or ``GH_TOKEN`` from Baton's environment.

Token counts come only from the usage file (``modelMetrics``); cost is priced per model
from ``baton/data/prices.json``. ``max_turns`` has no copilot equivalent and is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from baton.agents.base import AgentEvent, Usage
from baton.agents.cli_base import CallContext, CliAgent, StreamParser, as_str_list
from baton.agents.codex import openai_base
from baton.agents.failures import Failure, from_message
from baton.agents.pricing import price_models
from baton.agents.structured import schema_instruction
from baton.workspace.process import ProcessResult

SHELL_TOOLS = {"bash", "shell", "powershell"}
# A writing step may edit files and run commands, nothing more: no ``--allow-all-tools``.
WRITING_TOOLS = ["--allow-tool=write", "--allow-tool=shell"]
# Denials win over every allow: no URL access (web fetch, or a shell command naming a URL),
# no pushing and no GitHub CLI — Baton alone pushes and talks to GitHub.
DENIED_TOOLS = ["--deny-tool=url", "--deny-tool=shell(git push)", "--deny-tool=shell(gh)"]


class CopilotParser(StreamParser):
    """Parses ``copilot --output-format json`` lines."""

    def __init__(self) -> None:
        super().__init__()
        self.exit_code: int | None = None

    def handle(self, obj: dict[str, Any]) -> list[AgentEvent]:
        kind = obj.get("type")
        data = obj.get("data") or {}
        if kind == "model.call_failure" and data.get("statusCode"):
            code = int(data["statusCode"])
            failure = from_message(f"HTTP {code} from the model", code)
            return self.retrying(failure, data.get("retryAttempt"))
        if obj.get("ephemeral"):
            return []
        if kind == "assistant.message":
            return self._message(data)
        if kind == "tool.execution_start":
            name = str(data.get("toolName"))
            args = data.get("arguments")
            if name in SHELL_TOOLS and isinstance(args, dict) and args.get("command"):
                return [
                    AgentEvent("command", str(args["command"]), {"command": args["command"], "tool": name})
                ]
            return []
        if kind == "tool.execution_complete":
            return self._tool_done(data)
        if kind == "session.error":
            status = data.get("statusCode")
            message = str(data.get("message") or "copilot session error")
            self.failure = from_message(message, int(status) if status else None)
            error_type = str(data.get("errorType") or "")
            self.failure.auth = self.failure.auth or error_type == "authentication"
            self.failure.rate_limited = self.failure.rate_limited or error_type == "rate_limit"
            return [AgentEvent("error", message, {"status": status, "error_type": error_type})]
        if kind == "result":
            self.completed = True
            self.session_id = obj.get("sessionId") or self.session_id
            self.exit_code = obj.get("exitCode")
            usage = obj.get("usage") or {}
            self.metadata["code_changes"] = usage.get("codeChanges")
            self.metadata["premium_requests"] = usage.get("premiumRequests")
            return []
        return []

    def _message(self, data: dict[str, Any]) -> list[AgentEvent]:
        events: list[AgentEvent] = []
        content = str(data.get("content") or "")
        if content:
            self.text = content
            events.append(AgentEvent("text", content))
        if data.get("model"):
            self.model = str(data["model"])
        for req in data.get("toolRequests") or []:
            name = str(req.get("name"))
            events.append(
                AgentEvent(
                    "tool_use",
                    name,
                    {"id": req.get("toolCallId"), "name": name, "arguments": req.get("arguments")},
                )
            )
        return events

    def _tool_done(self, data: dict[str, Any]) -> list[AgentEvent]:
        result = data.get("result") or {}
        error = data.get("error") or {}
        text = str(result.get("content") or error.get("message") or "")
        events = [
            AgentEvent(
                "tool_result", text, {"id": data.get("toolCallId"), "success": bool(data.get("success"))}
            )
        ]
        for edit in data.get("fileEdits") or []:
            events.append(
                AgentEvent(
                    "file_change", str(edit.get("path")), {"path": edit.get("path"), "kind": edit.get("kind")}
                )
            )
        return events


class CopilotAgent(CliAgent):
    """GitHub's Copilot CLI."""

    cli_name = "copilot"
    npm_package = "@github/copilot"
    # Never GITHUB_TOKEN / GH_TOKEN: copilot's credential is its own (COPILOT_GITHUB_TOKEN).
    own_env = ("COPILOT_",)
    credential_env = (
        "COPILOT_GITHUB_TOKEN",
        "COPILOT_HOME",
        "COPILOT_PROVIDER_BASE_URL",
        "COPILOT_PROVIDER_API_KEY",
        "COPILOT_PROVIDER_BEARER_TOKEN",
        "COPILOT_PROVIDER_API_KEY_COMMAND",
    )

    key_env = "COPILOT_GITHUB_TOKEN"
    home_residue = ("logs",)

    def credential_hint(self) -> str:
        if self.base_url:
            return f"agents.{self.agent.id}.config.api_key (sent as COPILOT_PROVIDER_API_KEY)"
        return super().credential_hint()

    def static_env(self) -> dict[str, str]:
        return {"COPILOT_AUTO_UPDATE": "false"}

    def provider_env(self, ctx: CallContext) -> dict[str, str]:
        env: dict[str, str] = {}
        if ctx.home is not None:
            env["COPILOT_HOME"] = str(ctx.home)
        if self.base_url:
            env.update(
                {
                    "COPILOT_PROVIDER_BASE_URL": openai_base(self.base_url),
                    "COPILOT_MODEL": self.agent.model,
                    "COPILOT_OFFLINE": "true",
                }
            )
            if self.api_key:
                env["COPILOT_PROVIDER_API_KEY"] = self.api_key
        elif self.api_key:
            env["COPILOT_GITHUB_TOKEN"] = self.api_key
        return env

    def build_args(self, ctx: CallContext) -> list[str]:
        request = ctx.request
        extra = ""
        if request.output_schema is not None:
            extra = schema_instruction(request.output_schema)
        usage_file = ctx.call_dir / "copilot-usage.json"
        ctx.extra["usage_file"] = usage_file
        args = [
            "-p",
            self.prompt_for(ctx, extra) or "",
            "--output-format",
            "json",
            "--no-auto-update",
            "--no-ask-user",
            "--disable-client-telemetry",
            "--usage-output-file",
            str(usage_file),
            "--model",
            self.agent.model,
        ]
        allowed = as_str_list(self.config.get("allowed_tools"))
        if request.writes_workspace:
            args += WRITING_TOOLS
        else:
            args.append("--deny-tool=write")
            if not any(tool.startswith("shell") for tool in allowed):
                args.append("--deny-tool=shell")
        args += DENIED_TOOLS
        if not self.config.get("builtin_mcps"):
            args.append("--disable-builtin-mcps")
        args += [f"--allow-tool={tool}" for tool in allowed]
        args += [f"--deny-tool={tool}" for tool in as_str_list(self.config.get("disallowed_tools"))]
        if self.config.get("mcp_config"):
            args += ["--additional-mcp-config", f"@{self.config['mcp_config']}"]
        if request.session_id:
            args.append(f"--resume={request.session_id}")
        return args + as_str_list(self.config.get("extra_args"))

    def new_parser(self, ctx: CallContext) -> StreamParser:
        return CopilotParser()

    def collect(self, ctx: CallContext, proc: ProcessResult, parser: StreamParser) -> None:
        path = ctx.extra.get("usage_file")
        try:
            report = json.loads(path.read_text(encoding="utf-8")) if path else None
        except (OSError, ValueError):
            report = None
        if not isinstance(report, dict):
            return
        per_model = usage_by_model(report)
        total = Usage()
        for usage in per_model.values():
            total = total + usage
        parser.usage = total
        parser.model = report.get("currentModel") or parser.model
        parser.cost_usd = price_models(per_model, self.config.get("prices"))

    def failure_of(self, proc: ProcessResult, parser: StreamParser, stderr: list[str]) -> Failure | None:
        if parser.failure is None and isinstance(parser, CopilotParser) and parser.exit_code:
            return Failure(message=f"copilot reported exit code {parser.exit_code}")
        return super().failure_of(proc, parser, stderr)


def usage_by_model(report: dict[str, Any]) -> dict[str, Usage]:
    """Per-model usage from a ``--usage-output-file`` report (input excludes cache reads)."""
    out: dict[str, Usage] = {}
    for model, metrics in (report.get("modelMetrics") or {}).items():
        usage = (metrics or {}).get("usage") or {}
        cached = int(usage.get("cacheReadTokens") or 0)
        out[model] = Usage(
            input_tokens=max(int(usage.get("inputTokens") or 0) - cached, 0),
            output_tokens=int(usage.get("outputTokens") or 0),
            cache_read_tokens=cached,
            cache_write_tokens=int(usage.get("cacheWriteTokens") or 0),
        )
    return out
