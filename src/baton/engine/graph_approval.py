"""Human approvals of langgraph steps, recorded durably so any process can act on them.

A step with ``approval:`` pauses before it runs (a LangGraph ``interrupt``): its StepRun
is saved as WAITING with the rendered message, and the run ends with the execution back
at PENDING, resumable. ``baton approve`` writes the decision into that WAITING row
(with a ``step.approved`` / ``step.rejected`` log row, in one transaction), then resumes
the execution; the graph reads the decision back from the row and answers the interrupt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from baton.engine.errors import ExecutionNotFound
from baton.engine.graph_errors import NotWaiting
from baton.models import LogLevel, StepRun, StepStatus
from baton.models import events as ev
from baton.store.base import Store


@dataclass(slots=True, kw_only=True)
class StepApproved(ev.Event):
    """A human approved a waiting step."""

    kind: ClassVar[str] = "step.approved"
    step: str
    by: str
    reason: str | None = None

    def message(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"step {self.step} approved by {self.by}{why}"


@dataclass(slots=True, kw_only=True)
class StepRejected(ev.Event):
    """A human rejected a waiting step."""

    kind: ClassVar[str] = "step.rejected"
    level: ClassVar[LogLevel] = LogLevel.WARNING
    step: str
    by: str
    reason: str | None = None

    def message(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"step {self.step} rejected by {self.by}{why}"


def waiting_output(message: str, iteration: int) -> dict[str, Any]:
    """The output of a WAITING StepRun."""
    return {"status": StepStatus.WAITING.value, "approval": {"message": message, "iteration": iteration}}


def waiting_steps(store: Store, execution_id: str) -> list[StepRun]:
    """The execution's steps that wait for a human."""
    return [r for r in store.list_steps(execution_id) if r.status is StepStatus.WAITING]


def recorded_decisions(store: Store, execution_id: str) -> dict[str, dict[str, Any]]:
    """Decisions given to waiting steps and not yet acted on, by step id."""
    out: dict[str, dict[str, Any]] = {}
    for run in waiting_steps(store, execution_id):
        decision = ((run.output or {}).get("approval") or {}).get("decision")
        if isinstance(decision, dict):
            out[run.step_id] = decision
    return out


def record_decision(
    store: Store,
    execution_id: str,
    *,
    step_id: str | None,
    approved: bool,
    reason: str | None,
    by: str,
    now: datetime,
) -> StepRun:
    """Write a human's decision into the waiting step's row; returns the updated row."""
    record = store.get_execution(execution_id)
    if record is None:
        raise ExecutionNotFound(execution_id)
    status = record.context.status
    waiting = waiting_steps(store, execution_id)
    if status.is_terminal or not waiting:
        raise NotWaiting(f"execution {execution_id} ({status.value}) has no step waiting for approval")
    if step_id is None:
        if len(waiting) > 1:
            names = ", ".join(r.step_id for r in waiting)
            raise NotWaiting(f"several steps wait for approval ({names}); choose one with --step")
        run = waiting[0]
    else:
        matches = [r for r in waiting if r.step_id == step_id]
        if not matches:
            names = ", ".join(r.step_id for r in waiting)
            raise NotWaiting(
                f"step {step_id!r} of execution {execution_id} does not wait for approval (waiting: {names})"
            )
        run = matches[0]
    output = dict(run.output or {})
    approval = dict(output.get("approval") or {})
    approval["decision"] = {"approved": approved, "reason": reason, "by": by, "at": now.isoformat()}
    output["approval"] = approval
    updated = run.model_copy(update={"output": output})
    event: ev.Event = (StepApproved if approved else StepRejected)(
        execution_id=execution_id, step=run.step_id, by=by, reason=reason
    )
    store.save_step(updated, [ev.to_log(event, record.context.trace_id)])
    return updated


__all__ = [
    "StepApproved",
    "StepRejected",
    "record_decision",
    "recorded_decisions",
    "waiting_output",
    "waiting_steps",
]
