"""Agent errors do not hide behind the timeout: the four real CLIs against a failing fake server.

One parametrized module for what every coding CLI must do when the model server refuses it
(issue 12, item 12). The agents run with Baton's defaults (no fast-fail settings of the
tests' own): Baton reads each CLI's retry notices (claude's ``api_retry`` events, codex's
"Reconnecting... n/5 (...)", gemini's "Attempt n failed with status ..." on stderr,
copilot's ``model.call_failure``), stops the CLI at the first rejected credential, and keeps
the CLI's own retry budget small (``config.cli_retries``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from baton.agents.base import AgentError, AgentFailed, AgentTimeout, RateLimited
from baton.agents.factory import create_adapter
from tests.agents.support import API_KEY, MODELS, Events, make_agent, make_request, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, HttpError
from tests.integration.userpath import Project

pytestmark = pytest.mark.cli_agents

CLIS = ["claude", "codex", "copilot", "gemini"]
API = {"claude": "anthropic", "codex": "responses", "copilot": "chat", "gemini": "gemini"}
# What one 500 may cost with Baton's default budget (cli_retries: 1): copilot has no setting
# for it (5 retries of its own); codex retries the request and the stream (2 x 2).
MAX_REQUESTS_ON_500 = {"claude": 2, "codex": 4, "copilot": 6, "gemini": 2}
TIMEOUT = 60
# A budget that keeps each CLI retrying past a 10 s timeout; codex's request retries are silent
# (only its stream retries print "Reconnecting..."), and 4 of them take ~3 s before the first.
LONG_BUDGET = {"claude": 9, "codex": 4, "copilot": 9, "gemini": 9}
AGENT_ID = "reviewer"  # the agent's name in the config, as the message must spell it


@pytest.fixture(params=CLIS)
def cli(request: pytest.FixtureRequest) -> str:
    require_cli(request.param)
    return str(request.param)


async def _fail(cli: str, server: FakeModelServer, ws: Path, error: HttpError, timeout: float = TIMEOUT,
                **config: object) -> tuple[AgentError, float]:
    server.default(API[cli], error)
    adapter = create_adapter(make_agent(cli, server, fast_fail=False, agent_id=AGENT_ID, **config))
    started = time.monotonic()
    with pytest.raises(AgentError) as info:
        await adapter.run(make_request(ws, timeout=timeout), Events())
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert API_KEY not in message
    assert "\n" not in message
    assert server.requests_for(API[cli]), "the CLI never reached the fake server"
    return info.value, elapsed


async def test_a_bad_key_fails_in_seconds_with_the_credentials_message(
    cli: str, fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    # Some gateways echo the rejected key; it must not reach Baton's message.
    error = HttpError(401, f"Incorrect API key provided: {API_KEY}")
    exc, elapsed = await _fail(cli, fake_model_server, git_workspace, error)
    assert type(exc) is AgentFailed
    assert exc.retryable is False  # no retry policy repeats it, retry_on or not
    provider = MODELS[cli][0]
    assert f"credentials rejected by {provider} at {fake_model_server.url} (HTTP 401)" in str(exc)
    assert f"check agents.{AGENT_ID}.config.api_key" in str(exc)
    assert elapsed < 20, f"{cli} took {elapsed:.1f}s to give up on a 401 (timeout {TIMEOUT}s)"
    # stopped at the first rejected request, however often the CLI would have retried it
    assert len(fake_model_server.requests_for(API[cli])) == 1


async def test_a_server_error_says_so_after_a_small_retry_budget(
    cli: str, fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    exc, elapsed = await _fail(cli, fake_model_server, git_workspace, HttpError(500, "upstream exploded"))
    assert type(exc) is AgentFailed and exc.retryable is True
    assert f"server error{' (HTTP 500)' if cli != 'codex' else ''} from " in str(exc)
    assert fake_model_server.url in str(exc)
    assert len(fake_model_server.requests_for(API[cli])) <= MAX_REQUESTS_ON_500[cli]
    assert elapsed < 40


async def test_rate_limited_is_rate_limited(
    cli: str, fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    error = HttpError(429, "slow down", headers={"Retry-After": "1"})
    exc, _ = await _fail(cli, fake_model_server, git_workspace, error)
    assert isinstance(exc, RateLimited)
    assert exc.retry_class == "rate_limited"
    assert "rate limited by" in str(exc)


async def test_a_timeout_while_the_cli_retries_names_the_last_status(
    cli: str, fake_model_server: FakeModelServer, git_workspace: Path
) -> None:
    """With a large budget of its own the CLI is still retrying when the step's time is up."""
    exc, _ = await _fail(cli, fake_model_server, git_workspace, HttpError(500, "boom"), timeout=10,
                         cli_retries=LONG_BUDGET[cli])
    assert type(exc) is AgentTimeout
    assert "did not finish within 10s" in str(exc)
    status = "server error" if cli == "codex" else "server error (HTTP 500)"
    assert f"{status} from {MODELS[cli][0]} at {fake_model_server.url}" in str(exc)
    assert "was still retrying (" in str(exc) and "reported)" in str(exc)


def test_retry_on_timeout_does_not_repeat_a_401(fake_model_server: FakeModelServer, tmp_path: Path) -> None:
    """The user's path: `baton init`, a claude agent with a bad key, steps retried on timeout
    and by the default policy; each asks the server once and fails with the credentials message."""
    require_cli("claude")
    project = Project.init(tmp_path / "repo")
    project.configure(
        agents={AGENT_ID: {"provider": "anthropic", "model": MODELS["claude"][1], "capabilities": ["chat"],
                           "config": {"base_url": fake_model_server.url, "api_key": "${BAD_KEY}"}}},
        workflows={
            "on-timeout": {"steps": [{"id": "ask", "agent_id": AGENT_ID, "prompt_template": "hi",
                                      "timeout_seconds": 60,
                                      "retry_policy": {"max_attempts": 3, "retry_on": ["timeout"],
                                                       "backoff_seconds": 0}}]},
            "default-policy": {"steps": [{"id": "ask", "agent_id": AGENT_ID, "prompt_template": "hi",
                                          "timeout_seconds": 60,
                                          "retry_policy": {"max_attempts": 3, "backoff_seconds": 0}}]},
        },
    )
    fake_model_server.default("anthropic", HttpError(401, "invalid x-api-key"))
    env = {"BAD_KEY": "sk-wrong-0123456789"}
    env_all = {k: v for k, v in os.environ.items() if k != "CI"}
    for workflow in ("on-timeout", "default-policy"):
        before = len(fake_model_server.requests_for("anthropic"))
        started = time.monotonic()
        run = project.baton("run", workflow, "--json", env={**env_all, **env})
        elapsed = time.monotonic() - started
        assert run.returncode == 1, run.stdout + run.stderr
        result = json.loads(run.stdout)
        assert result["status"] == "failed"
        error = json.dumps(result)
        assert "credentials rejected by anthropic" in error and "(HTTP 401)" in error
        assert f"agents.{AGENT_ID}.config.api_key" in error
        assert "sk-wrong-0123456789" not in run.stdout + run.stderr
        assert len(fake_model_server.requests_for("anthropic")) - before == 1, workflow
        assert elapsed < 30
