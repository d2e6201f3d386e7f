"""The Anthropic API adapter against the fake model server (real ``anthropic`` SDK, real HTTP)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from baton.agents.anthropic_api import OUTPUT_TOOL, AnthropicApiAgent
from baton.agents.base import AgentFailed, AgentTimeout, AgentUnavailable, RateLimited
from baton.agents.factory import create_adapter
from baton.agents.pricing import price
from tests.agents_api.support import API_KEY, TEST_PRICES, Events, api_agent, make_request
from tests.fixtures.fake_model_server import FakeModelServer, Hang, HttpError, Text, ToolCall

pytestmark = pytest.mark.api_agents

SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}


async def test_text_answer_with_usage_cost_and_transcript(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script(
        "anthropic", Text("hello from the fake model", input_tokens=1000, output_tokens=50, cached_tokens=200)
    )
    agent = api_agent("anthropic", fake_model_server, prices={"claude-sonnet-4-6": TEST_PRICES})
    adapter = create_adapter(agent)
    assert isinstance(adapter, AnthropicApiAgent) and adapter.acts_on_workspace is False

    result = await adapter.run(make_request(tmp_path, artifacts=True), events)

    assert result.text == "hello from the fake model"
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.cache_read_tokens) == (
        1000,
        50,
        200,
    )
    assert result.cost_usd == pytest.approx((1000 * 1.0 + 50 * 2.0 + 200 * 0.5) / 1e6)
    assert result.model == "claude-sonnet-4-6" and result.files_changed == []
    assert "".join(e.text for e in events.of("text")) == "hello from the fake model"
    # the request: one streamed Messages call, the key in a header, SDK retries off
    [req] = fake_model_server.requests_for("anthropic")
    assert req.path == "/v1/messages"
    assert req.body["model"] == "claude-sonnet-4-6" and req.body["stream"] is True
    assert req.body["messages"] == [{"role": "user", "content": "say hello"}]
    assert req.body["max_tokens"] == 8192
    assert API_KEY in (req.headers.get("x-api-key", "") + req.headers.get("authorization", ""))
    assert req.headers.get("x-stainless-retry-count") == "0"
    # the transcript: the request summary, then every stream event; no key
    transcript = Path(result.transcript_path or "")
    assert transcript.name == "step-1-anthropic-api.jsonl"
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert lines[0]["type"] == "baton.request" and lines[0]["prompt"] == "say hello"
    assert [line["type"] for line in lines[1:]][:2] == ["message_start", "content_block_start"]
    assert API_KEY not in transcript.read_text()


async def test_shipped_price_table_prices_the_call(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script("anthropic", Text("ok", input_tokens=400, output_tokens=10))
    result = await create_adapter(api_agent("anthropic", fake_model_server)).run(
        make_request(tmp_path), events
    )
    expected = price("claude-sonnet-4-6", result.usage)
    assert expected is not None and expected > 0
    assert result.cost_usd == expected


async def test_structured_output_is_a_forced_tool_call(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script("anthropic", ToolCall(OUTPUT_TOOL, {"answer": 42}))
    adapter = create_adapter(api_agent("anthropic", fake_model_server))
    result = await adapter.run(make_request(tmp_path, "what is 6*7?", output_schema=SCHEMA), events)

    assert result.json == {"answer": 42}
    assert json.loads(result.text) == {"answer": 42}
    body = fake_model_server.requests_for("anthropic")[0].body
    assert body["tools"][0]["name"] == OUTPUT_TOOL and body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": OUTPUT_TOOL}
    [tool] = events.of("tool_use")
    assert tool.data["input"] == {"answer": 42}


async def test_a_non_object_schema_is_asked_for_in_the_prompt(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    fake_model_server.script("anthropic", Text('```json\n["a", "b"]\n```'))
    adapter = create_adapter(api_agent("anthropic", fake_model_server))
    result = await adapter.run(make_request(tmp_path, "list two letters", output_schema=schema), events)

    assert result.json == ["a", "b"]
    body = fake_model_server.requests_for("anthropic")[0].body
    assert "tools" not in body
    assert "JSON Schema" in body["messages"][0]["content"]


@pytest.mark.parametrize(
    ("error", "kind", "retryable"),
    [
        (HttpError(500, "internal trouble"), AgentFailed, True),
        (HttpError(529, "overloaded"), AgentFailed, True),
        (HttpError(429, "slow down", {"retry-after": "7"}), RateLimited, True),
        (HttpError(401, f"invalid x-api-key {API_KEY}"), AgentFailed, False),
        (HttpError(403, "no access"), AgentFailed, False),
        (HttpError(400, "bad request"), AgentFailed, False),
    ],
)
async def test_http_errors_map_onto_the_error_tree(
    fake_model_server: FakeModelServer,
    events: Events,
    tmp_path: Path,
    error: HttpError,
    kind: type[Exception],
    retryable: bool,
) -> None:
    fake_model_server.script("anthropic", error)
    adapter = create_adapter(api_agent("anthropic", fake_model_server, agent_id="claude-api"))
    with pytest.raises(kind) as caught:
        await adapter.run(make_request(tmp_path), events)

    exc = caught.value
    message = str(exc)
    assert getattr(exc, "retryable", None) is retryable
    assert API_KEY not in message and "\n" not in message
    assert len(fake_model_server.requests_for("anthropic")) == 1  # the SDK did not retry
    if error.status == 429:
        assert isinstance(exc, RateLimited) and exc.retry_after == 7.0
    if error.status in (401, 403):
        assert "agents.claude-api.config.api_key" in message and "ANTHROPIC_API_KEY" in message
        assert f"HTTP {error.status}" in message


async def test_a_server_that_never_answers_is_abandoned_at_the_timeout(
    fake_model_server: FakeModelServer, events: Events, tmp_path: Path
) -> None:
    fake_model_server.script("anthropic", Hang())
    adapter = create_adapter(api_agent("anthropic", fake_model_server))
    started = time.monotonic()
    with pytest.raises(AgentTimeout, match=r"within 1\.5s"):
        await adapter.run(make_request(tmp_path, timeout=1.5), events)
    assert 1.4 <= time.monotonic() - started < 4.0


async def test_an_unreachable_endpoint_is_a_retryable_failure(events: Events, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agent = api_agent("anthropic", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(AgentFailed, match=f"cannot reach http://127.0.0.1:{port}") as caught:
        await create_adapter(agent).run(make_request(tmp_path), events)
    assert caught.value.retryable is True


async def test_a_missing_sdk_is_unavailable_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, events: Events, tmp_path: Path
) -> None:
    monkeypatch.setattr(AnthropicApiAgent, "sdk_name", "anthropic_sdk_not_installed")
    adapter = create_adapter(api_agent("anthropic"))
    with pytest.raises(AgentUnavailable, match=r"pip install 'baton\[api\]'"):
        await adapter.run(make_request(tmp_path), events)
    report = await adapter.check()
    assert not report.ok and "baton[api]" in report.detail


async def test_check_and_live_check(fake_model_server: FakeModelServer) -> None:
    adapter = create_adapter(api_agent("anthropic", fake_model_server))
    report = await adapter.check()
    assert report.ok and report.version and fake_model_server.url in report.detail
    assert fake_model_server.requests == []

    fake_model_server.script("anthropic", Text("ok"))
    live = await adapter.check(live=True)
    assert live.ok, live.detail
    [req] = fake_model_server.requests_for("anthropic")
    assert req.body["max_tokens"] == 16

    fake_model_server.script("anthropic", HttpError(401, "bad key"))
    failed = await adapter.check(live=True)
    assert not failed.ok and "credentials rejected" in failed.detail
