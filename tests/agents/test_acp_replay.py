"""Record a real ACP session, then replay it with no agent process; divergence fails loudly."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from baton.agents.base import AgentFailed
from baton.agents.factory import create_adapter
from baton.models import Agent
from tests.agents.support import Events, make_request, require_cli
from tests.agents.test_acp_agents import SPECS, acp_agent
from tests.fixtures.fake_model_server import FakeModelServer, Text

pytestmark = pytest.mark.cli_agents


def fresh_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def replay_agent(recordings: Path) -> Agent:
    return Agent(id="replayed", provider="replay", model="recorded", capabilities=["code_review"],
                 config={"recordings": str(recordings)})


async def test_replay_reproduces_a_recorded_writing_step_without_an_agent_process(
        fake_model_server: FakeModelServer, git_workspace: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    require_cli("gemini")
    spec = SPECS["gemini"]
    pristine = fresh_copy(git_workspace, tmp_path / "pristine")
    fake_model_server.script(spec.api, spec.write_call(git_workspace), Text("I wrote hello.txt"))
    recordings = tmp_path / "recordings"
    live = await create_adapter(acp_agent("gemini", fake_model_server)).run(
        make_request(git_workspace, "create hello.txt", writes_workspace=True, artifacts=recordings), Events())
    assert (git_workspace / "hello.txt").exists()
    assert Path(str(live.transcript_path)).parent == recordings

    started: list[Any] = []
    real_exec = asyncio.create_subprocess_exec

    async def only_git(program: str, *args: Any, **kwargs: Any) -> Any:
        if program != "git":  # the workspace snapshot uses git; nothing else may start
            started.append(program)
            raise AssertionError(f"replay started a process: {program}")
        return await real_exec(program, *args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", only_git)
    server_calls = len(fake_model_server.requests)
    events = Events()
    workspace = fresh_copy(pristine, tmp_path / "replay-ws")
    replayed = await create_adapter(replay_agent(recordings)).run(
        make_request(workspace, "create hello.txt", writes_workspace=True, artifacts=tmp_path / "out"), events)

    assert started == [] and len(fake_model_server.requests) == server_calls
    assert replayed.text == live.text == "I wrote hello.txt"
    assert replayed.usage == live.usage
    assert replayed.files_changed == live.files_changed == ["hello.txt"]
    assert (workspace / "hello.txt").read_text() == "hi\n"
    assert replayed.metadata["diff"] == live.metadata["diff"]
    strip = [{k: v for k, v in d.items() if k != "paths"} for d in live.metadata["permissions"]]
    assert [{k: v for k, v in d.items() if k != "paths"} for d in replayed.metadata["permissions"]] == strip
    assert [e.data["decision"] for e in events.of("permission")] == ["allow"]
    assert "".join(e.text for e in events.of("text")) == "I wrote hello.txt"


async def test_replay_fails_loudly_when_the_conversation_diverges(
        fake_model_server: FakeModelServer, git_workspace: Path, tmp_path: Path) -> None:
    require_cli("gemini")
    spec = SPECS["gemini"]
    pristine = fresh_copy(git_workspace, tmp_path / "pristine")
    fake_model_server.script(spec.api, spec.write_call(git_workspace), Text("I wrote hello.txt"))
    recordings = tmp_path / "recordings"
    await create_adapter(acp_agent("gemini", fake_model_server)).run(
        make_request(git_workspace, "create hello.txt", writes_workspace=True, artifacts=recordings), Events())
    adapter = create_adapter(replay_agent(recordings))

    other_prompt = fresh_copy(pristine, tmp_path / "a")
    with pytest.raises(AgentFailed) as info:
        await adapter.run(make_request(other_prompt, "create goodbye.txt", writes_workspace=True), Events())
    assert "replay diverged" in str(info.value) and "goodbye" in str(info.value)
    assert info.value.retryable is False

    read_only = fresh_copy(pristine, tmp_path / "b")  # Baton would now reject the write
    with pytest.raises(AgentFailed) as info:
        await adapter.run(make_request(read_only, "create hello.txt"), Events())
    assert "replay diverged" in str(info.value)
    assert not (read_only / "hello.txt").exists()


def test_missing_recording_names_what_was_looked_for(tmp_path: Path) -> None:
    adapter = create_adapter(replay_agent(tmp_path))
    with pytest.raises(Exception) as info:
        asyncio.run(adapter.run(make_request(tmp_path, "x"), Events()))
    assert "no recording for step 'step'" in str(info.value)


RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "acp_recordings"


def test_baton_run_replays_a_recorded_workflow_offline(git_workspace: Path, tmp_path: Path) -> None:
    """tests/fixtures/acp_recordings holds gemini's two ACP sessions of ``review-notes``
    (recorded with ``baton run``); the replay agent reproduces the run with no agent at all."""
    (git_workspace / "README.md").write_text("# demo\n")
    subprocess_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    subprocess_env.pop("CI", None)
    subprocess.run(["git", "commit", "-qam", "demo", "--author", "t <t@e.invalid>"], cwd=git_workspace,
                   env={**subprocess_env, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e.invalid"},
                   check=True)
    (git_workspace / "baton.yaml").write_text(yaml.safe_dump({
        "version": "1.0.0",
        "agents": {"gemini": {"provider": "replay", "model": "recorded", "capabilities": ["code_review"],
                              "config": {"recordings": str(RECORDINGS)}}},
        "workflows": {"review-notes": {"steps": [
            {"id": "review", "agent_id": "gemini", "prompt_template": "Summarise README.md in one line.",
             "timeout_seconds": 60},
            {"id": "notes", "agent_id": "gemini", "writes_workspace": True, "timeout_seconds": 60,
             "prompt_template": "Write NOTES.md saying the README was reviewed.", "dependencies": ["review"]}]}}}))
    run = subprocess.run([sys.executable, "-m", "baton", "run", "review-notes", "--json"], cwd=git_workspace,
                         env=subprocess_env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["outputs"]["review"]["text"] == "The README is a one-line title."
    notes = result["outputs"]["notes"]
    assert notes["text"] == "Wrote NOTES.md" and notes["files_changed"] == ["NOTES.md"]
    assert (Path(result["workspace_dir"]) / "NOTES.md").read_text() == "# Notes\n\nreviewed\n"
    assert notes["metadata"]["replayed_from"].endswith("notes-1-gemini.jsonl")
    assert [d["decision"] for d in notes["metadata"]["permissions"]] == ["allow"]
