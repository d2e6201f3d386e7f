"""The ``shell`` agent: the step's rendered prompt is a script run with bash (or sh).

Every value substituted into the script arrives as a ``BATON_VALUE_n`` variable in
``request.environment`` that the script references (see :mod:`baton.engine.shellscript`; a
``| raw`` filter opts out). Stdout is the output text, the exit code is recorded, and a
non-zero exit fails the step (a step with ``allow_failure: true`` fails too, without failing
the workflow; its exit code and output stay available to later steps).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from baton.agents.base import (
    AgentBase,
    AgentEvent,
    AgentFailed,
    AgentRequest,
    AgentResult,
    AgentTimeout,
    AgentUnavailable,
    EventCallback,
    HealthReport,
)
from baton.models import Agent
from baton.models.templating import SHELL_VALUE_PREFIX
from baton.observability.propagation import agent_traceparent
from baton.workspace.environment import child_environment
from baton.workspace.process import run_process

_TAIL = 2000
# A value this large is not passed in the environment: one environment string may not exceed
# 128 KiB on Linux, and an exported one would stop every command the script runs.
_ENV_VALUE_LIMIT = 16 * 1024


def _large_values(environment: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in environment.items()
            if key.startswith(SHELL_VALUE_PREFIX) and len(value.encode()) > _ENV_VALUE_LIMIT}


def _load_from_files(values: dict[str, str], folder: Path) -> str:
    """One script line that sets each value as an unexported shell variable, read from a file.

    ``$(cat F; printf x)`` then stripping the ``x`` keeps the value's trailing newlines.
    """
    parts = []
    for key, value in values.items():
        path = folder / key
        path.write_text(value, encoding="utf-8")
        parts.append(f"{key}=$(cat '{path}'; printf x); {key}=${{{key}%x}}")
    return "; ".join(parts) + "\n"


class ShellAgent(AgentBase):
    """Runs a step's script in the workspace, in its own process group."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self.program = str(self.config.get("command") or agent.model)

    @property
    def acts_on_workspace(self) -> bool:
        return True

    def _env(self, request: AgentRequest) -> dict[str, str]:
        extra = {str(k): str(v) for k, v in (self.config.get("env") or {}).items()}
        extra.update(request.environment)
        extra.update({
            "BATON_EXECUTION_ID": request.execution_id,
            "BATON_STEP_ID": request.step_id,
            "BATON_WORKSPACE": str(request.workspace_dir),
        })
        if traceparent := agent_traceparent(request.trace_id):
            extra["TRACEPARENT"] = traceparent
        return child_environment(allow=self.config.get("env_allow") or (), extra=extra)

    async def run(self, request: AgentRequest, on_event: EventCallback) -> AgentResult:
        if shutil.which(self.program) is None:
            raise AgentUnavailable(f"shell {self.program!r} not found on PATH", agent_id=self.agent.id)

        async def out(line: str) -> None:
            await on_event(AgentEvent("text", line))

        async def err(line: str) -> None:
            await on_event(AgentEvent("stderr", line))

        # The script goes through a file: one argv string may not exceed 128 KiB on Linux.
        # Large substituted values go through files too (see _load_from_files).
        with tempfile.TemporaryDirectory(prefix="baton-shell-") as tmp:
            script = Path(tmp) / "step.sh"
            env = self._env(request)
            large = _large_values(request.environment)
            preamble = _load_from_files(large, Path(tmp)) if large else ""
            for key in large:
                env.pop(key, None)
            script.write_text(preamble + request.prompt, encoding="utf-8")
            res = await run_process([self.program, str(script)], cwd=request.workspace_dir,
                                    env=env, timeout=request.timeout_seconds,
                                    on_stdout=out, on_stderr=err)
        if res.timed_out:
            raise AgentTimeout(
                f"command still running after {request.timeout_seconds:g}s; its process group "
                "was killed (raise timeout_seconds if it needs longer)", agent_id=self.agent.id)
        code = res.exit_code if res.exit_code is not None else -1
        if code != 0:
            tail = res.stderr.strip()[-_TAIL:] or res.stdout.strip()[-_TAIL:]
            failure = AgentFailed(f"command exited with code {code}" + (f": {tail}" if tail else ""),
                                  exit_code=code, agent_id=self.agent.id)
            failure.output = res.stdout  # type: ignore[attr-defined]
            raise failure
        return AgentResult(text=res.stdout, exit_code=code, duration_seconds=res.duration_seconds,
                           model=self.agent.model,
                           metadata={"stderr": res.stderr[-_TAIL:]} if res.stderr else {})

    async def check(self, live: bool = False) -> HealthReport:
        path = shutil.which(self.program)
        if path is None:
            return HealthReport(False, f"{self.program} not found on PATH")
        return HealthReport(True, f"{self.program} at {path}")
