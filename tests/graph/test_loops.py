"""Loops, routes and bounds of langgraph workflows, run in-process with the scripted agent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baton.models import ExecutionStatus, StepStatus
from baton.models import events as ev

from .conftest import MakeBaton, run_collecting, scripted

NO_CACHE = {"cache": {"enabled": False}}


def _calls(record: Path) -> list[str]:
    if not record.exists():
        return []
    return [json.loads(line)["step"] for line in record.read_text().splitlines() if line.strip()]


def _started(events: list[ev.Event]) -> list[tuple[str, int]]:
    return [(e.step, e.iteration) for e in events if isinstance(e, ev.StepStarted)]


def _fix_loop(test_script: list[dict[str, Any]], **fix: Any) -> dict[str, Any]:
    return {
        "type": "langgraph",
        "steps": [
            {"id": "implement", "agent_id": "bot", "prompt_template": "implement the feature"},
            {
                "id": "test",
                "agent_id": "bot",
                "prompt_template": "run the tests",
                "next": [{"when": "outputs.test.text == 'green'", "goto": "end"}, {"goto": "fix"}],
            },
            {
                "id": "fix",
                "agent_id": "bot",
                "prompt_template": "fix: {{ outputs.test.text }}",
                "next": "test",
                **fix,
            },
        ],
    }, {"test": test_script, "*": [{"echo": True}]}


async def test_fix_loop_goes_red_red_green_and_stops(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    wf, script = _fix_loop([{"reply": "red"}, {"reply": "red"}, {"reply": "green"}])
    baton = make_baton({"fix": wf}, {"bot": scripted(record=str(record), script=script)}, global_=NO_CACHE)
    result, events = await run_collecting(baton, "fix")
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert _started(events) == [
        ("implement", 1),
        ("test", 1),
        ("fix", 1),
        ("test", 2),
        ("fix", 2),
        ("test", 3),
    ]
    assert _calls(record) == ["implement", "test", "fix", "test", "fix", "test"]
    assert result.outputs["test"]["text"] == "green"
    assert result.outputs["fix"]["text"] == "fix: red"
    assert result.steps == {
        "implement": StepStatus.COMPLETED,
        "test": StepStatus.COMPLETED,
        "fix": StepStatus.COMPLETED,
    }
    runs = {r.step_id: r for r in baton.store.list_steps(result.execution_id)}
    assert runs["test"].iteration == 3 and runs["fix"].iteration == 2
    done = [e for e in events if isinstance(e, ev.StepCompleted)]
    assert [(e.step, e.iteration) for e in done] == _started(events)


async def test_loop_hitting_max_iterations_fails_clearly(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    wf, script = _fix_loop([{"reply": "red"}], max_iterations=2)
    baton = make_baton({"fix": wf}, {"bot": scripted(record=str(record), script=script)}, global_=NO_CACHE)
    result, events = await run_collecting(baton, "fix")
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert "step 'fix' reached max_iterations (2) in loop fix -> test -> fix" in result.error
    assert _calls(record).count("fix") == 2
    assert _calls(record).count("test") == 3
    failed = [e for e in events if isinstance(e, ev.StepFailed)]
    assert [(e.step, e.error_type) for e in failed] == [("fix", "LoopLimitExceeded")]
    assert result.steps["fix"] is StepStatus.FAILED
    final = baton.store.get_execution(result.execution_id)
    assert final is not None and final.context.status is ExecutionStatus.FAILED
    assert final.context.error == result.error


async def test_step_budget_bounds_a_loop_whose_steps_allow_more(make_baton: MakeBaton) -> None:
    wf, script = _fix_loop([{"reply": "red"}], max_iterations=50)
    wf["steps"][1]["max_iterations"] = 50
    wf["config"] = {"max_steps": 6}
    baton = make_baton({"fix": wf}, {"bot": scripted(script=script)}, global_=NO_CACHE)
    result, events = await run_collecting(baton, "fix")
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and "step budget (6 steps, config.max_steps)" in result.error
    assert "loop" in result.error
    assert len([e for e in events if isinstance(e, ev.StepStarted)]) == 6


async def test_review_routes_on_a_json_verdict(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    verdict = {
        "type": "object",
        "required": ["verdict"],
        "properties": {"verdict": {"enum": ["approve", "revise", "reject"]}},
    }
    wf = {
        "type": "langgraph",
        "steps": [
            {"id": "write", "agent_id": "bot", "prompt_template": "write the change"},
            {
                "id": "review",
                "agent_id": "bot",
                "prompt_template": "review {{ outputs.write.text }}",
                "output_schema": verdict,
                "next": [
                    {"when": "outputs.review.json.verdict == 'approve'", "goto": "publish"},
                    {"when": "outputs.review.json.verdict == 'reject'", "goto": "end"},
                    {"goto": "revise"},
                ],
            },
            {
                "id": "revise",
                "agent_id": "bot",
                "prompt_template": "revise after review {{ status('review') }}",
                "next": "review",
            },
            {"id": "publish", "agent_id": "bot", "prompt_template": "publish"},
        ],
    }
    script = {
        "review": [
            {"reply": '{"verdict": "revise"}'},
            {"reply": '```json\n{"verdict": "revise"}\n```'},
            {"reply": '{"verdict": "approve"}'},
        ],
        "*": [{"echo": True}],
    }
    baton = make_baton({"review": wf}, {"bot": scripted(record=str(record), script=script)}, global_=NO_CACHE)
    result, _ = await run_collecting(baton, "review")
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert _calls(record) == ["write", "review", "revise", "review", "revise", "review", "publish"]
    assert result.outputs["review"]["json"] == {"verdict": "approve"}

    # a rejection ends the graph: publish is never reached
    record.unlink()
    script["review"] = [{"reply": '{"verdict": "revise"}'}, {"reply": '{"verdict": "reject"}'}]
    baton = make_baton({"review": wf}, {"bot": scripted(record=str(record), script=script)}, global_=NO_CACHE)
    result, events = await run_collecting(baton, "review")
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert _calls(record) == ["write", "review", "revise", "review"]
    assert result.steps["publish"] is StepStatus.SKIPPED
    skipped = [e for e in events if isinstance(e, ev.StepSkipped)]
    assert [(e.step, e.reason) for e in skipped] == [("publish", "not reached")]


async def test_routes_can_branch_on_a_failed_step(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    wf = {
        "type": "langgraph",
        "steps": [
            {
                "id": "test",
                "agent_id": "bot",
                "prompt_template": "test",
                "next": [{"when": "failed('test')", "goto": "fix"}, {"goto": "end"}],
            },
            {
                "id": "fix",
                "agent_id": "bot",
                "prompt_template": "fix {{ outputs.test.error }}",
                "next": "test",
            },
        ],
    }
    script = {
        "test": [{"fail": "auth", "message": "2 tests failed"}, {"reply": "all green"}],
        "*": [{"echo": True}],
    }
    baton = make_baton({"wf": wf}, {"bot": scripted(record=str(record), script=script)}, global_=NO_CACHE)
    result, _ = await run_collecting(baton, "wf")
    assert result.status is ExecutionStatus.COMPLETED, result.error
    assert _calls(record) == ["test", "fix", "test"]
    assert result.outputs["fix"]["text"] == "fix 2 tests failed"


async def test_a_route_that_cannot_be_evaluated_fails_its_step(make_baton: MakeBaton) -> None:
    wf = {
        "type": "langgraph",
        "steps": [
            {
                "id": "a",
                "agent_id": "bot",
                "prompt_template": "a",
                "next": [{"when": "outputs.a.text + 1 > 2", "goto": "b"}, {"goto": "end"}],
            },
            {"id": "b", "agent_id": "bot", "prompt_template": "b"},
        ],
    }
    baton = make_baton({"wf": wf}, {"bot": scripted(script=[{"reply": "text"}])})
    result, _ = await run_collecting(baton, "wf")
    assert result.status is ExecutionStatus.FAILED
    assert result.steps == {"a": StepStatus.FAILED, "b": StepStatus.SKIPPED}
    assert result.error is not None and "next[0].when" in result.error


async def test_budget_exhausted_inside_a_loop_stops_the_graph(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    wf, script = _fix_loop([{"reply": "red", "usage": {"input_tokens": 8}}])
    script["*"] = [{"echo": True, "usage": {"input_tokens": 8}}]
    wf["config"] = {"budget": {"max_tokens": 30}}
    baton = make_baton({"fix": wf}, {"bot": scripted(record=str(record), script=script)}, global_=NO_CACHE)
    result, _ = await run_collecting(baton, "fix")
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None and "max_tokens 30" in result.error
    assert len(_calls(record)) == 4  # 4 x 8 tokens >= 30: the fifth call is refused
    assert result.usage.input_tokens == 32
