"""Mapping what a CLI said about a failure onto the agent error tree."""

from __future__ import annotations

import pytest

from baton.agents.base import AgentFailed, RateLimited
from baton.agents.failures import Failure, describe, from_message, retry_after_in, status_in, to_error
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


# What each CLI printed while retrying, as recorded against the fake model server.
RETRY_LINES = {
    "claude": ('{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,'
               '"retry_delay_ms":561,"error_status":401,"error":"authentication_failed"}', 401),
    "codex": ('{"type":"error","message":"Reconnecting... 1/5 (unexpected status 401 Unauthorized: '
              'bad key, url: http://127.0.0.1:1/v1/responses)"}', 401),
    "copilot": ('{"type":"model.call_failure","data":{"model":"gpt-5.4","statusCode":500,'
                '"retryAttempt":0},"ephemeral":true}', 500),
}


@pytest.mark.parametrize("cli", sorted(RETRY_LINES))
def test_retry_notices_on_stdout(cli: str) -> None:
    from baton.agents.claude import ClaudeParser
    from baton.agents.codex import CodexParser
    from baton.agents.copilot import CopilotParser

    parser = {"claude": ClaudeParser, "codex": CodexParser, "copilot": CopilotParser}[cli]()
    line, status = RETRY_LINES[cli]
    events = parser.feed(line)
    assert [f.status for f in parser.retries] == [status]
    assert any(e.data.get("retry") for e in events)
    assert (parser.fatal is not None) is (status == 401)


@pytest.mark.parametrize(
    ("line", "status", "kind"),
    [
        ("Attempt 1 failed with status 500. Retrying with backoff... _ApiError: {...}", 500, "server"),
        ("Attempt 2 failed with 429 error (no Retry-After header). Retrying with backoff...", 429, "rate"),
        ("Attempt 1 failed with 5xx error. Retrying with backoff...", None, "server"),
        ("Attempt 3 failed: Quota exceeded for requests. Retrying after 1200ms...", None, "rate"),
    ],
)
def test_gemini_retry_notices_on_stderr(line: str, status: int | None, kind: str) -> None:
    from baton.agents.gemini import GeminiParser

    parser = GeminiParser()
    parser.feed_stderr(line)
    (failure,) = parser.retries
    assert failure.status == status
    assert failure.is_rate_limited is (kind == "rate")
    assert describe(failure, "x").startswith("server error" if kind == "server" else "rate limited")
    assert parser.feed_stderr("    at throwErrorIfNotOK (file:///bundle.js:1:2)") == []


def test_codex_names_no_status_for_a_5xx() -> None:
    from baton.agents.codex import CodexParser

    parser = CodexParser()
    parser.feed('{"type":"turn.failed","error":{"message":"We\u2019re currently experiencing high demand, '
                'which may cause temporary errors."}}')
    assert parser.failure is not None and parser.failure.server_error
    assert describe(parser.failure, "openai at http://h") == "server error from openai at http://h"
