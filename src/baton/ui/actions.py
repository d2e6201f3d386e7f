"""What the dashboard's buttons do: start, cancel, resume, approve or reject, check an agent.

:class:`LocalActions` (``baton ui``) acts like the CLI: it records in the store and runs an
execution in a background ``baton`` process (as ``baton run --detach`` does), so the
dashboard never holds a run. :class:`ServiceActions` (``baton serve``) goes through the
API service, so executions are queued for the workers and every action is audited.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from baton.agents.registry import AgentRegistry, CheckResult
from baton.api.auth import Principal
from baton.engine import Baton
from baton.engine.graph_approval import record_decision
from baton.models import Trigger

if TYPE_CHECKING:
    from baton.api.service import ApiService


class Actions(Protocol):
    """The dashboard's state-changing operations."""

    def start(self, principal: Principal, workflow_id: str, parameters: dict[str, Any]) -> str: ...
    def cancel(self, principal: Principal, execution_id: str) -> str: ...
    def resume(self, principal: Principal, execution_id: str) -> str: ...
    def decide(
        self, principal: Principal, execution_id: str, step: str | None, approved: bool, reason: str | None
    ) -> str: ...
    async def check_agent(self, agent_id: str) -> CheckResult: ...


class LocalActions:
    """Acts on the local project's store; executions run in background ``baton`` processes."""

    def __init__(self, baton: Baton, config_path: Path | None) -> None:
        self.baton = baton
        self.config_path = config_path
        self.registry = AgentRegistry(baton.store, baton.agents)

    def start(self, principal: Principal, workflow_id: str, parameters: dict[str, Any]) -> str:
        ctx = self.baton.submit(workflow_id, parameters, trigger=Trigger.DASHBOARD)
        self._spawn("_execute", ctx.id)
        return ctx.id

    def cancel(self, principal: Principal, execution_id: str) -> str:
        ctx = self.baton.cancel(execution_id, reason=f"cancelled by {principal.name} from the dashboard")
        return ctx.status.value

    def resume(self, principal: Principal, execution_id: str) -> str:
        self._spawn("resume", execution_id, "--json")
        return "resuming"

    def decide(
        self, principal: Principal, execution_id: str, step: str | None, approved: bool, reason: str | None
    ) -> str:
        run = record_decision(
            self.baton.store,
            execution_id,
            step_id=step,
            approved=approved,
            reason=reason,
            by=principal.name,
            now=datetime.now(UTC),
        )
        self._spawn("resume", execution_id, "--json")
        return f"step {run.step_id} {'approved' if approved else 'rejected'}; the execution continues"

    async def check_agent(self, agent_id: str) -> CheckResult:
        return await self.registry.check(agent_id)

    def _spawn(self, *args: str) -> None:
        argv = [sys.executable, "-m", "baton", *args]
        if self.config_path is not None:
            argv += ["--config", str(self.config_path)]
        folder = self.baton.configuration.global_.artifacts_path(self.baton.root)
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"{args[1]}.detached.log"
        with log.open("ab") as out:
            subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                cwd=str(self.baton.root),
                env=dict(os.environ),
            )


class ServiceActions:
    """Acts through the API service: queued for the workers, audited, role-checked."""

    def __init__(self, service: ApiService) -> None:
        self.service = service

    def start(self, principal: Principal, workflow_id: str, parameters: dict[str, Any]) -> str:
        from baton.api.schemas import ExecutionCreate

        body = ExecutionCreate(workflow_id=workflow_id, parameters=parameters)
        return self.service.submit(principal, body, None, trigger=Trigger.DASHBOARD).execution_id

    def cancel(self, principal: Principal, execution_id: str) -> str:
        return self.service.cancel(principal, execution_id).status

    def resume(self, principal: Principal, execution_id: str) -> str:
        return self.service.resume(principal, execution_id).status

    def decide(
        self, principal: Principal, execution_id: str, step: str | None, approved: bool, reason: str | None
    ) -> str:
        state = self.service.approve(principal, execution_id, step=step, approved=approved, reason=reason)
        return state.detail or state.status

    async def check_agent(self, agent_id: str) -> CheckResult:
        return await self.service.registry.check(agent_id)
