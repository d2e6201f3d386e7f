"""Secrets never reach events, log rows, step outputs, errors or transcripts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from baton.engine import Baton
from baton.models import ExecutionLog, ExecutionStatus, LogLevel
from baton.models import events as ev
from baton.observability.redact import MASK, Redactor, credential_values
from baton.secrets import open_secret_store

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPTS = ROOT / "tests" / "fixtures" / "transcripts"


# -- the Redactor ------------------------------------------------------------------------------
@dataclass
class Sample:
    text: str
    items: list[str] = field(default_factory=list)


def test_redactor_masks_text_and_nested_data() -> None:
    r = Redactor(["s3cr3t-value", "ab"])  # too short values are ignored
    assert r.redact_text("x s3cr3t-value y ab") == f"x {MASK} y ab"
    data = {"a": ["s3cr3t-value!", 1, None], "b": ("s3cr3t-value",), "c": {"d": "clean"}}
    assert r.redact(data) == {"a": [f"{MASK}!", 1, None], "b": (MASK,), "c": {"d": "clean"}}
    sample = Sample("token s3cr3t-value", ["s3cr3t-value"])
    clean = r.redact(sample)
    assert clean == Sample(f"token {MASK}", [MASK]) and sample.text == "token s3cr3t-value"
    log = ExecutionLog(
        execution_id="e",
        level=LogLevel.INFO,
        message="m s3cr3t-value",
        metadata={"k": "s3cr3t-value"},
        trace_id="0" * 32,
    )
    assert r.redact(log).message == f"m {MASK}" and r.redact(log).metadata == {"k": MASK}
    untouched = {"a": "nothing here"}
    assert r.redact(untouched) is untouched


def test_redactor_masks_the_json_escaped_form_and_longest_first() -> None:
    r = Redactor(['pa"ss\\word-1', "abcd", "abcdefgh"])
    assert r.redact_text(json.dumps({"v": 'pa"ss\\word-1'})) == '{"v": "***"}'
    assert r.redact_text("abcdefgh abcd") == f"{MASK} {MASK}"


def test_credential_values_of_an_agent_config() -> None:
    config = {
        "api_key": "k-123456",
        "base_url": "http://x",
        "max_tokens": 100,
        "env": {"GITHUB_TOKEN": "ghp-abcdef", "LOG_LEVEL": "debug"},
        "headers": {"Authorization": "Bearer zzzzzz"},
    }
    assert sorted(credential_values(config)) == ["Bearer zzzzzz", "ghp-abcdef", "k-123456"]


# -- end to end ----------------------------------------------------------------------------------
DEPLOY_TOKEN = "dpl-tok-5a7c9e1b3d"
LEAKED = "leak-secret-0f2e4d6c8a"


def _everything(baton: Baton, execution_id: str) -> str:
    """Every persisted trace of an execution, as one string."""
    store = baton.store
    record = store.get_execution(execution_id)
    assert record is not None
    parts = [record.context.model_dump_json(), json.dumps(record.workflow_snapshot)]
    parts += [log.model_dump_json() for log in store.list_logs(execution_id)]
    parts += [run.model_dump_json() for run in store.list_steps(execution_id)]
    return "\n".join(parts)


async def test_a_secret_printed_or_raised_by_an_agent_never_reaches_the_store(tmp_path: Path) -> None:
    from baton.models import Configuration
    from baton.store import open_store

    (tmp_path / "ws").mkdir()
    cfg = Configuration.model_validate(
        {
            "version": "1.0.0",
            "global": {"workspace_dir": str(tmp_path / "ws")},
            "agents": {
                "deployer": {
                    "provider": "shell",
                    "model": "bash",
                    "capabilities": ["command"],
                    "config": {"env": {"DEPLOY_TOKEN": DEPLOY_TOKEN}},
                }
            },
            "workflows": {
                "leak": {
                    "steps": [
                        {
                            "id": "show",
                            "agent_id": "deployer",
                            "prompt_template": 'echo "token is $DEPLOY_TOKEN"',
                        },
                        {
                            "id": "fail",
                            "agent_id": "deployer",
                            "prompt_template": 'echo "cannot deploy with $DEPLOY_TOKEN" >&2; exit 3',
                        },
                    ]
                }
            },
        }
    )
    baton = Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)
    try:
        handle = baton.run("leak")
        seen = [e async for e in handle.events()]
        result = await handle.wait()
        assert result.status is ExecutionStatus.FAILED
        assert result.outputs["show"]["text"] == f"token is {MASK}\n"
        assert f"cannot deploy with {MASK}" in result.outputs["fail"]["error"]
        assert DEPLOY_TOKEN not in (result.error or "")
        assert any(isinstance(e, ev.AgentOutput) and MASK in e.text for e in seen)
        assert all(DEPLOY_TOKEN not in repr(e) for e in seen)
        persisted = _everything(baton, result.execution_id)
        assert DEPLOY_TOKEN not in persisted
        assert f"token is {MASK}" in persisted
    finally:
        baton.close()


async def test_a_stored_secret_in_a_cli_agents_output_is_masked_in_its_transcript(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_SECRETS_DIR", str(tmp_path / "secrets"))
    open_secret_store().set("RELEASE_KEY", LEAKED)
    # a stand-in `claude` printing a real recorded transcript whose answer contains the secret
    transcript = (TRANSCRIPTS / "claude-text.jsonl").read_text()
    assert "hello from the fake model" in transcript
    output = tmp_path / "claude-out.jsonl"
    output.write_text(transcript.replace("hello from the fake model", f"the key is {LEAKED}"))
    program = tmp_path / "fake-claude"
    program.write_text(f"#!/usr/bin/env bash\ncat {output}\necho 'stderr has {LEAKED} too' >&2\n")
    program.chmod(0o755)
    (tmp_path / "ws").mkdir()
    (tmp_path / "baton.yaml").write_text(
        yaml.safe_dump(
            {
                "version": "1.0.0",
                "global": {"workspace_dir": "ws"},
                "agents": {
                    "claude": {
                        "provider": "anthropic",
                        "model": "claude-sonnet-4-6",
                        "capabilities": ["code_review"],
                        "config": {
                            "command": str(program),
                            "env": {"RELEASE_SIGNING": "${secret:RELEASE_KEY}"},
                        },
                    }
                },
                "workflows": {
                    "ask": {
                        "steps": [{"id": "ask", "agent_id": "claude", "prompt_template": "what is the key?"}]
                    }
                },
            }
        )
    )
    baton = Baton.from_config(tmp_path / "baton.yaml", cwd=tmp_path)
    try:
        result = await baton.run_to_end("ask")
        assert result.status is ExecutionStatus.COMPLETED, result.error
        out = result.outputs["ask"]
        assert out["text"] == f"the key is {MASK}"
        saved = Path(out["transcript_path"]).read_text()
        assert LEAKED not in saved and f"the key is {MASK}" in saved
        assert LEAKED not in _everything(baton, result.execution_id)
    finally:
        baton.close()
