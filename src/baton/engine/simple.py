"""The ``simple`` scheduler: a workflow as a DAG, independent steps in parallel.

A step without ``dependencies`` follows the step listed before it; with them it waits
only for those. A step runs once all its dependencies are finished: if one of them did
not complete (failed, skipped, cancelled) the step is skipped unless its ``condition``
says otherwise; a false condition skips it too.
"""

from __future__ import annotations

import asyncio

from baton.engine.errors import TemplateRenderError
from baton.engine.executor import StepExecutor
from baton.engine.state import ExecutionRun
from baton.engine.templates import evaluate, step_context
from baton.models import StepStatus, WorkflowStep, resolved_dependencies

_DONE = (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED)


async def run_dag(er: ExecutionRun, executor: StepExecutor) -> None:
    """Run every step of ``er.workflow`` that has not completed yet."""
    steps = {s.id: s for s in er.workflow.steps}
    deps = resolved_dependencies(er.workflow.steps)
    pending = [s.id for s in er.workflow.steps if er.statuses.get(s.id) is not StepStatus.COMPLETED]
    running: dict[asyncio.Task[StepStatus], str] = {}
    try:
        while pending or running:
            progressed = True
            while progressed and er.abort_reason is None:
                progressed = False
                for step_id in list(pending):
                    if any(er.statuses.get(d) not in _DONE for d in deps[step_id]):
                        continue
                    pending.remove(step_id)
                    progressed = True
                    step = steps[step_id]
                    try:
                        reason = skip_reason(er, step, deps[step_id])
                    except TemplateRenderError as exc:
                        executor.fail(er, step, None, exc, 0)
                        continue
                    if reason is not None:
                        executor.skip(er, step, reason)
                        continue
                    task = asyncio.create_task(executor.execute(er, step), name=step_id)
                    running[task] = step_id
            if er.abort_reason is not None and running:
                for task in running:
                    task.cancel()
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                step_id = running.pop(task)
                if task.cancelled():
                    executor.cancel(er, step_id, executor.s.clock.now())
                else:
                    task.result()
        for step_id in pending:
            executor.skip(er, steps[step_id], er.abort_reason or "not reached")
    except asyncio.CancelledError:
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        now = executor.s.clock.now()
        for step_id in running.values():
            if er.statuses.get(step_id) not in _DONE:
                executor.cancel(er, step_id, now)
        raise


def skip_reason(er: ExecutionRun, step: WorkflowStep, deps: list[str]) -> str | None:
    """Why ``step`` must be skipped, or None if it should run; raises if its condition is broken.

    Shared with the LangGraph compiler, so a step gated by dependencies behaves the same in
    both kinds of workflow.
    """
    unmet = [d for d in deps if er.statuses.get(d) is not StepStatus.COMPLETED]
    if step.condition is None:
        if unmet:
            return f"dependency {unmet[0]} {er.statuses.get(unmet[0], StepStatus.PENDING).value}"
        return None
    try:
        ok = evaluate(step.condition, step_context(step, er.base_context(), er.statuses),
                      what=f"step {step.id} condition")
    except TemplateRenderError:
        if unmet:
            return f"dependency {unmet[0]} {er.statuses.get(unmet[0], StepStatus.PENDING).value}"
        raise
    return None if ok else f"condition {step.condition!r} is false"
