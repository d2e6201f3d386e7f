"""Mapping what a CLI said about a failure onto the agent error tree."""

from __future__ import annotations

import pytest

from baton.agents.base import AgentFailed, RateLimited
from baton.agents.failures import Failure, from_message, retry_after_in, status_in, to_error
from baton.agents.structured import extract_json

KEY = "sk-live-abcdef123456"


def err(failure: Failure, exit_code: int | None = 1) -> Exception:
    return to_error(
        failure,
        agent_id="a",
        cli="x",
        credential_hint="agents.a.config.api_key",
        secrets=[KEY],
        exit_code=exit_code,
    )


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("unexpected status 401 Unauthorized: bad key", 401),
        ("exceeded retry limit, last status: 429 Too Many Requests", 429),
        ("API Error: Request rejected (429) · slow down", 429),
        ("Authentication failed with provider (HTTP 401).", 401),
        ('[API Error: {"error":{"code":500}}]', 500),
        ("We're currently experiencing high demand", None),
        ("wrote 401 lines to main.py", None),
    ],
)
def test_status_in_messages(message: str, status: int | None) -> None:
    assert status_in(message) == status


def test_retry_after_in_messages() -> None:
    assert retry_after_in("Retry-After: 7") == 7
    assert retry_after_in("retryDelayMs: 1500") == 1.5
    assert retry_after_in("please try again in 20s") == 20
    assert retry_after_in("slow down") is None


def test_429_is_rate_limited_with_retry_after() -> None:
    exc = err(from_message("status 429: slow down, retry after 3 seconds"))
    assert isinstance(exc, RateLimited) and exc.retry_after == 3


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_are_not_retried_and_name_the_fix(status: int) -> None:
    exc = err(Failure(message=f"Incorrect API key provided: {KEY}", status=status))
    assert type(exc) is AgentFailed and exc.retryable is False
    assert "agents.a.config.api_key" in str(exc)
    assert KEY not in str(exc) and "***" in str(exc)


def test_auth_words_without_status_are_credential_errors() -> None:
    exc = err(from_message("Invalid API key · Please run /login"))
    assert type(exc) is AgentFailed and not exc.retryable


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (400, False), (404, False), (408, True), (None, True)]
)
def test_other_failures(status: int | None, retryable: bool) -> None:
    exc = err(Failure(message="line one\nline two", status=status), exit_code=7)
    assert type(exc) is AgentFailed and exc.retryable is retryable
    assert exc.exit_code == 7 and "\n" not in str(exc)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ("  [1, 2]\n", [1, 2]),
        ('Sure:\n```json\n{"a": 1}\n```\nDone.', {"a": 1}),
        ('```\n{"a": 2}\n```', {"a": 2}),
    ],
)
def test_json_answers(text: str, value: object) -> None:
    assert extract_json(text) == (True, value)


@pytest.mark.parametrize("text", ["", "the answer is 42?", "```json\n{broken\n```"])
def test_not_json_answers(text: str) -> None:
    assert extract_json(text) == (False, None)
