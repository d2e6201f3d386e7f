"""The ``replay`` agent: re-runs ACP sessions from recordings, offline (a test double).

Every ACP call Baton makes is recorded as the step's transcript
(``<artifacts>/<step>-<attempt>-<agent>.jsonl``). The replay agent plays the agent's side
of such a recording back to Baton's real ACP client code — the same permission policy,
the same confined ``fs/*`` (so writes that went through Baton happen again), the same
result building — and checks every message Baton sends against the one it sent when the
recording was made. No agent process is started. Any difference (another prompt, another
permission answer, another file content read back) fails the call loudly with
``AgentFailed("replay diverged at ...")``, never retried.

```yaml
agents:
  reviewer: {provider: replay, model: recorded, capabilities: [code_review],
             config: {recordings: tests/recordings}}   # or recording: one/file.jsonl
```

For a step ``S`` (attempt ``N``) the agent plays ``S-N-*.jsonl`` from ``recordings``, else
``S-*.jsonl``, else ``S.jsonl``. Files an agent wrote by itself (not through
``fs/write_text_file``) are not in a recording and are not replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from acp import connect_to_agent

from baton.agents.acp import AcpAgent, Session
from baton.agents.acp_client import BatonClient
from baton.agents.acp_transport import ReplayTransport, Scrubber, load_recording, recording_session
from baton.agents.base import (
    AgentError,
    AgentFailed,
    AgentRequest,
    AgentResult,
    AgentUnavailable,
    EventCallback,
    HealthReport,
)
from baton.models import Agent


class _NoProcess:
    """Stands in for the agent process that a replay never starts."""

    pid = -1
    returncode: int | None = None

    async def wait(self) -> int:
        await asyncio.Event().wait()
        return 0


class ReplayAgent(AcpAgent):
    """Plays recorded ACP sessions back through Baton's ACP client."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self._transport: ReplayTransport | None = None
        self._session_record: dict[str, Any] = {}

    def missing_file_empty(self) -> bool:
        return bool(self._session_record.get("missing_file_empty"))

    def argv(self) -> list[str]:
        return ["replay"]

    def recording_for(self, request: AgentRequest) -> Path:
        """The recording this call plays (AgentUnavailable naming what was looked for)."""
        single = self.config.get("recording")
        if single:
            path = Path(str(single))
            if path.is_file():
                return path
            raise AgentUnavailable(f"agent {self.agent.id!r}: recording {path} does not exist",
                                   agent_id=self.agent.id)
        folder = Path(str(self.config.get("recordings") or "."))
        step = request.step_id or "step"
        for pattern in (f"{step}-{request.attempt}-*.jsonl", f"{step}-*.jsonl", f"{step}.jsonl"):
            found = sorted(folder.glob(pattern))
            if found:
                return found[0]
        raise AgentUnavailable(
            f"agent {self.agent.id!r}: no recording for step {step!r} in {folder} "
            f"(looked for {step}-{request.attempt}-*.jsonl, {step}-*.jsonl, {step}.jsonl)",
            agent_id=self.agent.id)

    @contextlib.asynccontextmanager
    async def _spawn(self, argv: list[str], env: dict[str, str], cwd: Path,
                     client: BatonClient, sink: IO[str] | None, scrubber: Scrubber,
                     on_event: EventCallback) -> AsyncIterator[Session]:
        assert self._transport is not None
        conn = connect_to_agent(client, self._transport, use_unstable_protocol=True)
        try:
            yield Session(conn=conn, proc=_NoProcess(), transport=_Notes(sink, scrubber), stderr=deque())
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    async def run(self, request: AgentRequest, on_event: EventCallback) -> AgentResult:
        path = self.recording_for(request)
        try:
            entries = load_recording(path)
        except (OSError, ValueError) as exc:
            raise AgentFailed(f"agent {self.agent.id!r}: cannot read recording {path}: {exc}",
                              retryable=False, agent_id=self.agent.id) from None
        self._transport = ReplayTransport(entries, Path(request.workspace_dir))
        self._session_record = recording_session(path)
        try:
            result = await super().run(request, on_event)
        except AgentError as exc:
            raise self._diverged() or exc from None
        if (problem := self._diverged()) is not None:
            raise problem
        result.metadata["replayed_from"] = str(path)
        return result

    def _diverged(self) -> AgentFailed | None:
        transport = self._transport
        if transport is None or transport.divergence is None:
            return None
        return AgentFailed(f"agent {self.agent.id!r}: {transport.divergence}", retryable=False,
                           agent_id=self.agent.id)

    def _died(self, session: Session) -> AgentError:
        return self._diverged() or AgentFailed(
            f"agent {self.agent.id!r}: the recording ended before the turn did", retryable=False,
            agent_id=self.agent.id)

    def _kill(self, session: Session) -> None:
        return None

    async def check(self, live: bool = False) -> HealthReport:
        where = self.config.get("recording") or self.config.get("recordings") or "."
        return HealthReport(ok=Path(str(where)).exists(), detail=f"replay agent (test double) from {where}")


class _Notes:
    """The replay's own transcript: Baton's decisions, like a live call writes them."""

    def __init__(self, sink: IO[str] | None, scrubber: Scrubber) -> None:
        self.sink = sink
        self.scrubber = scrubber

    def note(self, record: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink.write(self.scrubber.line(record) + "\n")
            self.sink.flush()
