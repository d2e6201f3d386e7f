"""Whole workflows in-process: parallelism, ordering, conditions, skips, templates."""

from __future__ import annotations

from pathlib import Path

from baton.agents.base import AgentRequest
from baton.models import ExecutionStatus, StepStatus
from baton.models import events as ev

from .conftest import MakeBaton


def step(id: str, prompt: str | None = None, agent: str = "bot", **kw: object) -> dict[str, object]:
    return {"id": id, "agent_id": agent, "prompt_template": prompt or f"do {id}", **kw}


async def test_independent_steps_run_in_parallel(make_baton: MakeBaton) -> None:
    wf = {"steps": [
        step("root"),
        step("left", dependencies=["root"]),
        step("right", dependencies=["root"]),
        step("join", "{{ outputs.left.text }}|{{ outputs.right.text }}", dependencies=["left", "right"]),
    ]}
    baton = make_baton({"wf": wf}, handlers={"bot": lambda r: {"reply": r.prompt if r.step_id == "join" else r.step_id,
                                                   "delay": 0.3}})
    handle = baton.run("wf")
    events = [e async for e in handle.events()]
    result = await handle.wait()
    assert result.status is ExecutionStatus.COMPLETED
    assert result.outputs["join"]["text"] == "left|right"
    started = {e.step: e.timestamp for e in events if isinstance(e, ev.StepStarted)}
    done = {e.step: e.timestamp for e in events if isinstance(e, ev.StepCompleted)}
    # left and right overlap in time; join starts only after both ended
    assert started["left"] < done["right"] and started["right"] < done["left"]
    assert started["join"] >= max(done["left"], done["right"])
    assert started["left"] >= done["root"]


async def test_step_without_dependencies_follows_previous(make_baton: MakeBaton) -> None:
    order: list[str] = []

    def handler(r: AgentRequest) -> dict[str, object]:
        order.append(r.step_id)
        return {"reply": r.step_id, "delay": 0.01}

    baton = make_baton({"wf": {"steps": [step("a"), step("b"), step("c")]}}, handlers={"bot": handler})
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.COMPLETED
    assert order == ["a", "b", "c"]


async def test_false_condition_skips_and_dependents_skip(make_baton: MakeBaton) -> None:
    wf = {"parameters": {"go": {"type": "boolean", "default": False}}, "steps": [
        step("a"),
        step("b", condition="params.go"),
        step("c", dependencies=["b"]),
        step("d", dependencies=["b"], condition="skipped('b')"),
    ]}
    baton = make_baton({"wf": wf})
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.COMPLETED
    assert result.steps == {"a": StepStatus.COMPLETED, "b": StepStatus.SKIPPED,
                            "c": StepStatus.SKIPPED, "d": StepStatus.COMPLETED}
    result2 = await baton.run_to_end("wf", {"go": "true"})
    assert result2.steps["b"] is StepStatus.COMPLETED and result2.steps["d"] is StepStatus.SKIPPED


async def test_failed_dependency_skips_unless_condition_handles_it(make_baton: MakeBaton) -> None:
    wf = {"steps": [
        step("build", "exit 3", agent="sh"),
        step("deploy", dependencies=["build"]),
        step("notify", "build {{ status('build') }}", dependencies=["build"],
             condition="failed('build')"),
        step("always_runs", dependencies=["build"], condition="always()"),
    ]}
    baton = make_baton({"wf": wf})
    result = await baton.run_to_end("wf")
    assert result.status is ExecutionStatus.FAILED
    assert "step build failed" in (result.error or "") and "exit" in (result.error or "")
    assert result.steps["deploy"] is StepStatus.SKIPPED
    assert result.steps["notify"] is StepStatus.COMPLETED
    assert result.outputs["notify"]["text"] == "build failed"
    assert result.steps["always_runs"] is StepStatus.COMPLETED
    assert result.outputs["build"]["exit_code"] == 3


async def test_allow_failure_records_exit_code_and_continues(make_baton: MakeBaton) -> None:
    wf = {"steps": [
        step("tests", "echo 2 failed; exit 1", agent="sh", allow_failure=True),
        step("report", "exit={{ outputs.tests.exit_code }} {{ outputs.tests.text | trim }}"),
    ]}
    result = await make_baton({"wf": wf}).run_to_end("wf")
    assert result.status is ExecutionStatus.COMPLETED
    assert result.outputs["report"]["text"] == "exit=1 2 failed"


async def test_shell_values_are_quoted_and_raw_opts_out(make_baton: MakeBaton, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    wf = {"parameters": {"title": {"type": "string"}}, "steps": [
        step("quoted", "echo {{ params.title }}", agent="sh"),
        step("raw", "echo {{ 'a b' | raw }} {{ params.title | length }}", agent="sh"),
    ]}
    title = f"fix; touch {marker} $(touch {marker}) `touch {marker}`"
    result = await make_baton({"wf": wf}).run_to_end("wf", {"title": title})
    assert result.status is ExecutionStatus.COMPLETED
    assert result.outputs["quoted"]["text"] == title + "\n"
    assert not marker.exists()
    assert result.outputs["raw"]["text"] == f"a b {len(title)}\n"


async def test_input_mappings_and_context(make_baton: MakeBaton) -> None:
    wf = {"parameters": {"n": {"type": "integer", "default": 2}}, "steps": [
        step("plan", output_key="the_plan"),
        step("impl", "{{ plan }} n={{ params.n }} ws={{ workspace != '' }} id={{ execution.id | length }}",
             input_mappings={"plan": "outputs.the_plan.json.files.0"}),
    ]}
    handlers = {"bot": lambda r: {"reply": "x", "json": {"files": ["a.py"]}} if r.step_id == "plan"
                else {"echo": True}}
    result = await make_baton({"wf": wf}, handlers=handlers).run_to_end("wf")
    assert result.outputs["impl"]["text"] == "a.py n=2 ws=True id=32"


async def test_missing_mapping_fails_step_with_clear_message(make_baton: MakeBaton) -> None:
    wf = {"steps": [step("a"), step("b", "{{ x }}", input_mappings={"x": "outputs.a.json.nope"})]}
    result = await make_baton({"wf": wf}).run_to_end("wf")
    assert result.status is ExecutionStatus.FAILED
    assert "outputs.a.json.nope" in (result.error or "")
    assert "TemplateRenderError" in (result.error or "")


async def test_every_event_is_a_log_row_with_trace_id(make_baton: MakeBaton) -> None:
    baton = make_baton({"wf": {"steps": [step("a"), step("b")]}})
    handle = baton.run("wf")
    events = [e async for e in handle.events()]
    await handle.wait()
    logs = baton.store.list_logs(handle.id)
    assert [row.metadata["event"] for row in logs] == [e.kind for e in events]
    assert {row.trace_id for row in logs} == {handle.context.trace_id}
    stamps = [row.timestamp for row in logs]
    assert stamps == sorted(stamps)
    assert logs[-1].metadata["final"] is True


async def test_parameters_validated(make_baton: MakeBaton) -> None:
    import pytest

    from baton.models import ParameterError

    wf = {"parameters": {"n": {"type": "integer", "required": True}}, "steps": [step("a")]}
    baton = make_baton({"wf": wf})
    with pytest.raises(ParameterError, match="'n'"):
        baton.run("wf", {})
    with pytest.raises(ParameterError, match="not a valid integer"):
        baton.run("wf", {"n": "abc"})
    with pytest.raises(ParameterError, match="unknown parameter"):
        baton.run("wf", {"n": 1, "m": 2})
