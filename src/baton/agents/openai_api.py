"""OpenAI-style model APIs as a Baton agent (the official ``openai`` SDK).

One adapter serves three providers:

- ``openai``: the OpenAI API (``https://api.openai.com/v1``);
- ``github``: GitHub Models (``https://models.github.ai/inference``; ``api_key`` is a
  GitHub token with the ``models`` scope, models are named like ``openai/gpt-4.1``);
- ``openai-compatible``: any server speaking Chat Completions, such as a local
  llama.cpp, Ollama or vLLM, at ``config.base_url`` (``api_key`` optional).

Chat Completions is the default wire protocol (every such server speaks it); the
Responses API is used with ``config.wire_api: responses``. The answer is streamed with
usage included; OpenAI counts cached tokens inside the prompt tokens, so
``input_tokens`` here is prompt minus cached. A step's ``output_schema`` becomes
``response_format: {type: json_schema}`` (Chat Completions) or ``text.format``
(Responses), non-strict unless ``config.strict_schema: true``;
``config.structured_output: prompt`` asks for JSON in the prompt instead, for servers
without JSON-schema support.

Extra config keys: ``wire_api``, ``max_tokens``, ``system``, ``temperature``,
``strict_schema``, ``structured_output``, ``stream`` (false for servers that cannot
stream), ``stream_usage`` (false for servers that reject ``stream_options``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from baton.agents.api_base import ApiAgent, CallOutcome, DeltaBuffer, Transcript
from baton.agents.base import AgentError, AgentEvent, AgentRequest, Usage
from baton.agents.failures import from_message, to_error
from baton.agents.structured import schema_instruction
from baton.observability.redact import redactor

DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "github": "https://models.github.ai/inference",
}
LABELS = {"openai": "OpenAI API", "github": "GitHub Models", "openai-compatible": "OpenAI-compatible server"}
KEY_ENVS = {"openai": "OPENAI_API_KEY", "github": "GITHUB_TOKEN"}
# The SDK insists on a key; local servers ignore it.
NO_KEY = "not-needed"
OUTPUT_FORMAT = "baton_output"


def _usage(prompt: int | None, completion: int | None, cached: int | None) -> Usage:
    cached = int(cached or 0)
    return Usage(
        input_tokens=max(int(prompt or 0) - cached, 0),
        output_tokens=int(completion or 0),
        cache_read_tokens=cached,
    )


class OpenAIApiAgent(ApiAgent):
    """Calls OpenAI, GitHub Models or an OpenAI-compatible server."""

    sdk_name = "openai"
    sdk_base_error = "OpenAIError"

    @property
    def label(self) -> str:
        return LABELS.get(self.agent.provider, f"{self.agent.provider} API")

    @property
    def key_env(self) -> str:
        return KEY_ENVS.get(self.agent.provider, "")

    @property
    def default_base_url(self) -> str | None:
        return DEFAULT_BASE_URLS.get(self.agent.provider)

    @property
    def wire_api(self) -> str:
        return "responses" if self.config.get("wire_api") == "responses" else "chat"

    def unavailable_reason(self) -> str | None:
        if self.agent.provider == "openai-compatible" and not self.config.get("base_url"):
            return (
                f"agent {self.agent.id!r}: provider 'openai-compatible' needs config.base_url "
                "(e.g. http://127.0.0.1:8080/v1 for llama.cpp, http://127.0.0.1:11434/v1 for Ollama)"
            )
        return super().unavailable_reason()

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.agent.provider == "github":
            headers.setdefault("X-GitHub-Api-Version", "2022-11-28")
        return headers

    def _schema_mode(self, request: AgentRequest) -> str | None:
        """None (no schema), ``native`` or ``prompt``."""
        if request.output_schema is None:
            return None
        return "prompt" if self.config.get("structured_output") == "prompt" else "native"

    def _prompt(self, request: AgentRequest) -> str:
        if self._schema_mode(request) == "prompt":
            assert request.output_schema is not None
            return request.prompt + schema_instruction(request.output_schema)
        return request.prompt

    def chat_params(self, request: AgentRequest, max_tokens: int | None) -> dict[str, Any]:
        """The ``chat.completions.create`` arguments for ``request``."""
        messages: list[dict[str, str]] = []
        if self.config.get("system"):
            messages.append({"role": "system", "content": str(self.config["system"])})
        messages.append({"role": "user", "content": self._prompt(request)})
        params: dict[str, Any] = {"model": self.agent.model, "messages": messages}
        if self.config.get("stream", True):
            params["stream"] = True
            if self.config.get("stream_usage", True):
                params["stream_options"] = {"include_usage": True}
        if max_tokens:
            # OpenAI's newer models refuse max_tokens; other servers may not know its successor.
            key = "max_tokens" if self.agent.provider == "openai-compatible" else "max_completion_tokens"
            params[key] = max_tokens
        if self.config.get("temperature") is not None:
            params["temperature"] = float(self.config["temperature"])
        if self._schema_mode(request) == "native":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": OUTPUT_FORMAT,
                    "schema": request.output_schema,
                    "strict": bool(self.config.get("strict_schema", False)),
                },
            }
        return params

    def responses_params(self, request: AgentRequest, max_tokens: int | None) -> dict[str, Any]:
        """The ``responses.create`` arguments for ``request``."""
        params: dict[str, Any] = {"model": self.agent.model, "input": self._prompt(request), "stream": True}
        if self.config.get("system"):
            params["instructions"] = str(self.config["system"])
        if max_tokens:
            params["max_output_tokens"] = max_tokens
        if self.config.get("temperature") is not None:
            params["temperature"] = float(self.config["temperature"])
        if self._schema_mode(request) == "native":
            params["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": OUTPUT_FORMAT,
                    "schema": request.output_schema,
                    "strict": bool(self.config.get("strict_schema", False)),
                }
            }
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
        client = sdk.AsyncOpenAI(**{**self.client_options(request), "api_key": self.api_key or NO_KEY})
        async with client:
            if self.wire_api == "responses":
                await self._responses(client, request, buffer, transcript, outcome, max_tokens)
            else:
                await self._chat(client, request, buffer, transcript, outcome, max_tokens)

    # -- Chat Completions ---------------------------------------------------------------------
    async def _chat(
        self,
        client: Any,
        request: AgentRequest,
        buffer: DeltaBuffer,
        transcript: Transcript,
        outcome: CallOutcome,
        max_tokens: int | None,
    ) -> None:
        params = self.chat_params(request, max_tokens)
        if not params.get("stream"):
            completion = await client.chat.completions.create(**params)
            transcript.write(completion.model_dump(mode="json", exclude_none=True))
            outcome.model, outcome.response_id = completion.model, completion.id
            for choice in completion.choices:
                if choice.message.content:
                    outcome.text_parts.append(choice.message.content)
                    await buffer.add(choice.message.content)
                outcome.refusal += getattr(choice.message, "refusal", None) or ""
                outcome.stop_reason = choice.finish_reason or outcome.stop_reason
            self._chat_usage(outcome, completion.usage)
            return
        stream = await client.chat.completions.create(**params)
        async for chunk in stream:
            transcript.write(chunk.model_dump(mode="json", exclude_none=True))
            outcome.model = chunk.model or outcome.model
            outcome.response_id = chunk.id or outcome.response_id
            for choice in chunk.choices or ():
                delta = choice.delta
                if delta is not None and delta.content:
                    outcome.text_parts.append(delta.content)
                    await buffer.add(delta.content)
                if delta is not None and getattr(delta, "refusal", None):
                    outcome.refusal += delta.refusal
                if delta is not None and delta.tool_calls:
                    for call in delta.tool_calls:
                        function = getattr(call, "function", None)
                        if function is not None and function.name:
                            await buffer.add_event(
                                AgentEvent("tool_use", function.name, {"id": call.id, "name": function.name})
                            )
                outcome.stop_reason = choice.finish_reason or outcome.stop_reason
            self._chat_usage(outcome, chunk.usage)

    @staticmethod
    def _chat_usage(outcome: CallOutcome, usage: Any) -> None:
        if usage is None:
            return
        details = getattr(usage, "prompt_tokens_details", None)
        outcome.usage = _usage(
            usage.prompt_tokens, usage.completion_tokens, getattr(details, "cached_tokens", None)
        )

    # -- Responses ------------------------------------------------------------------------------
    async def _responses(
        self,
        client: Any,
        request: AgentRequest,
        buffer: DeltaBuffer,
        transcript: Transcript,
        outcome: CallOutcome,
        max_tokens: int | None,
    ) -> None:
        stream = await client.responses.create(**self.responses_params(request, max_tokens))
        async for event in stream:
            transcript.write(event.model_dump(mode="json", exclude_none=True))
            kind = event.type
            if kind == "response.output_text.delta":
                outcome.text_parts.append(event.delta)
                await buffer.add(event.delta)
            elif kind == "response.refusal.delta":
                outcome.refusal += event.delta
            elif kind == "response.output_item.done" and event.item.type == "function_call":
                await buffer.add_event(
                    AgentEvent(
                        "tool_use", event.item.name, {"id": event.item.call_id, "name": event.item.name}
                    )
                )
            elif kind in ("response.created", "response.completed", "response.incomplete"):
                self._response_done(event.response, outcome)
            elif kind == "response.failed":
                self._response_done(event.response, outcome)
                error = event.response.error
                raise self._stream_error(
                    getattr(error, "message", None) or "the response failed", getattr(error, "code", None)
                )
            elif kind == "error":
                raise self._stream_error(event.message, getattr(event, "code", None))

    def _response_done(self, response: Any, outcome: CallOutcome) -> None:
        outcome.model = response.model or outcome.model
        outcome.response_id = response.id or outcome.response_id
        outcome.stop_reason = response.status or outcome.stop_reason
        if not outcome.text_parts and response.status == "completed" and response.output_text:
            outcome.text_parts.append(response.output_text)
        usage = response.usage
        if usage is not None:
            details = getattr(usage, "input_tokens_details", None)
            outcome.usage = _usage(
                usage.input_tokens, usage.output_tokens, getattr(details, "cached_tokens", None)
            )

    def _stream_error(self, message: str, code: Any) -> AgentError:
        text = f"{message} ({code})" if code else message
        failure = from_message(text)
        if code == "rate_limit_exceeded":
            failure.status = 429
        return to_error(
            failure,
            agent_id=self.agent.id,
            cli=self.label,
            credential_hint=self.credential_hint(),
            secrets=redactor().values(),
        )
