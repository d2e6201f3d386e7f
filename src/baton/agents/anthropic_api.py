"""The Anthropic Messages API as a Baton agent (the official ``anthropic`` SDK).

The answer is streamed (``messages.create(stream=True)``); usage comes from
``message_start`` / ``message_delta`` (``input_tokens`` excludes cache reads, as
:class:`~baton.agents.base.Usage` does) and the cost from Baton's price table. A step's
``output_schema`` becomes a forced tool (``tool_choice: {type: tool}``) whose input is the
answer, when the schema describes an object (the only shape a tool input may have);
other schemas, or ``config.structured_output: prompt``, ask for JSON in the prompt.

Extra config keys: ``max_tokens`` (default 8192; the API requires one), ``system``,
``temperature``, ``structured_output`` (``tool`` or ``prompt``).
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from baton.agents.api_base import ApiAgent, CallOutcome, DeltaBuffer, Transcript
from baton.agents.base import AgentEvent, AgentRequest, InvalidOutput, Usage
from baton.agents.structured import schema_instruction

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 8192
OUTPUT_TOOL = "baton_output"


def _uses_tool(schema: dict[str, Any] | None, mode: str) -> bool:
    return schema is not None and mode != "prompt" and schema.get("type") == "object"


class AnthropicApiAgent(ApiAgent):
    """Calls Claude models through the Anthropic Messages API."""

    sdk_name = "anthropic"
    sdk_base_error = "AnthropicError"

    @property
    def label(self) -> str:
        return "anthropic API"

    @property
    def key_env(self) -> str:
        return "ANTHROPIC_API_KEY"

    @property
    def default_base_url(self) -> str:
        return DEFAULT_BASE_URL

    def params(self, request: AgentRequest, max_tokens: int | None) -> dict[str, Any]:
        """The ``messages.create`` arguments for ``request``."""
        schema = request.output_schema
        mode = str(self.config.get("structured_output") or "tool")
        prompt = request.prompt
        if schema is not None and not _uses_tool(schema, mode):
            prompt += schema_instruction(schema)
        params: dict[str, Any] = {
            "model": self.agent.model,
            "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
        }
        if self.config.get("system"):
            params["system"] = str(self.config["system"])
        if self.config.get("temperature") is not None:
            params["temperature"] = float(self.config["temperature"])
        if schema is not None and _uses_tool(schema, mode):
            params["tools"] = [
                {
                    "name": OUTPUT_TOOL,
                    "description": "Return your final answer as this tool's input. Call it exactly once.",
                    "input_schema": schema,
                }
            ]
            params["tool_choice"] = {"type": "tool", "name": OUTPUT_TOOL}
        return params

    async def call(
        self,
        sdk: ModuleType,
        request: AgentRequest,
        buffer: DeltaBuffer,
        transcript: Transcript,
        outcome: CallOutcome,
        max_tokens: int | None,
    ) -> None:
        client = sdk.AsyncAnthropic(**self.client_options(request))
        async with client:
            stream = await client.messages.create(**self.params(request, max_tokens))
            tools: dict[int, dict[str, Any]] = {}
            async for event in stream:
                transcript.write(event.model_dump(mode="json", exclude_none=True))
                await self._handle(event, buffer, outcome, tools)

    async def _handle(
        self, event: Any, buffer: DeltaBuffer, outcome: CallOutcome, tools: dict[int, dict[str, Any]]
    ) -> None:
        kind = event.type
        if kind == "message_start":
            message = event.message
            outcome.model = message.model or outcome.model
            outcome.response_id = message.id
            self._usage(outcome, message.usage)
        elif kind == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                tools[event.index] = {"id": block.id, "name": block.name, "parts": []}
            elif block.type == "text" and block.text:
                outcome.text_parts.append(block.text)
                await buffer.add(block.text)
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                outcome.text_parts.append(delta.text)
                await buffer.add(delta.text)
            elif delta.type == "input_json_delta" and event.index in tools:
                tools[event.index]["parts"].append(delta.partial_json)
        elif kind == "content_block_stop" and event.index in tools:
            await self._tool_done(tools.pop(event.index), buffer, outcome)
        elif kind == "message_delta":
            outcome.stop_reason = event.delta.stop_reason or outcome.stop_reason
            self._usage(outcome, event.usage)

    async def _tool_done(self, tool: dict[str, Any], buffer: DeltaBuffer, outcome: CallOutcome) -> None:
        raw = "".join(tool["parts"]) or "{}"
        try:
            args = json.loads(raw)
        except ValueError:
            raise InvalidOutput(
                f"agent {self.agent.id!r} ({self.label}) returned a truncated or malformed "
                f"{tool['name']} call (stop reason {outcome.stop_reason!r}); raise config.max_tokens "
                "if the answer is long",
                agent_id=self.agent.id,
            ) from None
        await buffer.add_event(
            AgentEvent("tool_use", str(tool["name"]), {"id": tool["id"], "name": tool["name"], "input": args})
        )
        if tool["name"] == OUTPUT_TOOL:
            outcome.json = args
            outcome.has_json = True

    @staticmethod
    def _usage(outcome: CallOutcome, usage: Any) -> None:
        """Anthropic reports cumulative counts; later events only carry the fields that changed."""
        if usage is None:
            return
        current = outcome.usage
        outcome.usage = Usage(
            input_tokens=_count(usage, "input_tokens", current.input_tokens),
            output_tokens=_count(usage, "output_tokens", current.output_tokens),
            cache_read_tokens=_count(usage, "cache_read_input_tokens", current.cache_read_tokens),
            cache_write_tokens=_count(usage, "cache_creation_input_tokens", current.cache_write_tokens),
        )


def _count(usage: Any, name: str, previous: int) -> int:
    value = getattr(usage, name, None)
    return previous if value is None else int(value)
