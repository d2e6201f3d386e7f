"""`graph: "package.module:build"`: a hand-written StateGraph whose nodes are Baton steps."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest

from baton.engine.graph import drawable
from baton.engine.graph_errors import GraphBuildError
from baton.models import ExecutionStatus, StepStatus
from baton.models import events as ev

from .conftest import MakeBaton, run_collecting, scripted

FACTORY = """
from langgraph.graph import END, START, StateGraph


def count_outputs(state):
    # a plain Python node next to Baton's agent nodes, writing into the same state
    return {"outputs": {"tally": {"text": str(len(state["outputs"]))}}}


def build(kit):
    g = StateGraph(kit.State)
    g.add_node("draft", kit.agent_node("draft"))
    g.add_node("review", kit.agent_node("review"))
    g.add_node("revise", kit.agent_node("revise"))
    g.add_node("tally", count_outputs)
    g.add_edge(START, "draft")
    g.add_edge("draft", "review")
    g.add_conditional_edges("review", kit.router("review"), kit.path_map("review"))
    g.add_edge("revise", "review")
    g.add_edge("tally", END)
    return g


def compiled(kit):
    return build(kit).compile()


def unknown_step(kit):
    g = StateGraph(kit.State)
    g.add_node("x", kit.agent_node("no_such_step"))
    return g
"""


def _module(tmp_path: Path) -> str:
    name = f"graphs_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(FACTORY))
    return name


def _workflow(spec: str) -> dict[str, object]:
    return {
        "type": "langgraph",
        "graph": spec,
        "steps": [
            {"id": "draft", "agent_id": "bot", "prompt_template": "draft"},
            {
                "id": "review",
                "agent_id": "bot",
                "prompt_template": "review {{ outputs.draft.text }}",
                "next": [{"when": "outputs.review.text == 'ok'", "goto": "tally"}, {"goto": "revise"}],
            },
            {"id": "revise", "agent_id": "bot", "prompt_template": "revise", "max_iterations": 3},
        ],
    }


async def test_python_graph_runs_baton_steps(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    module = _module(tmp_path)
    script = {"review": [{"reply": "no"}, {"reply": "ok"}], "*": [{"echo": True}]}
    baton = make_baton(
        {"wf": _workflow(f"{module}:build")},
        {"bot": scripted(record=str(record), script=script)},
        global_={"cache": {"enabled": False}},
    )
    result, events = await run_collecting(baton, "wf")
    assert result.status is ExecutionStatus.COMPLETED, result.error
    calls = [json.loads(line)["step"] for line in record.read_text().splitlines()]
    assert calls == ["draft", "review", "revise", "review"]
    assert result.outputs["tally"] == {"text": "3"}
    assert result.steps == {
        "draft": StepStatus.COMPLETED,
        "review": StepStatus.COMPLETED,
        "revise": StepStatus.COMPLETED,
    }
    started = [(e.step, e.iteration) for e in events if isinstance(e, ev.StepStarted)]
    assert started == [("draft", 1), ("review", 1), ("revise", 1), ("review", 2)]
    assert [r.step_id for r in baton.store.list_steps(result.execution_id)] == ["draft", "review", "revise"]


async def test_python_graph_loops_are_bounded_too(make_baton: MakeBaton, tmp_path: Path) -> None:
    module = _module(tmp_path)
    script = {"review": [{"reply": "no"}], "*": [{"echo": True}]}
    baton = make_baton(
        {"wf": _workflow(f"{module}:build")},
        {"bot": scripted(script=script)},
        global_={"cache": {"enabled": False}},
    )
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.FAILED
    assert result.error is not None
    assert "step 'revise' reached max_iterations (3) in loop revise -> review -> revise" in result.error


async def test_python_graph_factory_errors(make_baton: MakeBaton, tmp_path: Path) -> None:
    module = _module(tmp_path)
    workflows = {
        "compiled": _workflow(f"{module}:compiled"),
        "unknown": _workflow(f"{module}:unknown_step"),
        "missing": _workflow(f"{module}:nope"),
        "nomodule": _workflow("not_a_module_xyz:build"),
    }
    baton = make_baton(workflows, {"bot": scripted()})
    with pytest.raises(GraphBuildError, match="returned a compiled graph; return the StateGraph itself"):
        drawable(baton.workflow("compiled"), root=tmp_path)
    with pytest.raises(GraphBuildError, match="has no step 'no_such_step'"):
        drawable(baton.workflow("unknown"), root=tmp_path)
    with pytest.raises(GraphBuildError, match=f"{module} has no function 'nope'"):
        drawable(baton.workflow("missing"), root=tmp_path)
    with pytest.raises(GraphBuildError, match="cannot import not_a_module_xyz"):
        drawable(baton.workflow("nomodule"), root=tmp_path)
    with pytest.raises(GraphBuildError, match="has no function 'nope'"):
        await baton.run_to_end("missing")
    assert baton.store.list_executions(limit=1)[0].status is ExecutionStatus.FAILED
