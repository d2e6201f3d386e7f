"""The stream parsers on real transcripts recorded from each CLI (tests/fixtures/transcripts).

Each transcript is fed line by line, with an unknown event type, non-JSON lines and a
broken JSON line mixed in, as a CLI upgrade or a stray warning would.
"""

from __future__ import annotations

import json

import pytest

from baton.agents.base import AgentEvent
from baton.agents.claude import ClaudeParser
from baton.agents.cli_base import StreamParser
from baton.agents.codex import CodexParser
from baton.agents.copilot import CopilotParser, usage_by_model
from baton.agents.gemini import GeminiParser
from baton.agents.pricing import price_models
from tests.agents.support import TRANSCRIPTS

NOISE = [
    "",
    "Warning: 256-color support not detected.",
    '{"type": "brand.new.event", "payload": {"x": 1}}',
    "{not json at all",
    "[1, 2, 3]",
    '{"type": "result", "stats": "not-a-dict-where-a-dict-belongs"}',
]
PARSERS: dict[str, type[StreamParser]] = {
    "claude": ClaudeParser,
    "codex": CodexParser,
    "copilot": CopilotParser,
    "gemini": GeminiParser,
}


def feed(cli: str, case: str, noise: bool = True) -> tuple[StreamParser, list[AgentEvent]]:
    parser = PARSERS[cli]()
    lines = (TRANSCRIPTS / f"{cli}-{case}.jsonl").read_text().splitlines()
    events: list[AgentEvent] = []
    for i, line in enumerate(lines):
        if noise and i < len(NOISE):
            events += parser.feed(NOISE[i])
        events += parser.feed(line)
    return parser, events


@pytest.mark.parametrize("cli", list(PARSERS))
def test_text_transcript(cli: str) -> None:
    parser, events = feed(cli, "text")
    assert parser.text == "hello from the fake model"
    assert parser.completed
    assert parser.failure is None
    assert parser.session_id
    assert "hello from the fake model" in "".join(e.text for e in events if e.kind == "text")
    if cli != "copilot":  # copilot's tokens come from its usage file
        assert parser.usage.output_tokens == 50
        assert parser.usage.cache_read_tokens == 200
        assert parser.usage.input_tokens == (1000 if cli == "claude" else 800)


@pytest.mark.parametrize("cli", list(PARSERS))
def test_tool_transcript(cli: str) -> None:
    parser, events = feed(cli, "tool")
    kinds = [e.kind for e in events]
    assert parser.text == "I wrote hello.txt"
    assert parser.completed and parser.failure is None
    changes = [e.text for e in events if e.kind == "file_change"]
    assert len(changes) == 1 and changes[0].endswith("hello.txt")
    if cli != "codex":  # codex reports a patch as a file_change item, not a tool call
        assert "tool_use" in kinds and "tool_result" in kinds
        assert kinds.index("tool_use") < kinds.index("tool_result")


@pytest.mark.parametrize(
    ("cli", "status"),
    [("claude", 401), ("codex", 401), ("copilot", 401), ("gemini", 401)],
)
def test_unauthorized_transcript(cli: str, status: int) -> None:
    parser, events = feed(cli, "error401")
    assert parser.failure is not None
    assert parser.failure.status == status
    assert parser.failure.auth
    assert "error" in [e.kind for e in events]


@pytest.mark.parametrize("cli", list(PARSERS))
def test_rate_limited_transcript(cli: str) -> None:
    parser, _ = feed(cli, "error429")
    assert parser.failure is not None
    # gemini's message carries no status (its exit code does: 173 = 429 mod 256)
    assert parser.failure.status == (None if cli == "gemini" else 429)
    assert parser.failure.rate_limited


def test_claude_api_error_with_success_subtype_is_a_failure() -> None:
    lines = (TRANSCRIPTS / "claude-error429.jsonl").read_text().splitlines()
    result = json.loads(lines[-1])
    assert result["subtype"] == "success" and result["is_error"] is True
    parser = ClaudeParser()
    parser.feed(lines[-1])
    assert parser.failure is not None and parser.failure.status == 429


def test_claude_cost_and_structured_output() -> None:
    parser, _ = feed("claude", "text")
    assert parser.cost_usd == pytest.approx((1000 * 3 + 50 * 15 + 200 * 0.3) / 1_000_000)
    line = json.dumps(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": "",
            "structured_output": {"answer": 42},
        }
    )
    parser = ClaudeParser()
    parser.feed(line)
    assert parser.has_structured and parser.structured == {"answer": 42}


def test_events_arrive_line_by_line() -> None:
    parser = CodexParser()
    lines = (TRANSCRIPTS / "codex-tool.jsonl").read_text().splitlines()
    per_line = [parser.feed(line) for line in lines]
    kinds = [[e.kind for e in events] for events in per_line]
    assert kinds == [["status"], [], [], ["file_change"], ["text"], []]


def test_copilot_usage_file() -> None:
    report = json.loads((TRANSCRIPTS / "copilot-usage.json").read_text())
    per_model = usage_by_model(report)
    usage = per_model["gpt-5.4"]
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (600, 400, 30)
    prices = {"gpt-5.4": {"input": 1.0, "output": 2.0, "cache_read": 0.5}}
    assert price_models(per_model, prices) == pytest.approx((600 + 60 + 200) / 1_000_000)


def test_gemini_text_after_the_last_tool_is_the_answer() -> None:
    parser = GeminiParser()
    for obj in (
        {"type": "message", "role": "assistant", "content": "Let me write it.", "delta": True},
        {
            "type": "tool_use",
            "tool_name": "write_file",
            "tool_id": "t1",
            "parameters": {"file_path": "a.txt", "content": "x"},
        },
        {"type": "tool_result", "tool_id": "t1", "status": "success"},
        {"type": "message", "role": "assistant", "content": "Done", "delta": True},
        {"type": "message", "role": "assistant", "content": ".", "delta": True},
    ):
        parser.feed(json.dumps(obj))
    assert parser.text == "Done."
