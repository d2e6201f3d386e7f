"""What the model-API adapters (Anthropic, OpenAI-style) have in common.

One call is: import the vendor SDK (an :class:`AgentUnavailable` with the install hint
when it is missing), build a client with the SDK's own retries off (Baton's RetryPolicy
owns retries) and the step's timeout, stream the answer while merging small text deltas
into ``text`` events, save the stream as a transcript, then price the usage and read the
structured answer. The whole call runs under Baton's wall-clock deadline; vendor errors
are mapped onto the agent error tree by :meth:`ApiAgent.error_from`.

Config keys honoured by every API adapter (``agents.<id>.config``): ``base_url``,
``api_key``, ``max_tokens``, ``temperature``, ``system``, ``headers`` (extra HTTP
headers), ``prices`` (price-table overrides). API agents never touch the workspace.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import importlib.util
import json
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import IO, Any, ClassVar

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
    discard_events,
)
from baton.agents.failures import Failure, to_error
from baton.agents.pricing import price
from baton.agents.structured import extract_json
from baton.models import Agent
from baton.observability.redact import protect_agents, redactor

INSTALL_HINT = "pip install 'baton[api]'"
LIVE_CHECK_PROMPT = "Reply with the single word: ok"
LIVE_CHECK_MAX_TOKENS = 16
# A text event is emitted once this many characters are buffered or this long has passed.
MERGE_CHARS = 256
MERGE_SECONDS = 0.1


class DeltaBuffer:
    """Merges a stream's small text deltas into fewer ``text`` events."""

    def __init__(
        self, on_event: EventCallback, *, min_chars: int = MERGE_CHARS, max_wait: float = MERGE_SECONDS
    ) -> None:
        self._on_event = on_event
        self._min_chars = min_chars
        self._max_wait = max_wait
        self._parts: list[str] = []
        self._size = 0
        self._last = time.monotonic()

    async def add(self, delta: str) -> None:
        if not delta:
            return
        self._parts.append(delta)
        self._size += len(delta)
        if self._size >= self._min_chars or time.monotonic() - self._last >= self._max_wait:
            await self.flush()

    async def add_event(self, event: AgentEvent) -> None:
        """Forward a non-text event, after the text buffered before it."""
        await self.flush()
        await self._on_event(event)

    async def flush(self) -> None:
        self._last = time.monotonic()
        if not self._parts:
            return
        text = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        await self._on_event(AgentEvent("text", text))


class Transcript:
    """One call's request summary and stream events as JSON lines, secrets masked."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fh: IO[str] | None = path.open("w", encoding="utf-8") if path is not None else None

    def write(self, record: Any) -> None:
        if self._fh is None:
            return
        line = json.dumps(record, default=str, ensure_ascii=False)
        self._fh.write(redactor().redact_text(line) + "\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass
class CallOutcome:
    """What one streamed API call produced."""

    text_parts: list[str] = field(default_factory=list)
    json: Any = None
    has_json: bool = False
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    response_id: str | None = None
    stop_reason: str | None = None
    refusal: str = ""

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def error_message(exc: Any) -> str:
    """The human part of an SDK status error: the body's ``error.message`` when there is one."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(exc, "message", None) or exc)


class ApiAgent(AgentBase, ABC):
    """Base class of the model-API adapters; subclasses implement :meth:`call`."""

    sdk_name: ClassVar[str]
    # The SDK's root exception class, by attribute name.
    sdk_base_error: ClassVar[str]

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        protect_agents([agent.config])

    # -- protocol -----------------------------------------------------------------------------
    @property
    def acts_on_workspace(self) -> bool:
        return False

    # -- hooks ----------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """How the endpoint is named in messages, e.g. ``anthropic API``."""
        return f"{self.agent.provider} API"

    @property
    def key_env(self) -> str:
        return ""

    @abstractmethod
    async def call(
        self,
        sdk: ModuleType,
        request: AgentRequest,
        buffer: DeltaBuffer,
        transcript: Transcript,
        outcome: CallOutcome,
        max_tokens: int | None,
    ) -> None:
        """Make the request and fill ``outcome`` from the stream."""
        ...

    # -- shared ---------------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.config.get("headers") or {}).items()}

    def client_options(self, request: AgentRequest) -> dict[str, Any]:
        """The SDK client's arguments: endpoint, key, headers, the step's timeout, no SDK retries."""
        return {"api_key": self.api_key, "base_url": self.base_url, "max_retries": 0,
                "timeout": request.timeout_seconds, "default_headers": self.headers() or None}

    def credential_hint(self) -> str:
        example = f"${{{self.key_env}}}" if self.key_env else "${ENV_VAR}"
        return (
            f'agents.{self.agent.id}.config.api_key (e.g. "{example}" or '
            '"${secret:NAME}" after `baton secrets set NAME`)'
        )

    def unavailable_reason(self) -> str | None:
        """Why this agent cannot be called at all (no SDK, no endpoint), or None. No I/O."""
        if importlib.util.find_spec(self.sdk_name) is None:
            return (
                f"agent {self.agent.id!r}: the {self.sdk_name} SDK is not installed; "
                f"install it with: {INSTALL_HINT}"
            )
        if not self.base_url:
            return (
                f"agent {self.agent.id!r}: config.base_url is required for provider {self.agent.provider!r}"
            )
        return None

    def sdk(self) -> ModuleType:
        reason = self.unavailable_reason()
        if reason is not None:
            raise AgentUnavailable(reason, agent_id=self.agent.id)
        try:
            return importlib.import_module(self.sdk_name)
        except ImportError as exc:
            raise AgentUnavailable(
                f"agent {self.agent.id!r}: the {self.sdk_name} SDK cannot be imported ({exc}); "
                f"reinstall it with: {INSTALL_HINT}",
                agent_id=self.agent.id,
            ) from None

    def max_tokens(self) -> int | None:
        value = self.config.get("max_tokens")
        return int(value) if value else None

    def transcript_path(self, request: AgentRequest) -> Path | None:
        if request.artifacts_dir is None:
            return None
        folder = Path(request.artifacts_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{self.call_name(request)}.jsonl"

    def error_from(self, sdk: ModuleType, exc: BaseException) -> AgentError:
        """The agent error for an exception the SDK raised (messages redacted, one line)."""
        where = f"agent {self.agent.id!r} ({self.label})"
        if isinstance(exc, sdk.APITimeoutError):
            return AgentTimeout(f"{where}: the request to {self.base_url} timed out", agent_id=self.agent.id)
        if isinstance(exc, sdk.APIStatusError):
            response = getattr(exc, "response", None)
            failure = Failure(
                message=error_message(exc),
                status=exc.status_code,
                retry_after=retry_after_seconds(getattr(response, "headers", None)),
            )
            return to_error(
                failure,
                agent_id=self.agent.id,
                cli=self.label,
                credential_hint=self.credential_hint(),
                secrets=redactor().values(),
            )
        if isinstance(exc, sdk.APIConnectionError):
            cause = exc.__cause__ or exc
            detail = redactor().redact_text(" ".join(str(cause).split())) or type(cause).__name__
            return AgentFailed(
                f"{where}: cannot reach {self.base_url}: {detail}", retryable=True, agent_id=self.agent.id
            )
        detail = redactor().redact_text(" ".join(str(exc).split())) or type(exc).__name__
        return AgentFailed(f"{where}: {detail}", retryable=True, agent_id=self.agent.id)

    async def run(self, request: AgentRequest, on_event: EventCallback) -> AgentResult:
        """Call the model once for ``request``; raise an AgentError on failure."""
        return await self._run(request, on_event, self.max_tokens())

    async def _run(
        self, request: AgentRequest, on_event: EventCallback, max_tokens: int | None
    ) -> AgentResult:
        sdk = self.sdk()
        started = time.monotonic()
        buffer = DeltaBuffer(on_event)
        transcript = Transcript(self.transcript_path(request))
        transcript.write(
            {
                "type": "baton.request",
                "agent": self.agent.id,
                "provider": self.agent.provider,
                "model": self.agent.model,
                "base_url": self.base_url,
                "prompt": request.prompt,
                "output_schema": request.output_schema,
            }
        )
        outcome = CallOutcome()
        base_error = getattr(sdk, self.sdk_base_error)
        try:
            try:
                async with asyncio.timeout(request.timeout_seconds):
                    await self.call(sdk, request, buffer, transcript, outcome, max_tokens)
            except TimeoutError:
                raise AgentTimeout(
                    f"agent {self.agent.id!r} ({self.label}) gave no complete answer within "
                    f"{request.timeout_seconds:g}s; the request was abandoned",
                    agent_id=self.agent.id,
                ) from None
            except base_error as exc:
                raise self.error_from(sdk, exc) from None
            finally:
                await buffer.flush()
                transcript.close()
            if outcome.refusal and not outcome.text:
                raise AgentFailed(
                    f"agent {self.agent.id!r} ({self.label}): the model refused: "
                    f"{redactor().redact_text(outcome.refusal)[:400]}",
                    retryable=False,
                    agent_id=self.agent.id,
                )
            model = outcome.model or self.agent.model
            answer = self._structured(request, outcome)
            text = outcome.text if outcome.text or not outcome.has_json else json.dumps(outcome.json)
            metadata: dict[str, Any] = {
                "response_id": outcome.response_id,
                "stop_reason": outcome.stop_reason,
                "base_url": self.base_url,
            }
            return AgentResult(
                text=text,
                json=answer,
                usage=outcome.usage,
                cost_usd=price(model, outcome.usage, self.config.get("prices")),
                session_id=None,
                exit_code=None,
                files_changed=[],
                duration_seconds=time.monotonic() - started,
                transcript_path=str(transcript.path) if transcript.path else None,
                model=model,
                metadata={k: v for k, v in metadata.items() if v is not None},
            )
        except AgentError as exc:
            self._bill(outcome, exc)
            raise

    def _bill(self, outcome: CallOutcome, exc: AgentError) -> None:
        """Attach what the failed call cost when the model had already billed tokens for it
        (an invalid or refused answer, a timeout or error after usage was streamed)."""
        usage = outcome.usage
        billed = usage.total_tokens or usage.cache_read_tokens or usage.cache_write_tokens
        if billed and not exc.usage.total_tokens and exc.cost_usd is None:
            exc.billed(usage, price(outcome.model or self.agent.model, usage, self.config.get("prices")))

    def _structured(self, request: AgentRequest, outcome: CallOutcome) -> Any:
        if request.output_schema is None:
            return None
        if outcome.has_json:
            return outcome.json
        ok, value = extract_json(outcome.text)
        if not ok:
            snippet = " ".join(outcome.text.split())[:200]
            raise InvalidOutput(
                f"agent {self.agent.id!r} ({self.label}) was asked for JSON matching the step's "
                f"output_schema but answered: {redactor().redact_text(snippet)!r}",
                agent_id=self.agent.id,
            )
        return value

    async def check(self, live: bool = False) -> HealthReport:
        """SDK importable and credentials present; with ``live``, one tiny real call."""
        reason = self.unavailable_reason()
        if reason is not None:
            return HealthReport(ok=False, detail=reason)
        sdk = self.sdk()
        version = getattr(sdk, "__version__", None)
        missing = self.agent.missing_credentials()
        if missing:
            return HealthReport(ok=False, detail=f"agent {self.agent.id!r}: {missing}", version=version)
        where = f"{self.sdk_name} SDK {version}, endpoint {self.base_url}"
        if not live:
            return HealthReport(ok=True, detail=where, version=version)
        with tempfile.TemporaryDirectory(prefix="baton-check-") as tmp:
            request = AgentRequest(
                prompt=LIVE_CHECK_PROMPT, workspace_dir=Path(tmp), timeout_seconds=60, step_id="health-check"
            )
            try:
                result = await self._run(request, discard_events, LIVE_CHECK_MAX_TOKENS)
            except AgentError as exc:
                return HealthReport(ok=False, detail=str(exc), version=version)
        return HealthReport(
            ok=True,
            version=version,
            detail=(f"{where}: {result.model} answered a live call in {result.duration_seconds:.1f}s"),
        )
