"""API agents in a workflow run by the real ``baton`` command, keys read from the secrets store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from baton.agents.base import Usage
from baton.agents.pricing import price
from baton.secrets import open_secret_store
from tests.fixtures.fake_model_server import FakeModelServer, HttpError, Text

pytestmark = pytest.mark.api_agents

ANTHROPIC_KEY = "sk-ant-run-test-81c2f0a9d3"
OPENAI_KEY = "sk-oai-run-test-7e64b2c1f5"
SCHEMA = {"type": "object", "properties": {"verdict": {"type": "string"}}, "required": ["verdict"]}


def _baton(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def project(tmp_path: Path, fake_model_server: FakeModelServer) -> tuple[Path, dict[str, str]]:
    """A project with two API agents whose keys are ``${secret:...}`` references."""
    secrets_dir = tmp_path / "secrets"
    env = {**os.environ, "BATON_SECRETS_DIR": str(secrets_dir)}
    env.pop("CI", None)
    store = open_secret_store(env)
    store.set("ANTHROPIC_KEY", ANTHROPIC_KEY)
    store.set("OPENAI_KEY", OPENAI_KEY)
    root = tmp_path / "project"
    (root / "ws").mkdir(parents=True)
    config: dict[str, Any] = {
        "version": "1.0.0",
        "global": {"workspace_dir": "ws"},
        "agents": {
            "claude-api": {
                "provider": "anthropic",
                "model": "claude-sonnet-4-6",
                "interface": "api",
                "capabilities": ["code_review"],
                "config": {"base_url": fake_model_server.url, "api_key": "${secret:ANTHROPIC_KEY}"},
            },
            "gpt-api": {
                "provider": "openai",
                "model": "gpt-4.1",
                "interface": "api",
                "capabilities": ["code_review"],
                "config": {"base_url": f"{fake_model_server.url}/v1", "api_key": "${secret:OPENAI_KEY}"},
            },
        },
        "workflows": {
            "review": {
                "steps": [
                    {
                        "id": "draft",
                        "agent_id": "claude-api",
                        "prompt_template": "Draft a review.",
                        "timeout_seconds": 30,
                    },
                    {
                        "id": "judge",
                        "agent_id": "gpt-api",
                        "output_schema": SCHEMA,
                        "timeout_seconds": 30,
                        "prompt_template": "Judge this review: {{ outputs.draft.text }}",
                    },
                ]
            },
        },
    }
    (root / "baton.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root, env


def test_two_api_agents_answer_through_baton_run(
    project: tuple[Path, dict[str, str]], fake_model_server: FakeModelServer
) -> None:
    root, env = project
    fake_model_server.script(
        "anthropic", Text("Looks good overall.", input_tokens=500, output_tokens=40, cached_tokens=100)
    )
    fake_model_server.script("chat", Text('{"verdict": "approve"}', input_tokens=300, output_tokens=8))

    run = _baton(root, "run", "review", "--json", env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["status"] == "completed"
    assert result["outputs"]["draft"]["text"] == "Looks good overall."
    assert result["outputs"]["judge"]["json"] == {"verdict": "approve"}
    # the second prompt was rendered from the first answer
    judge_request = fake_model_server.requests_for("chat")[0]
    assert judge_request.body["messages"][0]["content"] == "Judge this review: Looks good overall."
    assert judge_request.headers["authorization"] == f"Bearer {OPENAI_KEY}"

    status = _baton(root, "status", result["execution_id"], "--json", env=env)
    assert status.returncode == 0, status.stderr[-2000:]
    recorded = json.loads(status.stdout)
    expected_cost = (price("claude-sonnet-4-6", Usage(500, 40, 100)) or 0) + (
        price("gpt-4.1", Usage(300, 8)) or 0
    )
    assert recorded["cost_usd"] == pytest.approx(expected_cost, rel=1e-6)
    assert recorded["usage"]["input_tokens"] == 800
    assert recorded["usage"]["output_tokens"] == 48

    logs = _baton(root, "logs", result["execution_id"], "--json", env=env)
    assert logs.returncode == 0, logs.stderr[-2000:]
    assert "Looks good overall." in logs.stdout
    everything = run.stdout + run.stderr + status.stdout + logs.stdout
    assert ANTHROPIC_KEY not in everything and OPENAI_KEY not in everything
    artifacts = Path(result["artifacts_dir"])
    for transcript in artifacts.glob("*.jsonl"):
        text = transcript.read_text()
        assert ANTHROPIC_KEY not in text and OPENAI_KEY not in text


def test_rejected_credentials_fail_the_run_naming_the_config_key(
    project: tuple[Path, dict[str, str]], fake_model_server: FakeModelServer
) -> None:
    root, env = project
    fake_model_server.script("anthropic", HttpError(401, f"invalid x-api-key: {ANTHROPIC_KEY}"))

    run = _baton(root, "run", "review", "--json", env=env)
    assert run.returncode == 1, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["status"] == "failed"
    error = result["outputs"]["draft"]["error"]
    assert "credentials rejected by anthropic API (HTTP 401)" in error
    assert "agents.claude-api.config.api_key" in error
    assert {s["step_id"]: s["status"] for s in result["steps"]}["judge"] in ("skipped", "pending", "cancelled")
    logs = _baton(root, "logs", result["execution_id"], "--json", env=env)
    assert "HTTP 401" in logs.stdout
    assert ANTHROPIC_KEY not in run.stdout + run.stderr + logs.stdout
    assert len(fake_model_server.requests_for("anthropic")) == 1  # 401 is not retried


@pytest.mark.parametrize("api", ["anthropic", "chat"])
def test_invalid_structured_answers_are_billed(
    project: tuple[Path, dict[str, str]], fake_model_server: FakeModelServer, api: str
) -> None:
    """A model API call that answered (and was billed) but not with valid JSON counts in usage."""
    root, env = project
    config = yaml.safe_load((root / "baton.yaml").read_text())
    agent, model = ("claude-api", "claude-sonnet-4-6") if api == "anthropic" else ("gpt-api", "gpt-4.1")
    config["workflows"]["review"]["steps"] = [{
        "id": "judge", "agent_id": agent, "output_schema": SCHEMA, "timeout_seconds": 30,
        "prompt_template": "Judge the change.",
        "retry_policy": {"max_attempts": 2, "backoff_seconds": 0, "retry_on": ["invalid_output"]},
    }]
    (root / "baton.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    fake_model_server.default(api, Text("I think it is fine.", input_tokens=400, output_tokens=30))

    run = _baton(root, "run", "review", "--json", env=env)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    result = json.loads(run.stdout)
    assert result["outputs"]["judge"]["error_type"] == "InvalidOutput"
    assert len(fake_model_server.requests_for(api)) == 2
    one_call = price(model, Usage(400, 30)) or 0
    assert one_call > 0
    assert result["cost_usd"] == pytest.approx(2 * one_call, rel=1e-6)
    assert result["outputs"]["judge"]["usage"]["input_tokens"] == 800

    usage = json.loads(_baton(root, "usage", "--json", env=env).stdout)
    assert usage["total"]["calls"] == 2
    assert usage["total"]["cost_usd"] == pytest.approx(2 * one_call, rel=1e-6)
