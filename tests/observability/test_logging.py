"""Structured log lines: JSON, ids bound for everything logged inside an execution, secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from baton.agents.base import AgentRequest
from baton.observability.logging import LogObserver, configure_logging
from baton.observability.redact import register_secret
from tests.observability.conftest import MakeBaton, scripted

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)
    yield out
    configure_logging("warning", "console", events=False)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_every_line_of_an_execution_carries_its_ids(make_baton: MakeBaton, stream: io.StringIO) -> None:
    def handler(request: AgentRequest) -> dict[str, Any]:
        structlog.get_logger("my.tool").info("inside the agent", detail=f"key={SECRET}")
        logging.getLogger("some.library").warning("stdlib line with %s", SECRET)
        return {"reply": "done"}

    register_secret(SECRET)
    agents = {"bot": scripted()}
    workflow = {
        "w": {
            "steps": [
                {"id": "first", "agent_id": "bot", "prompt_template": "x"},
                {"id": "second", "agent_id": "bot", "prompt_template": "y"},
            ]
        }
    }
    baton = make_baton(workflow, agents, observers=[LogObserver()], handlers={"bot": handler})
    handle = baton.run("w")
    await handle.wait()
    records = lines(stream)
    trace_id = handle.context.trace_id
    mine = [r for r in records if r.get("execution_id") == handle.id]
    kinds = [r.get("kind") for r in mine]
    assert "execution.started" in kinds and "step.completed" in kinds and "execution.completed" in kinds
    tool_lines = [r for r in records if r["event"] == "inside the agent"]
    assert [r["step_id"] for r in tool_lines] == ["first", "second"]
    assert all(r["execution_id"] == handle.id and r["trace_id"] == trace_id for r in tool_lines)
    assert all(r["detail"] == "key=***" and r["level"] == "info" for r in tool_lines)
    stdlib = [r for r in records if r.get("logger") == "some.library"]
    assert len(stdlib) == 2
    assert all(r["trace_id"] == trace_id and r["event"] == "stdlib line with ***" for r in stdlib)
    assert SECRET not in stream.getvalue()
    completed = next(r for r in mine if r.get("kind") == "step.completed" and r.get("step_id") == "second")
    assert completed["level"] == "info" and completed["agent_id"] == "bot"


async def test_events_can_be_left_to_the_cli(make_baton: MakeBaton) -> None:
    out = io.StringIO()
    configure_logging("info", "console", stream=out, events=False)
    try:
        baton = make_baton(
            {"w": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "x"}]}},
            {"bot": scripted()},
            observers=[LogObserver()],
        )
        await baton.run_to_end("w")
        structlog.get_logger("x").warning("still logged")
    finally:
        configure_logging("warning", "console", events=False)
    text = out.getvalue()
    assert "step.completed" not in text
    assert "still logged" in text and "[warning  ]" in text


def test_a_deferred_setup_formats_and_redacts_the_first_record(capsys: pytest.CaptureFixture[str]) -> None:
    """`baton status` sets logging up on the first record: that record and the next are
    Baton's lines (structlog format, secrets masked); nothing below the level is printed."""
    from baton.observability.logsetup import DeferredSetup, configure_on_first_record

    register_secret(SECRET)
    try:
        configure_on_first_record("warning")
        root = logging.getLogger()
        assert [type(h) for h in root.handlers if h.get_name() == "baton-structlog"] == [DeferredSetup]
        logging.getLogger("some.library").info("below the level %s", SECRET)
        logging.getLogger("some.library").warning("first line with %s", SECRET)
        logging.getLogger("other").error("second line")
        assert not any(isinstance(h, DeferredSetup) for h in root.handlers)
        err = capsys.readouterr().err
        assert "below the level" not in err
        assert "first line with" in err and "second line" in err and "[warning  ]" in err
        assert SECRET not in err
    finally:
        configure_logging("warning", "console", events=False)
