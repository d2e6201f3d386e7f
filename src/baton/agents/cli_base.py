"""What the four coding-CLI adapters (claude, codex, copilot, gemini) have in common.

One call is: find the binary (``config.command`` overrides the name), build an allow-listed
environment, write any private config the CLI needs, snapshot the workspace, run the CLI
through :func:`~baton.workspace.process.run_process` (own process group, stdin closed,
Baton's wall-clock timeout), parse its JSON event stream line by line as it arrives into
:class:`~baton.agents.base.AgentEvent` s, save the raw lines as a transcript, then turn the
outcome into an :class:`~baton.agents.base.AgentResult` or an :class:`AgentError`.

Config keys honoured by every CLI adapter (``agents.<id>.config``):
``base_url``, ``api_key``, ``max_turns``, ``allowed_tools``, ``disallowed_tools``,
``extra_args`` (list), ``mcp_config`` (path), ``env`` (dict), ``env_allow`` (list of
names passed through from Baton's environment), ``command`` (program name, path or argv
list), ``prices`` (price-table overrides), ``keep_home`` (bool), ``cli_retries`` (how often
the CLI itself retries a failed request, default 1, where the CLI lets Baton set it: claude,
codex with ``base_url``, gemini; Baton's step ``retry_policy`` does the rest). The model is
the agent's ``model`` field.

Errors do not hide behind the timeout: each parser notes the failed requests its CLI says it
is retrying (:meth:`StreamParser.retrying`). A rejected credential (401/403) stops the CLI at
once (its process group is killed) with a non-retryable "credentials rejected" error; a call
that runs out of time while the CLI retries names the last status it saw.

Environment, secrets and the call's private config home and folder come from
:class:`~baton.agents.process_env.ProcessEnvironment` (``keep_home`` keeps the home across
the agent's calls in one execution).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, ClassVar

from baton.agents.base import (
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
from baton.agents.failures import Failure, describe, from_message, redact, to_error
from baton.agents.pricing import price

# CallContext and as_str_list are re-exported: the CLI adapters import them from here.
from baton.agents.process_env import CallContext as CallContext
from baton.agents.process_env import ProcessEnvironment
from baton.agents.process_env import as_str_list as as_str_list
from baton.agents.structured import extract_json
from baton.models import Isolation
from baton.models.agent import DEFAULT_CLI_RETRIES, MAX_CLI_RETRIES
from baton.private import private_file
from baton.workspace import snapshot
from baton.workspace.container import run_in_container
from baton.workspace.process import ProcessResult, run_process

_VERSION = re.compile(r"(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)")
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
_STDERR_TAIL = 40
# Longer prompts go through a file: one argv string may not exceed 128 KiB on Linux.
MAX_ARGV_PROMPT = 100_000
LIVE_CHECK_PROMPT = "Reply with the single word: ok"


class StreamParser(ABC):
    """Turns a CLI's JSON-lines stdout into events and remembers what the call produced.

    Subclasses implement :meth:`handle` for one decoded JSON object; lines that are not
    JSON objects and event types a subclass does not know are ignored.
    """

    def __init__(self) -> None:
        self.text = ""
        self.usage = Usage()
        self.cost_usd: float | None = None
        self.session_id: str | None = None
        self.model: str | None = None
        self.completed = False
        self.failure: Failure | None = None
        self.structured: Any = None
        self.has_structured = False
        self.metadata: dict[str, Any] = {}
        # usage reported by the messages streamed so far, by message id (before the final report)
        self.streamed: dict[str, Usage] = {}
        # failed requests the CLI said it is retrying on its own (api_retry events, "Attempt N
        # failed with status 500", "Reconnecting... 1/5 (...)"), oldest first
        self.retries: list[Failure] = []

    def retrying(self, failure: Failure, attempt: Any = None) -> list[AgentEvent]:
        """Note that the CLI is retrying after ``failure``; the event that says so."""
        self.retries.append(failure)
        status = f"HTTP {failure.status}" if failure.status else "an error"
        return [AgentEvent("status", f"retrying after {status}", {
            "retry": True, "status": failure.status, "attempt": attempt})]

    @property
    def fatal(self) -> Failure | None:
        """A retried failure no retry can cure (credentials rejected): stop the CLI now."""
        last = self.retries[-1] if self.retries else None
        return last if last is not None and last.is_auth else None

    def feed_stderr(self, line: str) -> list[AgentEvent]:
        """Events for one stderr line (a CLI that reports its retries there overrides this)."""
        return []

    def streamed_usage(self) -> Usage:
        total = Usage()
        for usage in self.streamed.values():
            total = total + usage
        return total

    def billed_usage(self) -> Usage:
        """What the call used: its final report, else what its messages streamed."""
        return self.usage if self.completed or not self.streamed else self.streamed_usage()

    def feed(self, line: str) -> list[AgentEvent]:
        """Events for one stdout line (empty for blank, non-JSON or unknown lines)."""
        line = line.strip()
        if not line.startswith("{"):
            return []
        try:
            obj = json.loads(line)
        except ValueError:
            return []
        if not isinstance(obj, dict):
            return []
        try:
            return self.handle(obj)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            return []  # a known event type with an unexpected shape: skip it, keep going

    @abstractmethod
    def handle(self, obj: dict[str, Any]) -> list[AgentEvent]:
        ...


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class CliAgent(ProcessEnvironment, ABC):
    """Base class of the coding-CLI adapters; subclasses fill in the CLI-specific hooks."""

    npm_package: ClassVar[str]
    # Whether the CLI reads its prompt from stdin when no prompt argument is given.
    reads_prompt_from_stdin: ClassVar[bool] = False

    # -- protocol -----------------------------------------------------------------------
    @property
    def acts_on_workspace(self) -> bool:
        return True

    def cli_retries(self) -> int:
        """How often the CLI may retry a failed request on its own (``config.cli_retries``)."""
        value = self.config.get("cli_retries", DEFAULT_CLI_RETRIES)
        try:
            count = int(value)
        except (TypeError, ValueError):
            count = DEFAULT_CLI_RETRIES
        return max(0, min(count, MAX_CLI_RETRIES))

    # -- hooks --------------------------------------------------------------------------
    @abstractmethod
    def build_args(self, ctx: CallContext) -> list[str]:
        """The arguments after the program."""
        ...

    @abstractmethod
    def new_parser(self, ctx: CallContext) -> StreamParser:
        ...

    def collect(self, ctx: CallContext, proc: ProcessResult, parser: StreamParser) -> None:
        """Read what the CLI left in files (usage reports) into the parser (optional hook)."""
        return None

    def failure_of(self, proc: ProcessResult, parser: StreamParser, stderr: list[str]) -> Failure | None:
        """How the call failed, or None if it succeeded."""
        if parser.failure is not None:
            return parser.failure
        if proc.exit_code not in (0, None):
            tail = " | ".join(line.strip() for line in stderr[-5:] if line.strip())
            return from_message(tail or f"{self.cli_name} exited with code {proc.exit_code}")
        if not parser.completed:
            return Failure(
                message=f"{self.cli_name} exited without a final result (exit code {proc.exit_code})"
            )
        return None

    def login_status_args(self) -> list[str] | None:
        """Arguments of the CLI's own login-status command (local, no model call), if it has one."""
        return None

    def login_from_status(self, proc: ProcessResult) -> tuple[bool, str]:
        """(logged in?, what to say) from the login-status command's output."""
        return proc.exit_code == 0, proc.stdout.strip() or proc.stderr.strip()

    async def login_state(self, program: list[str]) -> tuple[bool, str]:
        """Whether the user's own login is there: the CLI's status command where it has one,
        else its credential variables and files; never a model call."""
        from baton.agents.logins import login_problem

        env = self.build_env(None)
        args = self.login_status_args()
        if args is not None:
            try:
                proc = await run_process([*program, *args], cwd=tempfile.gettempdir(), env=env, timeout=30)
            except OSError:
                proc = None
            if proc is not None and not proc.timed_out:
                return self.login_from_status(proc)
        problem = login_problem(self.agent.provider, env=env)
        if problem is not None:
            return False, problem
        return True, "installed, login not verified (use --live)"

    # -- shared machinery -----------------------------------------------------------------
    def program(self) -> list[str]:
        """The argv prefix that starts the CLI; raises AgentUnavailable when it is missing."""
        command = self.config.get("command")
        argv = (
            as_str_list(command)
            if isinstance(command, list)
            else [str(command) if command else self.cli_name]
        )
        if self.agent.isolation is Isolation.DOCKER:
            return argv  # resolved inside the container's image, not on this host
        found = shutil.which(argv[0])
        if found is None:
            raise AgentUnavailable(
                f"agent {self.agent.id!r}: the {self.cli_name} CLI ({argv[0]}) was not found on "
                f"PATH; install it with: npm install -g {self.npm_package}",
                agent_id=self.agent.id,
            )
        return [found, *argv[1:]]

    def prompt_for(self, ctx: CallContext, extra: str = "") -> str | None:
        """The prompt argument; None when the prompt is too large for argv and goes to stdin.

        A CLI that cannot read its prompt from stdin gets a large prompt in a file instead.
        """
        prompt = ctx.request.prompt + extra
        if prompt.startswith("-"):
            prompt = " " + prompt  # never mistaken for an option
        if len(prompt.encode("utf-8")) <= MAX_ARGV_PROMPT:
            return prompt
        if self.reads_prompt_from_stdin and self.agent.isolation is not Isolation.DOCKER:
            ctx.stdin = prompt
            return None
        path = ctx.call_dir / "prompt.md"
        path.write_text(prompt, encoding="utf-8")
        return (
            f"Your full task is in the file {path}. Read that whole file first and "
            "follow its instructions exactly."
        )

    async def run(self, request: AgentRequest, on_event: EventCallback) -> AgentResult:
        """Run the CLI once for ``request``; raise an AgentError on failure."""
        program = self.program()
        started = time.monotonic()
        call_secrets = self.secrets()
        with self.call_dirs(request, call_secrets) as (home, call_dir):
            ctx = CallContext(
                request=request,
                program=program,
                home=home,
                call_dir=call_dir,
                prompt="",
                secrets=call_secrets,
            )
            self.prepare(ctx)
            ctx.env = self.build_env(ctx)
            argv = [*program, *self.build_args(ctx)]
            parser = self.new_parser(ctx)
            workspace = Path(request.workspace_dir)
            own = [Path(request.artifacts_dir)] if request.artifacts_dir is not None else []
            before = await snapshot.take(workspace, exclude=own)
            transcript_path: Path | None = None
            transcript: IO[str] | None = None
            if request.artifacts_dir is not None:
                transcript_path = Path(request.artifacts_dir) / f"{self.call_name(request)}.jsonl"
                transcript = private_file(transcript_path).open("w", encoding="utf-8")
            stderr: deque[str] = deque(maxlen=_STDERR_TAIL)
            secrets = ctx.secrets
            stop: list[Failure] = []
            runner: asyncio.Future[ProcessResult] | None = None

            def stop_on_fatal() -> None:
                fatal = parser.fatal
                if fatal is not None and not stop and runner is not None:
                    stop.append(fatal)
                    runner.cancel()

            async def on_stdout(line: str) -> None:
                clean = redact(line, secrets) if secrets else line
                if transcript is not None:
                    transcript.write(clean + "\n")
                    transcript.flush()
                seen = len(parser.streamed), parser.streamed_usage()
                for event in parser.feed(clean):
                    await on_event(event)
                if (len(parser.streamed), parser.streamed_usage()) != seen:
                    usage = parser.streamed_usage()
                    await on_event(AgentEvent("usage", "", {
                        "usage": usage.as_dict(), "cost_usd": self._cost(parser, usage)}))
                stop_on_fatal()

            async def on_stderr(line: str) -> None:
                clean = redact(line, secrets) if secrets else line
                stderr.append(clean)
                if clean.strip():
                    await on_event(AgentEvent(kind="stderr", text=clean))
                for event in parser.feed_stderr(clean):
                    await on_event(event)
                stop_on_fatal()

            async def spawn() -> ProcessResult:
                if self.agent.isolation is Isolation.DOCKER:
                    return await run_in_container(
                        argv,
                        agent=self.agent,
                        request=request,
                        env=ctx.env,
                        timeout=request.timeout_seconds,
                        on_stdout=on_stdout,
                        on_stderr=on_stderr,
                        extra_mounts=[p for p in (ctx.home, ctx.call_dir) if p is not None],
                    )
                return await run_process(
                    argv,
                    cwd=workspace,
                    env=ctx.env,
                    timeout=request.timeout_seconds,
                    on_stdout=on_stdout,
                    on_stderr=on_stderr,
                    stdin_text=ctx.stdin,
                )

            runner = asyncio.ensure_future(spawn())
            try:
                proc = await runner
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if stop and (task is None or not task.cancelling()):
                    # the CLI was stopped (its process group killed) on a failure it kept retrying
                    raise self._billed(parser, self._error(stop[0], None, secrets)) from None
                raise
            except FileNotFoundError:
                raise AgentUnavailable(
                    f"agent {self.agent.id!r}: cannot start {argv[0]}; install it with: "
                    f"npm install -g {self.npm_package}",
                    agent_id=self.agent.id,
                ) from None
            except PermissionError:
                raise AgentUnavailable(
                    f"agent {self.agent.id!r}: {argv[0]} is not executable", agent_id=self.agent.id
                ) from None
            finally:
                if transcript is not None:
                    transcript.close()
            if proc.oom_killed:
                raise AgentFailed(
                    f"agent {self.agent.id!r} ({self.cli_name}) was killed for running out of memory: "
                    f"it went over its container limit config.memory = {self.config.get('memory')}; "
                    f"raise agents.{self.agent.id}.config.memory",
                    retryable=False,
                    exit_code=proc.exit_code,
                    agent_id=self.agent.id,
                )
            if proc.timed_out:
                raise self._billed(parser, self._timeout(request, parser))
            self.collect(ctx, proc, parser)
            failure = self.failure_of(proc, parser, list(stderr))
            if failure is not None:
                raise self._billed(parser, self._error(failure, proc.exit_code, secrets))
            files = await snapshot.changed_since(workspace, before, exclude=own)
        return self._result(request, proc, parser, files, transcript_path, started)

    def endpoint(self) -> str:
        """Where the CLI's model requests go, as named in error messages."""
        return f"{self.agent.provider} at {self.base_url}" if self.base_url else self.agent.provider

    def _error(self, failure: Failure, exit_code: int | None, secrets: list[str]) -> AgentError:
        return to_error(
            failure,
            agent_id=self.agent.id,
            cli=self.cli_name,
            credential_hint=self.credential_hint(),
            secrets=secrets,
            exit_code=exit_code,
            endpoint=self.endpoint(),
        )

    def _timeout(self, request: AgentRequest, parser: StreamParser) -> AgentTimeout:
        """The timeout error; when the CLI was retrying failed requests, it says after what."""
        ran_out = f"did not finish within {request.timeout_seconds:g}s; its process group was killed"
        where = f"agent {self.agent.id!r} ({self.cli_name})"
        if not parser.retries:
            return AgentTimeout(f"{where} {ran_out}", agent_id=self.agent.id)
        last = parser.retries[-1]
        tries = len(parser.retries)
        return AgentTimeout(
            f"{where}: {describe(last, self.endpoint())}: {self.cli_name} was still retrying "
            f"({tries} retr{'y' if tries == 1 else 'ies'} reported) and {ran_out}",
            agent_id=self.agent.id,
        )

    def _cost(self, parser: StreamParser, usage: Usage) -> float | None:
        return price(parser.model or self.agent.model, usage, self.config.get("prices"))

    def _billed(self, parser: StreamParser, exc: AgentError) -> AgentError:
        """``exc`` with what the failed call cost (the CLI's report, else priced usage)."""
        usage = parser.billed_usage()
        cost = parser.cost_usd if parser.completed and parser.cost_usd is not None else None
        if cost is None and usage.total_tokens:
            cost = self._cost(parser, usage)
        return exc.billed(usage, cost)

    def _result(
        self,
        request: AgentRequest,
        proc: ProcessResult,
        parser: StreamParser,
        files: list[str],
        transcript: Path | None,
        started: float,
    ) -> AgentResult:
        model = parser.model or self.agent.model
        cost = parser.cost_usd
        if cost is None:
            cost = price(model, parser.usage, self.config.get("prices"))
        answer: Any = None
        if request.output_schema is not None:
            if parser.has_structured:
                answer = parser.structured
            else:
                ok, answer = extract_json(parser.text)
                if not ok:
                    snippet = " ".join(parser.text.split())[:200]
                    raise self._billed(parser, InvalidOutput(
                        f"agent {self.agent.id!r} ({self.cli_name}) was asked for JSON matching "
                        f"the step's output_schema but answered: {snippet!r}",
                        agent_id=self.agent.id,
                    ))
        return AgentResult(
            text=parser.text,
            json=answer,
            usage=parser.usage,
            cost_usd=cost,
            session_id=parser.session_id,
            exit_code=proc.exit_code,
            files_changed=files,
            duration_seconds=time.monotonic() - started,
            transcript_path=str(transcript) if transcript else None,
            model=model,
            metadata=dict(parser.metadata),
        )

    async def check(self, live: bool = False) -> HealthReport:
        """Binary present and ``--version`` parsed; credentials for a base_url; optional call."""
        try:
            program = self.program()
        except AgentUnavailable as exc:
            return HealthReport(ok=False, detail=str(exc))
        try:
            proc = await run_process(
                [*program, "--version"], cwd=tempfile.gettempdir(), env=self.build_env(None), timeout=60
            )
        except OSError as exc:
            return HealthReport(ok=False, detail=f"{program[0]} cannot be started: {exc}")
        match = _VERSION.search(proc.stdout + proc.stderr)
        version = match.group(1) if match else None
        if proc.exit_code != 0 or version is None:
            return HealthReport(
                ok=False,
                detail=f"`{self.cli_name} --version` failed (exit code {proc.exit_code})",
                version=version,
            )
        if self.base_url and not self.api_key:
            return HealthReport(
                ok=False,
                version=version,
                detail=(f"base_url is set but no api_key: set {self.credential_hint()}"),
            )
        where = f"{self.cli_name} {version} at {program[0]}"
        if self.base_url:
            login = f"endpoint {self.base_url}, key not verified (use --live)"
        elif self.agent.isolation is Isolation.DOCKER:
            login = "login not verified (use --live)"
        else:
            ok, login = await self.login_state(program)
            if not ok:
                return HealthReport(ok=False, version=version, detail=f"{where}: {login}")
        if not live:
            return HealthReport(ok=True, detail=f"{where}; {login}", version=version)
        with tempfile.TemporaryDirectory(prefix="baton-check-") as tmp:
            request = AgentRequest(
                prompt=LIVE_CHECK_PROMPT, workspace_dir=Path(tmp), timeout_seconds=120, step_id="health-check"
            )
            try:
                result = await self.run(request, _ignore)
            except AgentError as exc:
                return HealthReport(ok=False, detail=str(exc), version=version)
        return HealthReport(
            ok=True,
            version=version,
            detail=(f"{self.cli_name} {version} answered a live call in {result.duration_seconds:.1f}s"),
        )


async def _ignore(_event: AgentEvent) -> None:
    return None


def json_dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
