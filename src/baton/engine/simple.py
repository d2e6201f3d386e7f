"""The ``simple`` scheduler: a workflow as a DAG, independent steps in parallel.

A step without ``dependencies`` follows the step listed before it; with them it waits
only for those. A step runs once all its dependencies are finished: if one of them did
not complete (failed, skipped, cancelled) the step is skipped unless its ``condition``
says otherwise; a false condition skips it too. A dependency that failed with
``allow_failure: true`` counts as finished: its dependents run (and ``failed('x')`` is true).
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
    order = {s.id: i for i, s in enumerate(er.workflow.steps)}
    steps = {s.id: s for s in er.workflow.steps}
    deps = resolved_dependencies(er.workflow.steps)
    dependents: dict[str, list[str]] = {sid: [] for sid in steps}
    for sid, ds in deps.items():
        for d in ds:
            dependents[d].append(sid)
    pending = {sid for sid in steps if er.statuses.get(sid) is not StepStatus.COMPLETED}
    waiting = {sid: sum(1 for d in deps[sid] if er.statuses.get(d) not in _DONE) for sid in pending}
    ready = [sid for sid in pending if waiting[sid] == 0]
    running: dict[asyncio.Task[StepStatus], str] = {}

    def finished(step_id: str) -> None:
        for child in dependents[step_id]:
            if child in waiting:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)

    try:
        while ready or running:
            while ready and er.abort_reason is None:
                ready.sort(key=order.__getitem__)
                step_id = ready.pop(0)
                pending.discard(step_id)
                step = steps[step_id]
                try:
                    reason = skip_reason(er, step, deps[step_id])
                except TemplateRenderError as exc:
                    executor.fail(er, step, None, exc, 0)
                    finished(step_id)
                    continue
                if reason is not None:
                    executor.skip(er, step, reason)
                    finished(step_id)
                    continue
                if not running and not ready:
                    # the only step that can run (a chain): run it in this task, which costs a
                    # task, asyncio.wait and two turns of the event loop less per step
                    try:
                        await executor.execute(er, step)
                    except asyncio.CancelledError:
                        if er.statuses.get(step_id) not in _DONE:
                            executor.cancel(er, step_id, executor.s.clock.now())
                        raise
                    finished(step_id)
                    continue
                task = asyncio.create_task(executor.execute(er, step), name=step_id)
                running[task] = step_id
            if er.abort_reason is not None and running:
                for task in running:
                    task.cancel()
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: order[running[t]]):
                step_id = running.pop(task)
                if task.cancelled():
                    executor.cancel(er, step_id, executor.s.clock.now())
                else:
                    task.result()
                finished(step_id)
        for step_id in sorted(pending, key=order.__getitem__):
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
    if unmet:  # the allow_failure set walks every step: built only when a dependency did not complete
        allowed = {s.id for s in er.workflow.steps if s.allow_failure}
        unmet = [d for d in unmet if not _satisfied(er.statuses.get(d), d in allowed)]
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


def _satisfied(status: StepStatus | None, allowed_to_fail: bool) -> bool:
    """Whether a dependency in ``status`` lets its dependents run without a condition."""
    return status is StepStatus.COMPLETED or (allowed_to_fail and status is StepStatus.FAILED)
