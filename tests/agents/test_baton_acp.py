"""``baton acp`` driven by the ACP SDK's client side, the way an editor drives it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import acp
import pytest
import yaml
from acp.schema import RequestPermissionResponse

from tests.agents.test_acp_replay import RECORDINGS


class Editor:
    """A minimal ACP client: keeps every update, answers permission requests as told."""

    def __init__(self, allow: bool = True) -> None:
        self.updates: list[dict[str, Any]] = []
        self.asked: list[dict[str, Any]] = []
        self.allow = allow

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append(update.model_dump(mode="json", by_alias=True, exclude_none=True))

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **kwargs: Any) -> RequestPermissionResponse:
        self.asked.append(tool_call.model_dump(mode="json", by_alias=True, exclude_none=True))
        wanted = "allow_once" if self.allow else "reject_once"
        chosen = next(o.option_id for o in options if o.kind == wanted)
        return RequestPermissionResponse.model_validate({"outcome": {"outcome": "selected", "optionId": chosen}})

    def text(self) -> str:
        return "".join(u["content"]["text"] for u in self.updates if u["sessionUpdate"] == "agent_message_chunk")

    def plans(self) -> list[list[tuple[str, str]]]:
        return [[(e["content"], e["status"]) for e in u["entries"]] for u in self.updates
                if u["sessionUpdate"] == "plan"]


def init_project(folder: Path) -> dict[str, str]:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e.invalid"}
    env.pop("CI", None)
    folder.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=folder, check=True, env=env)
    done = subprocess.run([sys.executable, "-m", "baton", "init"], cwd=folder, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    return env


async def drive(folder: Path, env: dict[str, str], editor: Editor, *prompts: str,
                cancel_after: float | None = None, args: tuple[str, ...] = ()) -> list[str]:
    stops = []
    async with acp.spawn_agent_process(editor, sys.executable, "-m", "baton", "acp", *args, cwd=folder,
                                       env=env) as (conn, _proc):
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        session = await conn.new_session(cwd=str(folder), mcp_servers=[])
        for text in prompts:
            turn = asyncio.create_task(conn.prompt(session_id=session.session_id, prompt=[acp.text_block(text)]))
            if cancel_after is not None:
                await asyncio.sleep(cancel_after)
                await conn.cancel(session_id=session.session_id)
            response = await asyncio.wait_for(turn, 120)
            stops.append(response.stop_reason)
    return stops


async def test_baton_acp_runs_hello_and_streams_its_steps(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    env = init_project(folder)
    editor = Editor()
    stops = await drive(folder, env, editor, "/run hello --name Ada")
    assert stops == ["end_turn"]
    text = editor.text()
    assert "Running hello" in text and "hello completed" in text
    assert "Hello, Ada" in text
    for step in ("greet", "files", "when", "summary"):
        assert f"▶ {step} on sh" in text and f"✓ {step}" in text
    plans = editor.plans()
    assert plans[0] == [(s, "pending") for s in ("greet", "files", "when", "summary")]
    assert plans[-1] == [(s, "completed") for s in ("greet", "files", "when", "summary")]
    assert any(("greet", "in_progress") in plan for plan in plans)
    history = subprocess.run([sys.executable, "-m", "baton", "history", "--json"], cwd=folder, env=env,
                             capture_output=True, text=True, timeout=60, check=True)
    assert [row["trigger"] for row in json.loads(history.stdout)] == ["acp"]


async def test_plain_text_runs_the_default_workflow_and_bad_prompts_explain(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    env = init_project(folder)
    editor = Editor()
    stops = await drive(folder, env, editor, "Grace", "/run no-such-workflow",
                        args=("--workflow", "hello", "--text-param", "name"))
    assert stops == ["end_turn", "end_turn"]
    assert "Hello, Grace" in editor.text()
    assert "no-such-workflow" in editor.text()


async def test_session_cancel_cancels_the_execution(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    env = init_project(folder)
    config = yaml.safe_load((folder / "baton.yaml").read_text())
    config["workflows"]["slow"] = {"steps": [{"id": "wait", "agent_id": "sh", "prompt_template": "sleep 60",
                                              "timeout_seconds": 120}]}
    (folder / "baton.yaml").write_text(yaml.safe_dump(config))
    editor = Editor()
    started = asyncio.get_running_loop().time()
    stops = await drive(folder, env, editor, "/run slow", cancel_after=4)
    assert stops == ["cancelled"]
    assert asyncio.get_running_loop().time() - started < 40
    assert "slow cancelled" in editor.text()


@pytest.mark.parametrize("allow", [True, False])
async def test_ask_permissions_are_forwarded_to_the_editor(tmp_path: Path, allow: bool) -> None:
    """A step whose permissions say ``edit: ask`` asks the editor (a replayed gemini session)."""
    folder = tmp_path / "project"
    env = init_project(folder)
    (folder / "README.md").write_text("# demo\n")
    subprocess.run(["git", "add", "-A"], cwd=folder, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "demo"], cwd=folder, check=True, env=env)
    config = yaml.safe_load((folder / "baton.yaml").read_text())
    config["agents"]["gemini"] = {"provider": "replay", "model": "recorded", "capabilities": ["code_review"],
                                  "config": {"recordings": str(RECORDINGS)}}
    config["workflows"]["notes"] = {"steps": [{
        "id": "notes", "agent_id": "gemini", "writes_workspace": True, "timeout_seconds": 60,
        "permissions": {"edit": "ask"},
        "prompt_template": "Write NOTES.md saying the README was reviewed."}]}
    (folder / "baton.yaml").write_text(yaml.safe_dump(config))
    editor = Editor(allow=allow)
    stops = await drive(folder, env, editor, "/run notes")
    assert stops == ["end_turn"]
    assert editor.asked and editor.asked[0]["kind"] == "edit"
    assert editor.asked[0]["locations"][0]["path"].endswith("NOTES.md")
    if allow:
        assert (folder / "NOTES.md").read_text() == "# Notes\n\nreviewed\n"
        assert "notes completed" in editor.text()
    else:  # the recording had the write allowed: a rejection makes the replay diverge, loudly
        assert not (folder / "NOTES.md").exists()
        assert "replay diverged" in editor.text()
