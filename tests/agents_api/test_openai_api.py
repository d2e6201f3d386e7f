"""The OpenAI-style adapter (OpenAI, GitHub Models, OpenAI-compatible) against the fake model server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from baton.agents.api_base import DeltaBuffer
from baton.agents.base import AgentFailed, AgentTimeout, AgentUnavailable, RateLimited
from baton.agents.factory import create_adapter
from baton.agents.openai_api import DEFAULT_BASE_URLS, OUTPUT_FORMAT, OpenAIApiAgent
from tests.agents_api.support import API_KEY, TEST_PRICES, Events, api_agent, make_request
from tests.fixtures.fake_model_server import FakeModelServer, Hang, HttpError, Text

pytestmark = pytest.mark.api_agents

SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}


async def test_chat_completions_text_usage_and_cost(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script(
        "chat", Text("hi from chat", input_tokens=1000, output_tokens=50, cached_tokens=200)
    )
    adapter = create_adapter(api_agent("openai", fake_model_server, prices={"gpt-4.1": TEST_PRICES}))
    assert isinstance(adapter, OpenAIApiAgent) and adapter.acts_on_workspace is False
    result = await adapter.run(make_request(tmp_path, artifacts=True), events)

    assert result.text == "hi from chat"
    # OpenAI counts cached tokens inside prompt_tokens; Baton's input excludes them
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.cache_read_tokens) == (
        800,
        50,
        200,
    )
    assert result.cost_usd == pytest.approx((800 * 1.0 + 50 * 2.0 + 200 * 0.5) / 1e6)
    assert [e.text for e in events.of("text")] == ["hi from chat"]
    [req] = fake_model_server.requests_for("chat")
    assert req.path == "/v1/chat/completions"
    assert req.body["stream"] is True and req.body["stream_options"] == {"include_usage": True}
    assert req.body["messages"] == [{"role": "user", "content": "say hello"}]
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert req.headers.get("x-stainless-retry-count") == "0"
    transcript = Path(result.transcript_path or "").read_text()
    assert "chat.completion.chunk" in transcript and API_KEY not in transcript


async def test_chat_structured_output_uses_a_json_schema_response_format(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script("chat", Text('{"answer": 42}'))
    adapter = create_adapter(api_agent("openai", fake_model_server, system="be terse", max_tokens=64))
    result = await adapter.run(make_request(tmp_path, output_schema=SCHEMA), events)

    assert result.json == {"answer": 42}
    body = fake_model_server.requests_for("chat")[0].body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": OUTPUT_FORMAT, "schema": SCHEMA, "strict": False},
    }
    assert body["messages"][0] == {"role": "system", "content": "be terse"}
    assert body["max_completion_tokens"] == 64


async def test_responses_api_text_usage_and_structured_output(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script(
        "responses", Text('{"answer": 7}', input_tokens=300, output_tokens=9, cached_tokens=100)
    )
    adapter = create_adapter(api_agent("openai", fake_model_server, wire_api="responses"))
    result = await adapter.run(make_request(tmp_path, output_schema=SCHEMA), events)

    assert result.json == {"answer": 7}
    assert (result.usage.input_tokens, result.usage.cache_read_tokens, result.usage.output_tokens) == (
        200,
        100,
        9,
    )
    assert result.metadata["response_id"].startswith("resp_")
    [req] = fake_model_server.requests_for("responses")
    assert req.body["input"] == "say hello" and req.body["stream"] is True
    assert req.body["text"]["format"] == {
        "type": "json_schema",
        "name": OUTPUT_FORMAT,
        "schema": SCHEMA,
        "strict": False,
    }


async def test_github_models_sends_its_api_version_and_defaults_to_its_endpoint(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    assert create_adapter(api_agent("github")).base_url == "https://models.github.ai/inference"
    assert DEFAULT_BASE_URLS["github"] == "https://models.github.ai/inference"
    fake_model_server.script("chat", Text("from github"))
    adapter = create_adapter(api_agent("github", fake_model_server))
    result = await adapter.run(make_request(tmp_path), events)
    assert result.text == "from github"
    req = fake_model_server.requests_for("chat")[0]
    assert req.headers["x-github-api-version"] == "2022-11-28"
    assert req.body["model"] == "openai/gpt-4.1"

    fake_model_server.script("chat", HttpError(401, "Bad credentials"))
    with pytest.raises(AgentFailed, match=r"GitHub Models.*GITHUB_TOKEN") as caught:
        await adapter.run(make_request(tmp_path), events)
    assert caught.value.retryable is False


async def test_openai_compatible_server_needs_no_key_but_a_base_url(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script("chat", Text("local answer"))
    adapter = create_adapter(api_agent("compatible", fake_model_server, max_tokens=32))
    result = await adapter.run(make_request(tmp_path), events)
    assert result.text == "local answer"
    assert result.cost_usd is None  # a local model has no price
    req = fake_model_server.requests_for("chat")[0]
    assert req.body["max_tokens"] == 32 and "max_completion_tokens" not in req.body

    unconfigured = create_adapter(api_agent("compatible"))
    with pytest.raises(AgentUnavailable, match=r"config.base_url .*11434/v1"):
        await unconfigured.run(make_request(tmp_path), events)


async def test_structured_output_by_prompt_for_servers_without_json_schema(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script("chat", Text('Sure:\n```json\n{"answer": 3}\n```'))
    adapter = create_adapter(api_agent("compatible", fake_model_server, structured_output="prompt"))
    result = await adapter.run(make_request(tmp_path, output_schema=SCHEMA), events)
    assert result.json == {"answer": 3}
    body = fake_model_server.requests_for("chat")[0].body
    assert "response_format" not in body and "JSON Schema" in body["messages"][-1]["content"]


async def test_non_streaming_mode_for_servers_that_cannot_stream(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script("chat", Text("whole answer", input_tokens=10, output_tokens=2))
    adapter = create_adapter(api_agent("compatible", fake_model_server, stream=False))
    result = await adapter.run(make_request(tmp_path), events)
    assert result.text == "whole answer" and result.usage.output_tokens == 2
    body = fake_model_server.requests_for("chat")[0].body
    assert "stream" not in body and "stream_options" not in body


@pytest.mark.parametrize("wire_api", ["chat", "responses"])
@pytest.mark.parametrize(
    ("error", "kind", "retryable"),
    [
        (HttpError(500, "internal trouble"), AgentFailed, True),
        (HttpError(503, "unavailable"), AgentFailed, True),
        (HttpError(429, "slow down", {"retry-after-ms": "2500"}), RateLimited, True),
        (HttpError(401, f"Incorrect API key provided: {API_KEY}"), AgentFailed, False),
    ],
)
async def test_http_errors_map_onto_the_error_tree(
    fake_model_server: FakeModelServer,
    events: Events,
    tmp_path: Path,
    wire_api: str,
    error: HttpError,
    kind: type[Exception],
    retryable: bool,
) -> None:
    fake_model_server.script(wire_api, error)
    adapter = create_adapter(api_agent("openai", fake_model_server, agent_id="gpt", wire_api=wire_api))
    with pytest.raises(kind) as caught:
        await adapter.run(make_request(tmp_path), events)
    message = str(caught.value)
    assert getattr(caught.value, "retryable", None) is retryable
    assert API_KEY not in message
    assert len(fake_model_server.requests_for(wire_api)) == 1
    if error.status == 429:
        assert isinstance(caught.value, RateLimited) and caught.value.retry_after == 2.5
    if error.status == 401:
        assert "agents.gpt.config.api_key" in message and "OPENAI_API_KEY" in message


@pytest.mark.parametrize("wire_api", ["chat", "responses"])
async def test_a_server_that_never_answers_is_abandoned_at_the_timeout(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path, wire_api: str
) -> None:
    fake_model_server.script(wire_api, Hang())
    adapter = create_adapter(api_agent("openai", fake_model_server, wire_api=wire_api))
    started = time.monotonic()
    with pytest.raises(AgentTimeout):
        await adapter.run(make_request(tmp_path, timeout=1.0), events)
    assert 0.9 <= time.monotonic() - started < 3.5


async def test_small_deltas_are_merged_into_fewer_text_events() -> None:
    events = Events()
    buffer = DeltaBuffer(events, min_chars=20, max_wait=60)
    pieces = [f"w{i} " for i in range(30)]  # 30 deltas of 3-4 characters
    for piece in pieces:
        await buffer.add(piece)
    await buffer.flush()
    texts = [e.text for e in events.of("text")]
    assert "".join(texts) == "".join(pieces)
    assert 3 <= len(texts) <= 8
    assert all(len(t) >= 20 for t in texts[:-1])

    slow = Events()
    timed = DeltaBuffer(slow, min_chars=10_000, max_wait=0.0)
    for piece in ("a", "b", "c"):
        await timed.add(piece)
    assert [e.text for e in slow.of("text")] == ["a", "b", "c"]  # time-based flushing


async def test_live_check_makes_one_tiny_call(fake_model_server: FakeModelServer) -> None:
    fake_model_server.script("chat", Text("ok"))
    adapter = create_adapter(api_agent("openai", fake_model_server))
    report = await adapter.check(live=True)
    assert report.ok, report.detail
    [req] = fake_model_server.requests_for("chat")
    assert req.body["max_completion_tokens"] == 16
    assert json.dumps(req.body).count("Reply with the single word") == 1
