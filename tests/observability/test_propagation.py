"""W3C traceparent helpers for the API and workers, and a caller's trace continued by Baton."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from baton.models import AgentConfig
from baton.observability.propagation import (
    TraceParent,
    extract,
    format_traceparent,
    inject,
    parse_traceparent,
)
from baton.observability.tracing import TracingObserver, tracer_provider
from tests.observability.conftest import MakeBaton, reply, scripted

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_parse_and_format() -> None:
    header = f"00-{TRACE}-{SPAN}-01"
    assert parse_traceparent(header) == TraceParent(TRACE, SPAN, True)
    assert parse_traceparent(f"00-{TRACE}-{SPAN}-00") == TraceParent(TRACE, SPAN, False)
    assert format_traceparent(TRACE, SPAN) == header
    assert parse_traceparent(header.upper()) == TraceParent(TRACE, SPAN, True)
    for bad in (
        None,
        "",
        "garbage",
        f"00-{'0' * 32}-{SPAN}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{SPAN}-01",
        f"00-{TRACE[:-1]}-{SPAN}-01",
    ):
        assert parse_traceparent(bad) is None


def test_inject_and_extract_headers() -> None:
    headers: dict[str, str] = {}
    inject(headers, TRACE)
    parsed = extract(headers)
    assert parsed is not None and parsed.trace_id == TRACE and len(parsed.span_id) == 16
    assert extract({"TraceParent": f"00-{TRACE}-{SPAN}-01"}) == TraceParent(TRACE, SPAN, True)
    assert extract({"content-type": "application/json"}) is None


async def test_a_submitted_trace_id_becomes_the_executions_trace(make_baton: MakeBaton) -> None:
    agents = {"bot": scripted(script=[reply("ok")])}
    exporter = InMemorySpanExporter()
    provider = tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observer = TracingObserver(provider, {"bot": AgentConfig.model_validate(agents["bot"])})
    baton = make_baton(
        {"w": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "x"}]}},
        agents,
        observers=[observer],
    )
    caller = extract({"traceparent": f"00-{TRACE}-{SPAN}-01"})
    assert caller is not None
    ctx = baton.submit("w", trace_id=caller.trace_id)
    result = await baton.start_pending(ctx.id).wait()
    assert result.status.value == "completed"
    assert {f"{s.context.trace_id:032x}" for s in exporter.get_finished_spans() if s.context} == {TRACE}
    assert baton.store.list_logs(ctx.id)[0].trace_id == TRACE
