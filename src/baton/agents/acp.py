"""Any coding agent over the Agent Client Protocol, with Baton as the permission broker.

One call is one ACP session: spawn the agent (own process group, allow-listed environment,
stdin/stdout as the transport), ``initialize``, ``session/new`` (the workspace as cwd, the
agent's MCP servers) or ``session/load`` when resuming a session the agent can load,
switch a mode that would act without asking to one that asks, ``session/prompt``, then
turn the stop reason into a result or an :class:`~baton.agents.base.AgentError`.
Meanwhile :class:`~baton.agents.acp_client.BatonClient` answers the agent: updates become
events, permission requests are decided by the step's policy, files and terminals go
through Baton. At the step timeout Baton sends ``session/cancel``, waits ``cancel_grace``
seconds (config, default 1) and kills the process group.

The session's JSON-RPC traffic is saved as the call's transcript
(``<artifacts>/<step>-<attempt>-<agent>.jsonl``, secrets redacted) — a recording the
``replay`` agent (:mod:`baton.agents.replay`) can play back offline. Files written through
``fs/write_text_file`` are the step's diff (``<step>-<attempt>-<agent>.diff``).

Config keys (``agents.<id>.config``): those of the CLI adapters (``base_url``, ``api_key``,
``env``, ``env_allow``, ``extra_args``, ``settings``, ``prices``, ``mcp_config``,
``command``) plus ``session_mode`` (the mode to switch to), ``cancel_grace`` (seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from acp import PROTOCOL_VERSION, RequestError, connect_to_agent, text_block
from acp.client.connection import ClientSideConnection
from acp.schema import (
    AcpMcpServer,
    ClientCapabilities,
    EnvVariable,
    FileSystemCapabilities,
    HttpHeader,
    HttpMcpServer,
    Implementation,
    McpServerStdio,
    PromptResponse,
    SseMcpServer,
)

from baton.agents.acp_client import BatonClient, SessionState
from baton.agents.acp_policy import PermissionPolicy
from baton.agents.acp_presets import PresetCli
from baton.agents.acp_terminals import Terminals
from baton.agents.acp_transport import RecordingTransport, Scrubber, StdioTransport
from baton.agents.base import (
    AgentBase,
    AgentError,
    AgentEvent,
    AgentFailed,
    AgentRequest,
    AgentResult,
    AgentTimeout,
    AgentUnavailable,
    EventCallback,
    HealthReport,
    InvalidOutput,
    Usage,
)
from baton.agents.cli_base import LIVE_CHECK_PROMPT
from baton.agents.failures import from_message, redact, to_error
from baton.agents.pricing import price
from baton.agents.process_env import CallContext, ProcessEnvironment, as_str_list
from baton.agents.structured import extract_json, schema_instruction
from baton.models import Agent, Permissions
from baton.private import private_file
from baton.workspace import snapshot
from baton.workspace.process import signal_group

_STDERR_TAIL = 40
_STREAM_LIMIT = 64 * 1024 * 1024
_CLIENT_INFO = Implementation(name="baton", version="0.1.0")


@dataclass
class Session:
    """A live agent process and its connection."""

    conn: ClientSideConnection
    proc: Any  # asyncio.subprocess.Process (live) or replay's stand-in
    transport: Any
    stderr: deque[str]


class AcpAgent(AgentBase):
    """An agent reached over ACP (``interface: acp``, or ``provider: acp``)."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self.preset = PresetCli(agent)

    # -- protocol --------------------------------------------------------------------------
    @property
    def acts_on_workspace(self) -> bool:
        return True

    @property
    def process(self) -> ProcessEnvironment:
        """The environment, secrets and home handling of the provider's program."""
        return self.preset.process

    def argv(self) -> list[str]:
        """The program and arguments that start the agent's ACP server."""
        command = self.config.get("command")
        preset = self.preset.preset
        base = as_str_list(command) if isinstance(command, list) else (
            [str(command)] if command else [preset.program] if preset else [])
        extra = [a.replace("{model}", self.agent.model) for a in (preset.model_args if preset else ())]
        argv = [*base, *extra, *as_str_list(self.config.get("extra_args"))]
        found = shutil.which(argv[0]) if argv else None
        if found is None:
            hint = f"npm install -g {preset.npm_package}" if preset else "check agents.<id>.config.command"
            raise AgentUnavailable(
                f"agent {self.agent.id!r}: the ACP agent program {argv[0] if argv else '(none)'!r} "
                f"was not found on PATH; install it with: {hint}", agent_id=self.agent.id)
        return [found, *argv[1:]]

    def missing_file_empty(self) -> bool:
        """Whether a read of a missing file answers "" (see Preset.missing_file_empty)."""
        preset = self.preset.preset
        return bool(preset and preset.missing_file_empty)

    def permissions(self, request: AgentRequest) -> Permissions | None:
        step = request.permissions
        agent = self.agent.permissions
        return step.over(agent) if step is not None else agent

    def secrets(self) -> list[str]:
        return self.process.secrets()

    # -- one call ----------------------------------------------------------------------------
    async def run(self, request: AgentRequest, on_event: EventCallback) -> AgentResult:
        argv = self.argv()
        started = time.monotonic()
        workspace = Path(request.workspace_dir)
        own = [Path(request.artifacts_dir)] if request.artifacts_dir is not None else []
        before = await snapshot.take(workspace, exclude=own)
        secrets = self.secrets()
        # The home is kept across the agent's calls in one execution: a retry session/loads.
        keep = self.config.get("keep_home") is not False
        with self.process.call_dirs(request, secrets, keep_home=keep) as (home, call_dir):
            ctx = CallContext(request=request, program=argv, home=home, call_dir=call_dir, prompt="",
                              secrets=secrets)
            self.process.prepare(ctx)
            env = self.process.build_env(ctx)
            if self.preset.preset:
                env.update(dict(self.preset.preset.extra_env))
                if self.agent.provider == "anthropic":
                    env.setdefault("ANTHROPIC_MODEL", self.agent.model)
            transcript_path, sink = self._transcript(request)
            try:
                result = await self._session(request, argv, env, ctx, on_event, sink)
            finally:
                if sink is not None:
                    sink.close()
        files = await snapshot.changed_since(workspace, before, exclude=own)
        return self._result(request, result, files, transcript_path, started)

    def _transcript(self, request: AgentRequest) -> tuple[Path | None, IO[str] | None]:
        if request.artifacts_dir is None:
            return None, None
        path = Path(request.artifacts_dir) / f"{self.call_name(request)}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, private_file(path).open("w", encoding="utf-8")

    @contextlib.asynccontextmanager
    async def _spawn(self, argv: list[str], env: dict[str, str], cwd: Path,
                     client: BatonClient, sink: IO[str] | None, scrubber: Scrubber,
                     on_event: EventCallback) -> AsyncIterator[Session]:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=str(cwd), env=env, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True, limit=_STREAM_LIMIT)
        except (FileNotFoundError, PermissionError) as exc:
            raise AgentUnavailable(f"agent {self.agent.id!r}: cannot start {argv[0]}: {exc}",
                                   agent_id=self.agent.id) from None
        assert proc.stdin is not None and proc.stdout is not None
        stderr: deque[str] = deque(maxlen=_STDERR_TAIL)
        pump = asyncio.create_task(self._pump_stderr(proc, stderr, scrubber, on_event))
        transport = RecordingTransport(StdioTransport(proc.stdout, proc.stdin), sink, scrubber)
        conn = connect_to_agent(client, transport, use_unstable_protocol=True)
        try:
            yield Session(conn=conn, proc=proc, transport=transport, stderr=stderr)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
            await self._stop(proc)
            with contextlib.suppress(Exception):  # read to EOF so the pipes close with the loop alive
                await asyncio.wait_for(proc.stdout.read(), 1)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(pump, 1)
            if proc.stdin is not None:
                proc.stdin.close()

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        """Close stdin, give the agent a moment, then kill whatever is left of its group."""
        if proc.returncode is None:  # the turn is over and recorded: no need to linger
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.05)
        if proc.returncode is None and signal_group(proc.pid, signal.SIGTERM):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 1.0)
        signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await proc.wait()

    async def _pump_stderr(self, proc: asyncio.subprocess.Process, tail: deque[str],
                           scrubber: Scrubber, on_event: EventCallback) -> None:
        assert proc.stderr is not None
        while True:
            raw = await proc.stderr.readline()
            if not raw:
                return
            line = scrubber.redact(raw.decode("utf-8", "replace").rstrip())
            if line.strip():
                tail.append(line)
                await on_event(AgentEvent("stderr", line))

    def _mcp_servers(self) -> list[HttpMcpServer | SseMcpServer | AcpMcpServer | McpServerStdio]:
        path = self.config.get("mcp_config")
        if not path:
            return []
        data = json.loads(Path(str(path)).read_text(encoding="utf-8"))
        servers: list[HttpMcpServer | SseMcpServer | AcpMcpServer | McpServerStdio] = []
        for name, spec in (data.get("mcpServers") or data).items():
            if spec.get("url"):
                headers = [HttpHeader(name=k, value=str(v)) for k, v in (spec.get("headers") or {}).items()]
                servers.append(HttpMcpServer(type="http", name=name, url=spec["url"], headers=headers))
            elif spec.get("command"):
                env = [EnvVariable(name=k, value=str(v)) for k, v in (spec.get("env") or {}).items()]
                servers.append(McpServerStdio(name=name, command=spec["command"],
                                              args=[str(a) for a in spec.get("args") or []], env=env))
        return servers

    def prompt_text(self, request: AgentRequest) -> str:
        extra = schema_instruction(request.output_schema) if request.output_schema else ""
        return request.prompt + extra

    async def _session(self, request: AgentRequest, argv: list[str], env: dict[str, str],
                       ctx: CallContext, on_event: EventCallback, sink: IO[str] | None) -> _Outcome:
        workspace = Path(request.workspace_dir)
        secrets = ctx.secrets
        scrubber = Scrubber(workspace, lambda text: redact(text, secrets) if secrets else text)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.timeout_seconds
        terminals = Terminals(workspace, env, deadline)
        policy = PermissionPolicy(workspace, writes_workspace=request.writes_workspace,
                                  permissions=self.permissions(request))
        client = BatonClient(workspace, policy, on_event, terminals,
                             missing_file_empty=self.missing_file_empty())
        try:
            async with self._spawn(argv, env, workspace, client, sink, scrubber, on_event) as session:
                client.note = session.transport.note
                client.note({"baton": "session", "agent": self.agent.id, "provider": self.agent.provider,
                             "missing_file_empty": client.missing_file_empty})
                return await self._converse(request, session, client, deadline)
        finally:
            await terminals.close()

    async def _converse(self, request: AgentRequest, session: Session, client: BatonClient,
                        deadline: float) -> _Outcome:
        """initialize → session/new|load → mode → prompt, under the step's deadline."""
        conn = session.conn
        state = client.state
        session_id: str | None = None

        async def conversation() -> PromptResponse:
            nonlocal session_id
            init = await conn.initialize(
                protocol_version=PROTOCOL_VERSION,
                client_capabilities=ClientCapabilities(
                    fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=True),
                client_info=_CLIENT_INFO)
            cwd = str(Path(request.workspace_dir).resolve())
            servers = self._mcp_servers()
            caps = init.agent_capabilities
            modes = None
            loaded: Any = False
            if request.session_id and caps is not None and caps.load_session:
                session_id = request.session_id  # still the one to load if this times out
                client.listening = False
                try:
                    loaded = await conn.load_session(cwd=cwd, session_id=request.session_id,
                                                      mcp_servers=servers)
                except RequestError:
                    loaded = False  # the agent no longer has it: start afresh
                finally:
                    client.listening = True
            if loaded is not False and request.session_id:
                sid: str = request.session_id
                modes = loaded.modes if loaded is not None else None
            else:
                new = await conn.new_session(cwd=cwd, mcp_servers=servers)
                sid = new.session_id
                modes = new.modes
            session_id = sid
            await self._ensure_asking(conn, sid, modes)
            return await conn.prompt(session_id=sid, prompt=[text_block(self.prompt_text(request))])

        task = asyncio.create_task(conversation())
        try:
            return await self._outcome(request, session, task, state, deadline, lambda: session_id)
        except AgentError as exc:
            exc.session_id = session_id  # a retry can session/load it where the agent supports that
            raise

    async def _outcome(self, request: AgentRequest, session: Session, task: asyncio.Task[PromptResponse],
                       state: SessionState, deadline: float,
                       current: Callable[[], str | None]) -> _Outcome:
        """Wait for the turn, the agent's exit or the deadline, whichever comes first."""
        loop = asyncio.get_running_loop()
        exited = asyncio.create_task(session.proc.wait())
        remaining = max(deadline - loop.time(), 0.0)
        done, _ = await asyncio.wait({task, exited}, timeout=remaining,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task not in done and exited in done:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), 1.0)  # its last answer may be in flight
        session_id = current()
        if not task.done():
            if exited not in done:
                return await self._timeout(request, session, task, session_id)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise self._died(session)
        exited.cancel()
        try:
            response = task.result()
        except RequestError as exc:
            raise self._request_failed(exc, session) from None
        except ConnectionError:
            raise self._died(session) from None
        self._check_error_text(state, session)
        return _Outcome(response=response, state=state, session_id=current())

    def _check_error_text(self, state: SessionState, session: Session) -> None:
        marker = self.preset.preset.error_text if self.preset.preset else None
        chunks = [c for c in state.message_parts if c.strip()]
        last = chunks[-1].strip() if chunks else ""
        if marker and last.startswith(marker):
            failure = from_message(last[len(marker):])
            raise to_error(failure, agent_id=self.agent.id, cli=self.preset.name,
                           credential_hint=self.process.credential_hint(), secrets=self.secrets(),
                           exit_code=session.proc.returncode)

    async def _ensure_asking(self, conn: ClientSideConnection, session_id: str, modes: Any) -> None:
        preset = self.preset.preset
        wanted = self.config.get("session_mode") or (preset.ask_mode if preset else None)
        if modes is None:
            return
        available = {m.id for m in modes.available_modes}
        if not wanted and modes.current_mode_id in PresetCli.BYPASS_MODES and "default" in available:
            wanted = "default"
        if wanted and wanted in available and wanted != modes.current_mode_id:
            await conn.set_session_mode(session_id=session_id, mode_id=str(wanted))

    async def _timeout(self, request: AgentRequest, session: Session, task: asyncio.Task[Any],
                       session_id: str | None) -> _Outcome:
        grace = float(self.config.get("cancel_grace", 1.0))
        if session_id is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.conn.cancel(session_id=session_id), grace)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(task), grace)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        self._kill(session)
        raise AgentTimeout(
            f"agent {self.agent.id!r} ({self.preset.name}) did not finish within "
            f"{request.timeout_seconds:g}s; its process group was killed", agent_id=self.agent.id)

    def _kill(self, session: Session) -> None:
        signal_group(session.proc.pid, signal.SIGKILL)

    def _stderr_text(self, session: Session) -> str:
        return " | ".join(line.strip() for line in list(session.stderr)[-8:] if line.strip())

    def _died(self, session: Session) -> AgentError:
        code = session.proc.returncode
        tail = self._stderr_text(session)
        failure = from_message(tail or f"{self.preset.name} exited with code {code} before answering")
        return to_error(failure, agent_id=self.agent.id, cli=self.preset.name,
                        credential_hint=self.process.credential_hint(), secrets=self.secrets(),
                        exit_code=code)

    def _request_failed(self, exc: RequestError, session: Session) -> AgentError:
        data = exc.data
        detail = data if isinstance(data, str) else json.dumps(data) if data is not None else ""
        message = " ".join(part for part in (str(exc), detail) if part)
        status = exc.code if isinstance(exc.code, int) and 400 <= exc.code <= 599 else None
        failure = from_message(message, status)  # gemini answers with the HTTP status as the code
        if failure.status is None:
            tail = self._stderr_text(session)
            if tail:
                with_tail = from_message(f"{message} | {tail}")
                if with_tail.status is not None or with_tail.auth or with_tail.rate_limited:
                    failure = with_tail
        return to_error(failure, agent_id=self.agent.id, cli=self.preset.name,
                        credential_hint=self.process.credential_hint(), secrets=self.secrets(),
                        exit_code=session.proc.returncode)

    # -- result ---------------------------------------------------------------------------------
    def _result(self, request: AgentRequest, outcome: _Outcome, files: list[str],
                transcript: Path | None, started: float) -> AgentResult:
        return build_result(self.agent, request, outcome, files, transcript, started, self.preset.name)

    async def check(self, live: bool = False) -> HealthReport:
        """The program is on PATH (and, with ``live``, answers a one-line prompt)."""
        try:
            argv = self.argv()
        except AgentUnavailable as exc:
            return HealthReport(ok=False, detail=str(exc))
        if self.base_url and not self.api_key:
            hint = self.process.credential_hint()
            return HealthReport(ok=False, detail=f"base_url is set but no api_key: set {hint}")
        if not live:
            return HealthReport(ok=True, detail=f"ACP agent {' '.join(argv)}")
        with tempfile.TemporaryDirectory(prefix="baton-check-") as tmp:
            request = AgentRequest(prompt=LIVE_CHECK_PROMPT, workspace_dir=Path(tmp), timeout_seconds=120,
                                   step_id="health-check")
            try:
                result = await self.run(request, _ignore)
            except AgentError as exc:
                return HealthReport(ok=False, detail=str(exc))
        return HealthReport(ok=True, detail=f"ACP agent {argv[0]} answered in {result.duration_seconds:.1f}s")


@dataclass
class _Outcome:
    response: PromptResponse
    state: SessionState
    session_id: str | None


def usage_of(response: PromptResponse) -> Usage | None:
    """Baton's usage from a prompt response (fresh input = input minus cache reads)."""
    usage = response.usage
    if usage is None:
        quota = (response.field_meta or {}).get("quota") or {}
        count = quota.get("token_count") if isinstance(quota, dict) else None
        if isinstance(count, dict):  # gemini: _meta.quota.token_count
            return Usage(input_tokens=int(count.get("input_tokens") or 0),
                         output_tokens=int(count.get("output_tokens") or 0))
        return None
    cached = usage.cached_read_tokens or 0
    written = usage.cached_write_tokens or 0
    # Agents differ on whether inputTokens counts cache reads (copilot, codex: yes; claude: no);
    # a total that adds the cache on top says it does not.
    separate = usage.total_tokens >= usage.input_tokens + usage.output_tokens + cached + written > (
        usage.input_tokens + usage.output_tokens)
    fresh = usage.input_tokens if separate else max(usage.input_tokens - cached, 0)
    return Usage(input_tokens=fresh, output_tokens=usage.output_tokens,
                 cache_read_tokens=cached, cache_write_tokens=written)


def build_result(agent: Agent, request: AgentRequest, outcome: _Outcome, files: list[str],
                 transcript: Path | None, started: float, name: str) -> AgentResult:
    """The AgentResult of a finished ACP turn (shared by the live and the replay agent)."""
    state = outcome.state
    stop = outcome.response.stop_reason
    if stop == "refusal":
        raise AgentFailed(f"agent {agent.id!r} ({name}) refused the request", retryable=False,
                          agent_id=agent.id)
    if stop == "cancelled" and not state.rejected:
        raise AgentFailed(f"agent {agent.id!r} ({name}) cancelled the turn", agent_id=agent.id)
    usage = usage_of(outcome.response)
    source = "prompt response"
    if usage is None:
        # codex-acp reports only the context window's size (usage_update.used): counted as input.
        usage = Usage(input_tokens=state.context_used or 0)
        source = "usage_update.used (context tokens, no input/output split)" if state.context_used else "none"
    cost = state.cost_usd
    if cost is None:
        cost = price(agent.model, usage, agent.config.get("prices"))
    answer: Any = None
    text = state.text
    if request.output_schema is not None:
        ok, answer = extract_json(text)
        if not ok:
            snippet = " ".join(text.split())[:200]
            raise InvalidOutput(f"agent {agent.id!r} ({name}) was asked for JSON matching the step's "
                                f"output_schema but answered: {snippet!r}", agent_id=agent.id)
    diff = "".join(w.unified_diff() for w in state.writes)
    if diff and request.artifacts_dir is not None and transcript is not None:
        transcript.with_suffix(".diff").write_text(diff, encoding="utf-8")
    all_files = sorted(set(files) | {w.path for w in state.writes})
    return AgentResult(
        text=text,
        json=answer,
        usage=usage,
        cost_usd=cost,
        session_id=outcome.session_id,
        exit_code=0,
        files_changed=all_files,
        duration_seconds=time.monotonic() - started,
        transcript_path=str(transcript) if transcript else None,
        model=agent.model,
        metadata={
            "stop_reason": stop,
            "interface": "acp",
            "usage_source": source,
            "permissions": [d.as_dict() for d in state.decisions],
            "diff": diff or None,
        },
    )


async def _ignore(_event: AgentEvent) -> None:
    return None


__all__ = ["AcpAgent", "build_result", "usage_of"]
