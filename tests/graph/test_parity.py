"""The same acyclic workflow run as `simple` and as `langgraph` gives the same outputs,
statuses and log sequence (up to timing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from baton.engine import ExecutionResult
from baton.engine.clock import FakeClock
from baton.models import WorkflowStep, resolved_dependencies
from baton.models import events as ev

from .conftest import SHELL, MakeBaton, run_collecting, scripted

# timing, and what identifies one run rather than what it did
_TIMING = {"duration_seconds", "timestamp", "trace_id", "span_id", "execution_id"}

SCRIPT: dict[str, Any] = {
    "flaky": [{"fail": "rate_limited", "message": "slow down"}, {"reply": "third time lucky"}],
    "broken": [{"fail": "auth", "message": "bad token"}],
    "judge": [{"reply": '{"score": 7, "ok": true}'}],
    "*": [{"echo": True, "usage": {"input_tokens": 3, "output_tokens": 2}, "cost_usd": 0.001}],
}

WORKFLOWS: dict[str, dict[str, Any]] = {
    "chain": {
        "steps": [
            {"id": "plan", "agent_id": "bot", "prompt_template": "plan {{ params.topic }}"},
            {"id": "write", "agent_id": "bot", "prompt_template": "write after {{ outputs.plan.text }}"},
            {
                "id": "polish",
                "agent_id": "bot",
                "prompt_template": "polish {{ draft }}",
                "input_mappings": {"draft": "outputs.write.text"},
            },
        ]
    },
    "fanout_join": {
        "steps": [
            {"id": "root", "agent_id": "bot", "prompt_template": "root"},
            *[
                {
                    "id": f"w{i}",
                    "agent_id": "bot",
                    "prompt_template": f"worker {i} of {{{{ outputs.root.text }}}}",
                    "dependencies": ["root"],
                }
                for i in range(4)
            ],
            {
                "id": "join",
                "agent_id": "bot",
                "prompt_template": "join {{ outputs.w0.text }} {{ outputs.w3.text }}",
                "dependencies": ["w0", "w1", "w2", "w3"],
            },
        ]
    },
    "conditions_and_failures": {
        "steps": [
            {"id": "broken", "agent_id": "bot", "prompt_template": "break"},
            {"id": "skipped_dep", "agent_id": "bot", "prompt_template": "never", "dependencies": ["broken"]},
            {
                "id": "on_failure",
                "agent_id": "bot",
                "prompt_template": "handle {{ outputs.broken.error }}",
                "dependencies": ["broken"],
                "condition": "failed('broken')",
            },
            {
                "id": "false_cond",
                "agent_id": "bot",
                "prompt_template": "no",
                "dependencies": [],
                "condition": "params.topic == 'other'",
            },
            {
                "id": "after_false",
                "agent_id": "bot",
                "prompt_template": "after",
                "dependencies": ["false_cond"],
            },
            {
                "id": "shell",
                "agent_id": "sh",
                "prompt_template": "echo {{ params.topic }}; exit 3",
                "dependencies": [],
                "allow_failure": True,
            },
            {
                "id": "tail",
                "agent_id": "bot",
                "prompt_template": "tail {{ outputs.shell.exit_code }}",
                "dependencies": ["shell", "on_failure"],
            },
        ]
    },
    "retries_fallback_schema": {
        "steps": [
            {
                "id": "flaky",
                "agent_id": "bot",
                "prompt_template": "flaky",
                "retry_policy": {"max_attempts": 3, "backoff_seconds": 1, "retry_on": ["rate_limited"]},
            },
            {
                "id": "primary",
                "agent_id": "flop",
                "prompt_template": "fallback please",
                "retry_policy": {"fallback_agents": ["bot"]},
            },
            {
                "id": "judge",
                "agent_id": "bot",
                "prompt_template": "judge {{ outputs.flaky.text }}",
                "output_schema": {
                    "type": "object",
                    "required": ["score"],
                    "properties": {"score": {"type": "integer"}},
                },
            },
        ]
    },
}


def _agents() -> dict[str, Any]:
    return {
        "bot": scripted(script=SCRIPT),
        "sh": SHELL,
        "flop": scripted(script=[{"fail": "auth", "message": "no credentials"}]),
    }


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _TIMING}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# A step waits for its agent's slot only when another holds it at that moment (here the
# other backend's run, whose kept slot outlives it by 0.1 s): a matter of timing, like the
# interleaving of parallel branches, so the comparison leaves the waits out.
WAITS = {ev.StepQueued.kind, ev.StepRunning.kind}


def _event_view(events: list[ev.Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, _clean(e.data())) for e in events if e.kind not in WAITS]


def _assert_same_sequence(a: list[Any], b: list[Any], step_of: Any, sequential: bool) -> None:
    """Exactly equal for a sequential workflow; for parallel branches, whose interleaving is a
    matter of timing, each step's own sequence is equal and the execution starts and ends alike."""
    if sequential:
        assert a == b
        return
    assert a[0] == b[0] and a[-1] == b[-1]
    assert len(a) == len(b)
    by_step_a: dict[Any, list[Any]] = {}
    by_step_b: dict[Any, list[Any]] = {}
    for item in a:
        by_step_a.setdefault(step_of(item), []).append(item)
    for item in b:
        by_step_b.setdefault(step_of(item), []).append(item)
    assert by_step_a == by_step_b


def _causal(view: list[tuple[str, dict[str, Any]]], deps: dict[str, list[str]]) -> None:
    """Each step starts (or is skipped) only after every dependency's last event."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, (_, data) in enumerate(view):
        step = data.get("step")
        if step:
            first.setdefault(step, i)
            last[step] = i
    for step, ds in deps.items():
        for d in ds:
            assert last[d] < first[step], f"{step} began before its dependency {d} ended"


def _log_view(result: ExecutionResult, baton: Any) -> list[tuple[str, str | None, str, str]]:
    rows = baton.store.list_logs(result.execution_id)
    return [
        (
            r.metadata["event"],
            r.step_id,
            r.level.value,
            r.message if r.metadata["event"] not in ("step.completed", "execution.completed") else "",
        )
        for r in rows
        if r.metadata["event"] not in WAITS
    ]


async def _run(make_baton: MakeBaton, name: str, kind: str) -> tuple[ExecutionResult, list[ev.Event], Any]:
    wf = {"type": kind, "parameters": {"topic": {"default": "tests"}}, **WORKFLOWS[name]}
    baton = make_baton({"wf": wf}, _agents(), clock=FakeClock(), global_={"cache": {"enabled": False}})
    result, events = await run_collecting(baton, "wf")
    return result, events, baton


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
async def test_simple_and_langgraph_agree(make_baton: MakeBaton, tmp_path: Path, name: str) -> None:
    simple, simple_events, b1 = await _run(make_baton, name, "simple")
    graph, graph_events, b2 = await _run(make_baton, name, "langgraph")
    assert graph.status == simple.status
    assert graph.error == simple.error
    assert graph.steps == simple.steps
    assert _clean(graph.outputs) == _clean(simple.outputs)
    assert graph.usage == simple.usage and graph.cost_usd == pytest.approx(simple.cost_usd)
    deps = resolved_dependencies([WorkflowStep.model_validate(s) for s in WORKFLOWS[name]["steps"]])
    roots = [s for s, ds in deps.items() if not ds]
    used = [d for ds in deps.values() for d in ds]
    sequential = len(roots) == 1 and len(used) == len(set(used)) == len(deps) - 1
    _assert_same_sequence(
        _event_view(graph_events), _event_view(simple_events), lambda item: item[1].get("step"), sequential
    )
    _assert_same_sequence(_log_view(graph, b2), _log_view(simple, b1), lambda item: item[1], sequential)
    _causal(_event_view(graph_events), deps)
    _causal(_event_view(simple_events), deps)
    runs_simple = [
        (r.step_id, r.status, r.attempt, r.iteration, r.error_type)
        for r in b1.store.list_steps(simple.execution_id)
    ]
    runs_graph = [
        (r.step_id, r.status, r.attempt, r.iteration, r.error_type)
        for r in b2.store.list_steps(graph.execution_id)
    ]
    assert sorted(runs_graph) == sorted(runs_simple)
