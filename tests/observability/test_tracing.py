"""Traces of real workflow runs, collected by OpenTelemetry's in-memory exporter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from baton.engine.clock import FakeClock
from baton.models import ExecutionStatus
from baton.observability.trace_export import ExecutionFileExporter
from baton.observability.tracing import TracingObserver, tracer_provider
from tests.observability.conftest import SHELL, MakeBaton, reply, scripted


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def observer(
    exporter: InMemorySpanExporter | ExecutionFileExporter, agents: dict[str, object]
) -> TracingObserver:
    from baton.models import AgentConfig

    provider = tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return TracingObserver(provider, {k: AgentConfig.model_validate(v) for k, v in agents.items()})


def hexid(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.span_id:016x}"


def parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan | None:
    if span.parent is None:
        return None
    return next(s for s in spans if s.context is not None and s.context.span_id == span.parent.span_id)


AGENTS = {
    "writer": scripted(
        "claude-like",
        script={
            "plan": [reply("the plan", input_tokens=1200, output_tokens=300, cost=0.0081)],
            "build": [
                {"fail": "rate_limited", "retry_after": 3},
                reply("built", input_tokens=2000, output_tokens=500, cost=0.0135),
            ],
        },
    ),
    "sh": SHELL,
}
WORKFLOW = {
    "w": {
        "steps": [
            {"id": "plan", "agent_id": "writer", "prompt_template": "plan it"},
            {
                "id": "build",
                "agent_id": "writer",
                "prompt_template": "build {{ outputs.plan.text }}",
                "retry_policy": {"max_attempts": 2, "retry_on": ["rate_limited"]},
            },
            {"id": "probe", "agent_id": "sh", "prompt_template": 'printf "%s" "$TRACEPARENT"'},
        ]
    }
}


async def test_span_tree_and_attributes_of_a_run(make_baton: MakeBaton, spans: InMemorySpanExporter) -> None:
    baton = make_baton(WORKFLOW, AGENTS, clock=FakeClock(), observers=[observer(spans, AGENTS)])
    handle = baton.run("w")
    result = await handle.wait()
    assert result.status is ExecutionStatus.COMPLETED
    finished = list(spans.get_finished_spans())
    trace_ids = {f"{s.context.trace_id:032x}" for s in finished if s.context is not None}
    assert trace_ids == {handle.context.trace_id}

    (root,) = [s for s in finished if s.parent is None]
    assert root.name == "workflow w"
    assert root.attributes is not None
    assert root.attributes["baton.execution.id"] == handle.id
    assert root.attributes["baton.execution.status"] == "completed"
    assert root.attributes["baton.usage.total_tokens"] == 1200 + 300 + 2000 + 500
    assert root.attributes["baton.cost_usd"] == pytest.approx(0.0081 + 0.0135)
    assert root.status.status_code is StatusCode.OK

    steps = [s for s in finished if s.name.startswith("step ")]
    assert sorted(s.name for s in steps) == ["step build", "step build", "step plan", "step probe"]
    assert all(parent_of(s, finished) is root for s in steps)
    agents = [s for s in finished if s.name.startswith("invoke_agent ")]
    assert len(agents) == 4  # one per attempt
    for agent in agents:
        step = parent_of(agent, finished)
        assert step is not None and step.name.startswith("step ")
        assert agent.start_time is not None and step.start_time is not None
        assert step.start_time <= agent.start_time and agent.end_time == step.end_time

    plan_agent = next(a for a in agents if parent_of(a, finished).name == "step plan")  # type: ignore[union-attr]
    attrs = dict(plan_agent.attributes or {})
    assert attrs["gen_ai.system"] == "scripted"
    assert attrs["gen_ai.request.model"] == "claude-like"
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.usage.input_tokens"] == 1200
    assert attrs["gen_ai.usage.output_tokens"] == 300
    assert attrs["baton.cost_usd"] == pytest.approx(0.0081)
    assert plan_agent.name == "invoke_agent claude-like"

    first, second = sorted(
        (s for s in steps if s.name == "step build"), key=lambda s: (s.attributes or {})["baton.step.attempt"]
    )
    assert first.status.status_code is StatusCode.ERROR
    retry = next(e for e in first.events if e.name == "retry")
    assert retry.attributes is not None and retry.attributes["error.type"] == "RateLimited"
    assert retry.attributes["baton.retry.delay_seconds"] >= 3
    failed_call = next(a for a in agents if parent_of(a, finished) is first)
    assert failed_call.status.status_code is StatusCode.ERROR
    assert any(
        e.name == "exception" and (e.attributes or {})["exception.type"] == "RateLimited"
        for e in failed_call.events
    )
    assert second.status.status_code is StatusCode.OK
    assert (second.attributes or {})["baton.step.status"] == "completed"


async def test_agent_subprocess_gets_the_agent_span_as_traceparent(
    make_baton: MakeBaton, spans: InMemorySpanExporter
) -> None:
    baton = make_baton(WORKFLOW, AGENTS, clock=FakeClock(), observers=[observer(spans, AGENTS)])
    handle = baton.run("w")
    result = await handle.wait()
    finished = list(spans.get_finished_spans())
    probe_step = next(s for s in finished if s.name == "step probe")
    probe_call = next(
        s for s in finished if s.parent is not None and s.parent.span_id == probe_step.context.span_id
    )  # type: ignore[union-attr]
    assert result.outputs["probe"]["text"] == f"00-{handle.context.trace_id}-{hexid(probe_call)}-01"


async def test_without_tracing_the_child_still_joins_the_execution_trace(make_baton: MakeBaton) -> None:
    baton = make_baton(WORKFLOW, AGENTS, clock=FakeClock())
    handle = baton.run("w")
    result = await handle.wait()
    assert result.outputs["probe"]["text"].startswith(f"00-{handle.context.trace_id}-")


async def test_cache_hit_is_an_event_without_an_agent_call(
    make_baton: MakeBaton, spans: InMemorySpanExporter
) -> None:
    agents = {"bot": scripted(script=[reply("same", input_tokens=10, output_tokens=2)])}
    workflow = {"c": {"steps": [{"id": "ask", "agent_id": "bot", "prompt_template": "same prompt"}]}}
    baton = make_baton(workflow, agents, observers=[observer(spans, agents)])
    await baton.run_to_end("c")
    spans.clear()
    second = await baton.run_to_end("c")
    assert second.status is ExecutionStatus.COMPLETED
    finished = list(spans.get_finished_spans())
    (step,) = [s for s in finished if s.name == "step ask"]
    assert [e.name for e in step.events] == ["cache_hit"]
    assert (step.attributes or {})["baton.cache.hit"] is True
    assert not [s for s in finished if s.name.startswith("invoke_agent")]


async def test_failure_is_recorded_with_status_error(
    make_baton: MakeBaton, spans: InMemorySpanExporter
) -> None:
    agents = {
        "bot": scripted(script=[{"fail": "agent_error", "message": "model exploded", "retryable": False}])
    }
    workflow = {
        "f": {
            "steps": [
                {"id": "a", "agent_id": "bot", "prompt_template": "x"},
                {"id": "b", "agent_id": "bot", "prompt_template": "y"},
            ]
        }
    }
    baton = make_baton(workflow, agents, observers=[observer(spans, agents)])
    result = await baton.run_to_end("f")
    assert result.status is ExecutionStatus.FAILED
    finished = list(spans.get_finished_spans())
    root = next(s for s in finished if s.parent is None)
    assert root.status.status_code is StatusCode.ERROR
    step_a = next(s for s in finished if s.name == "step a")
    assert step_a.status.status_code is StatusCode.ERROR
    assert "model exploded" in (step_a.status.description or "")
    exception = next(e for e in step_a.events if e.name == "exception")
    assert (exception.attributes or {})["exception.type"] == "AgentFailed"
    step_b = next(s for s in finished if s.name == "step b")
    assert (step_b.attributes or {})["baton.step.status"] == "skipped"


async def test_file_exporter_writes_one_trace_file_per_execution(
    make_baton: MakeBaton, tmp_path: Path
) -> None:
    agents = {"bot": scripted(script=[reply("ok", input_tokens=5, output_tokens=1)])}
    workflow = {"one": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "x"}]}}
    artifacts = tmp_path / ".baton" / "artifacts"
    baton = make_baton(workflow, agents, observers=[observer(ExecutionFileExporter(artifacts), agents)])
    handle = baton.run("one")
    await handle.wait()
    document = json.loads((artifacts / handle.id / "trace.json").read_text())
    assert document["trace_id"] == handle.context.trace_id
    assert document["execution_id"] == handle.id
    assert sorted(s["name"] for s in document["spans"]) == ["invoke_agent echo", "step a", "workflow one"]
    assert {s["trace_id"] for s in document["spans"]} == {handle.context.trace_id}
