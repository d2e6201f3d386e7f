"""Map what a CLI reported about a failed call onto Baton's agent error tree.

Each CLI parser fills a :class:`Failure` (HTTP status when known, the CLI's message, a
Retry-After when known); :func:`to_error` turns it into ``RateLimited`` (429),
``AgentFailed(retryable=False)`` naming the credential to fix (401/403, bad key),
``AgentFailed(retryable=False)`` for other client errors and ``AgentFailed(retryable=True)``
for 5xx, crashes and anything unknown. :func:`describe` says the same in a few words
("credentials rejected by URL (HTTP 401)", "server error (HTTP 500) from URL"), for the
messages of calls that ended while the CLI was still retrying. Secrets are redacted from
every message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from baton.agents.base import AgentError, AgentFailed, RateLimited
from baton.config.masking import MASK

_STATUS_PATTERNS = (
    re.compile(r"\b(?:status|HTTP|code)\b[\s:=\"']{0,3}([1-5]\d\d)\b", re.IGNORECASE),
    re.compile(
        r"\b([45]\d\d)\s+(?:Unauthorized|Forbidden|Too Many Requests|Internal Server"
        r"|Bad Gateway|Service Unavailable|Gateway Timeout|Not Found|Bad Request)"
    ),
    re.compile(r"API Error:\s*(?:Request rejected\s*\()?([45]\d\d)\b"),
    re.compile(r"Last error:\s*([45]\d\d)\b"),
)
_AUTH_WORDS = re.compile(
    r"unauthori[sz]ed|invalid api key|authentication|forbidden|"
    r"permission denied.*api|invalid x-api-key|/login",
    re.IGNORECASE,
)
_RATE_WORDS = re.compile(r"rate.?limit|too many requests|quota|resource.?exhausted", re.IGNORECASE)
_RETRY_AFTER = re.compile(
    r"(retry[- ]after|retryDelayMs|retry in|try again in)[\"':= ]{0,3}(\d+(?:\.\d+)?)\s*"
    r"(ms|milliseconds?|s|sec|seconds?)?",
    re.IGNORECASE,
)
_MIN_SECRET = 4


@dataclass(slots=True)
class Failure:
    """A failed call as one CLI described it."""

    message: str
    status: int | None = None
    retry_after: float | None = None
    auth: bool = False
    rate_limited: bool = False
    server_error: bool = False  # a 5xx the CLI reported without naming its status

    @property
    def is_auth(self) -> bool:
        """The credentials were rejected: trying again cannot help."""
        return self.status in (401, 403) or (self.status is None and self.auth)

    @property
    def is_rate_limited(self) -> bool:
        return self.status == 429 or (self.status is None and self.rate_limited)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, MASK)
    return text


def status_in(text: str) -> int | None:
    """An HTTP status mentioned in an error message, or None."""
    for pattern in _STATUS_PATTERNS:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def retry_after_in(text: str) -> float | None:
    """Seconds to wait, when an error message says so."""
    match = _RETRY_AFTER.search(text)
    if not match:
        return None
    value = float(match.group(2))
    unit = (match.group(3) or "").lower()
    if unit.startswith("m") or (not unit and match.group(1).lower().endswith("ms")):
        value /= 1000.0
    return value


def from_message(message: str, status: int | None = None) -> Failure:
    """A :class:`Failure` guessed from free text (status, auth and rate-limit words)."""
    found = status if status is not None else status_in(message)
    return Failure(
        message=message,
        status=found,
        retry_after=retry_after_in(message),
        auth=found in (401, 403) or (found is None and bool(_AUTH_WORDS.search(message))),
        rate_limited=found == 429 or (found is None and bool(_RATE_WORDS.search(message))),
    )


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(failure: Failure, endpoint: str) -> str:
    """What went wrong, in a few words naming the status and the endpoint."""
    status = failure.status
    code = f" (HTTP {status})" if status else ""
    if failure.is_rate_limited:
        return f"rate limited by {endpoint}{code or ' (HTTP 429)'}"
    if failure.is_auth:
        return f"credentials rejected by {endpoint}{code}"
    if (status is not None and status >= 500) or (status is None and failure.server_error):
        return f"server error{code} from {endpoint}"
    if status is not None and 400 <= status < 500:
        return f"request refused by {endpoint}{code}"
    return f"HTTP {status} from {endpoint}" if status else "failed"


def to_error(
    failure: Failure,
    *,
    agent_id: str,
    cli: str,
    credential_hint: str,
    secrets: Iterable[str] = (),
    exit_code: int | None = None,
    endpoint: str | None = None,
) -> AgentError:
    """The :class:`AgentError` for ``failure`` (message redacted, one line).

    ``endpoint`` (the base URL or provider the call went to) is named in the message.
    """
    secrets = list(secrets)
    detail = _one_line(redact(failure.message, secrets)) or "no error message"
    where = f"agent {agent_id!r} ({cli})"
    what = describe(failure, endpoint or cli)
    status = failure.status
    if failure.is_rate_limited:
        wait = f"; retry after {failure.retry_after:g}s" if failure.retry_after else ""
        return RateLimited(
            f"{where}: {what}: {detail}{wait}",
            retry_after=failure.retry_after,
            agent_id=agent_id,
        )
    if failure.is_auth:
        return AgentFailed(
            f"{where}: {what}: {detail}; check {credential_hint}",
            retryable=False,
            exit_code=exit_code,
            agent_id=agent_id,
        )
    if status is not None and 400 <= status < 500 and status not in (408, 409):
        return AgentFailed(f"{where}: {what}: {detail}", retryable=False, exit_code=exit_code,
                           agent_id=agent_id)
    if what == "failed":
        what = f"exit code {exit_code}" if exit_code is not None else "failed"
    return AgentFailed(f"{where}: {what}: {detail}", retryable=True, exit_code=exit_code, agent_id=agent_id)
