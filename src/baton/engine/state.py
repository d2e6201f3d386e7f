"""The in-memory state of one running execution, shared by the schedulers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.agents.base import Usage
from baton.engine.limits import Budget
from baton.engine.recorder import Recorder
from baton.models import ExecutionContext, StepRun, StepStatus, Workflow


@dataclass(slots=True)
class ExecutionRun:
    """Outputs, statuses and budget of one execution while it runs."""

    ctx: ExecutionContext
    workflow: Workflow
    recorder: Recorder
    budget: Budget
    artifacts_dir: Path
    no_cache: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    statuses: dict[str, StepStatus] = field(default_factory=dict)
    runs: dict[str, StepRun] = field(default_factory=dict)
    # usage and cost of every billed attempt of the current visit of each step
    billed: dict[str, tuple[Usage, float]] = field(default_factory=dict)
    abort_reason: str | None = None
    # steps a langgraph run stopped at, waiting for a human (the execution goes back to PENDING)
    waiting: list[str] = field(default_factory=list)
    # it had to wait for an execution slot (global.max_concurrent_executions) before it ran
    queued: bool = False

    @property
    def workspace(self) -> Path:
        return Path(self.ctx.workspace_dir)

    def base_context(self) -> dict[str, Any]:
        """The template context every step starts from."""
        return {
            "params": self.ctx.parameters,
            "outputs": self.outputs,
            "workspace": self.ctx.workspace_dir,
            "execution": {
                "id": self.ctx.id,
                "workflow_id": self.ctx.workflow_id,
                "trace_id": self.ctx.trace_id,
                "artifacts_dir": str(self.artifacts_dir),
            },
        }

    def restore(self, runs: list[StepRun]) -> None:
        """Take over completed steps of an earlier (interrupted) run of this execution."""
        keys = {s.id: s.key for s in self.workflow.steps}
        for run in runs:
            output = run.output or {}
            if not output.get("cache_hit"):  # failed attempts were billed too
                self.budget.add(Usage.from_dict(output.get("usage")), output.get("cost_usd"))
            if run.step_id not in keys:
                continue
            self.runs[run.step_id] = run  # a failed step keeps its real error until it runs again
            if run.status is StepStatus.COMPLETED:
                self.statuses[run.step_id] = run.status
                self.outputs[keys[run.step_id]] = output
