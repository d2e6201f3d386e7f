"""The permission broker and the client side of ACP: policy answers, confined files, terminals."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from acp import RequestError

from baton.agents.acp_client import BatonClient
from baton.agents.acp_policy import PermissionPolicy
from baton.agents.acp_terminals import Terminals
from baton.models import Permissions
from tests.agents.support import Events

OPTIONS = [
    {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
    {"optionId": "always", "name": "Always", "kind": "allow_always"},
    {"optionId": "no", "name": "Reject", "kind": "reject_once"},
]


def edit(path: str, kind: str = "edit") -> dict[str, object]:
    return {"toolCallId": "t1", "kind": kind, "title": f"Write {path}", "locations": [{"path": path}]}


def run(command: str) -> dict[str, object]:
    return {"toolCallId": "t2", "kind": "execute", "title": command, "rawInput": {"command": command}}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


def test_read_only_step_allows_reading_and_rejects_acting(ws: Path) -> None:
    policy = PermissionPolicy(ws, writes_workspace=False)
    expected = {
        "read": True, "search": True, "think": True, "edit": False, "delete": False, "move": False,
        "execute": False, "fetch": False, "other": False, "switch_mode": False,
    }
    for kind, allowed in expected.items():
        decision = policy.decide({"toolCallId": "x", "kind": kind, "locations": [{"path": str(ws / "a.py")}],
                                  "rawInput": {"command": "ls"}}, OPTIONS)
        assert decision.allowed is allowed, kind
        assert decision.option_id == ("yes" if allowed else "no")


def test_writing_step_allows_edits_inside_and_refuses_protected_paths(ws: Path) -> None:
    policy = PermissionPolicy(ws, writes_workspace=True)
    assert policy.decide(edit(str(ws / "src/app.py")), OPTIONS).allowed
    assert policy.decide(edit("relative/file.txt"), OPTIONS).allowed
    assert policy.decide(run("pytest -q"), OPTIONS).allowed
    for path, why in [
        (str(ws.parent / "outside.txt"), "outside the workspace"),
        (str(ws / ".." / "escape.txt"), "outside the workspace"),
        (str(ws / ".git" / "config"), ".git/"),
        (str(ws / ".github" / "workflows" / "ci.yml"), ".github/workflows/"),
        (str(ws / ".baton" / "baton.db"), ".baton/"),
        ("/etc/passwd", "outside the workspace"),
    ]:
        decision = policy.decide(edit(path), OPTIONS)
        assert not decision.allowed and why in decision.reason, (path, decision.reason)
    assert not policy.decide({"toolCallId": "x", "kind": "edit", "title": "?"}, OPTIONS).allowed
    assert not policy.decide({"toolCallId": "x", "kind": "fetch", "title": "GET"}, OPTIONS).allowed


def test_symlink_out_of_the_workspace_is_refused(ws: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", ws / "link")
    policy = PermissionPolicy(ws, writes_workspace=True)
    assert not policy.decide(edit(str(ws / "link" / "x.txt")), OPTIONS).allowed


def test_permissions_block_narrows_and_widens(ws: Path) -> None:
    narrow = PermissionPolicy(ws, writes_workspace=True,
                              permissions=Permissions(execute=["pytest*", "npm test*"], protected=["docs/**"]))
    assert narrow.decide(run("pytest -x tests"), OPTIONS).allowed
    assert narrow.decide(run("npm test -- --watch=false"), OPTIONS).allowed
    rejected = narrow.decide(run("rm -rf /"), OPTIONS)
    assert not rejected.allowed and "matches none" in rejected.reason and rejected.command == "rm -rf /"
    assert not narrow.decide(edit(str(ws / "docs" / "index.md")), OPTIONS).allowed
    wide = PermissionPolicy(ws, writes_workspace=False, permissions=Permissions(fetch="allow", execute="allow"))
    assert wide.decide({"toolCallId": "f", "kind": "fetch", "title": "GET x"}, OPTIONS).allowed
    assert wide.decide(run("ls"), OPTIONS).allowed
    assert not wide.decide(edit(str(ws / "a.txt")), OPTIONS).allowed


def test_step_block_lays_over_the_agent_block() -> None:
    agent = Permissions(fetch="allow", execute=["pytest*"], protected=["a/**"])
    step = Permissions(execute="deny", protected=["b/**"])
    merged = step.over(agent)
    assert merged.fetch == "allow" and merged.execute == "deny" and merged.protected == ["a/**", "b/**"]


def test_no_reject_option_answers_cancelled(ws: Path) -> None:
    decision = PermissionPolicy(ws, writes_workspace=False).decide(
        edit(str(ws / "a")), [{"optionId": "ok", "name": "OK", "kind": "allow_once"}])
    assert not decision.allowed and decision.option_id is None


def client_for(ws: Path, writes: bool) -> tuple[BatonClient, Events]:
    events = Events()
    loop_deadline = asyncio.get_running_loop().time() + 30
    client = BatonClient(ws, PermissionPolicy(ws, writes_workspace=writes), events,
                         Terminals(ws, {"PATH": os.environ["PATH"]}, loop_deadline))
    return client, events


async def test_fs_write_text_file_refuses_traversal_and_symlinks(ws: Path, tmp_path: Path) -> None:
    client, events = client_for(ws, writes=True)
    os.symlink(tmp_path, ws / "up")
    for path in ["../escaped.txt", str(ws / ".." / "escaped.txt"), str(ws / "up" / "escaped.txt"),
                 "/tmp/escaped-by-acp.txt"]:
        with pytest.raises(RequestError):
            await client.write_text_file(session_id="s", path=path, content="x")
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/escaped-by-acp.txt").exists()
    with pytest.raises(RequestError):
        await client.write_text_file(session_id="s", path=str(ws / ".git" / "hooks" / "pre-commit"), content="x")
    assert not (ws / ".git").exists()
    await client.write_text_file(session_id="s", path=str(ws / "ok.txt"), content="fine\n")
    assert (ws / "ok.txt").read_text() == "fine\n"
    assert [w.path for w in client.state.writes] == ["ok.txt"]
    assert "+fine" in client.state.writes[0].unified_diff()
    assert [e.data["decision"] for e in events.of("permission")] == ["reject"]


async def test_fs_write_in_a_read_only_step_is_refused(ws: Path) -> None:
    client, events = client_for(ws, writes=False)
    with pytest.raises(RequestError):
        await client.write_text_file(session_id="s", path=str(ws / "a.txt"), content="x")
    assert list(ws.iterdir()) == []
    assert events.of("permission")[0].data["decision"] == "reject"


async def test_fs_read_text_file_is_confined(ws: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    (ws / "a.txt").write_text("1\n2\n3\n")
    client, _ = client_for(ws, writes=False)
    assert (await client.read_text_file(session_id="s", path=str(ws / "a.txt"), line=2, limit=1)).content == "2\n"
    with pytest.raises(RequestError):
        await client.read_text_file(session_id="s", path=str(tmp_path / "secret.txt"))
    with pytest.raises(RequestError):
        await client.read_text_file(session_id="s", path="../secret.txt")


async def test_terminal_runs_through_the_process_runner(ws: Path) -> None:
    client, events = client_for(ws, writes=True)
    created = await client.create_terminal(session_id="s", command="sh", args=["-c", "echo out; echo err >&2; exit 3"])
    exited = await client.wait_for_terminal_exit(session_id="s", terminal_id=created.terminal_id)
    assert exited.exit_code == 3
    output = await client.terminal_output(session_id="s", terminal_id=created.terminal_id)
    assert "out" in output.output and "err" in output.output and output.exit_status is not None
    capped = await client.create_terminal(session_id="s", command="sh", args=["-c", "seq 1 5000"],
                                          output_byte_limit=100)
    await client.wait_for_terminal_exit(session_id="s", terminal_id=capped.terminal_id)
    tail = await client.terminal_output(session_id="s", terminal_id=capped.terminal_id)
    assert tail.truncated and len(tail.output.encode()) <= 100 and tail.output.endswith("5000\n")
    slow = await client.create_terminal(session_id="s", command="sleep", args=["30"])
    await client.kill_terminal(session_id="s", terminal_id=slow.terminal_id)
    killed = await client.wait_for_terminal_exit(session_id="s", terminal_id=slow.terminal_id)
    assert killed.signal is not None
    await client.release_terminal(session_id="s", terminal_id=slow.terminal_id)
    assert next(e.text for e in events.of("command")).startswith("sh -c")


async def test_terminal_is_refused_in_a_read_only_step(ws: Path) -> None:
    client, events = client_for(ws, writes=False)
    with pytest.raises(RequestError):
        await client.create_terminal(session_id="s", command="touch", args=["x"])
    assert list(ws.iterdir()) == []
    assert events.of("permission")[0].data["tool_kind"] == "execute"


def test_mcp_servers_reach_session_new_in_acp_form(tmp_path: Path) -> None:
    """``mcp_servers:`` → the agent's mcp_config (written by Baton) → ACP McpServer objects."""
    from baton.agents.acp import AcpAgent
    from baton.integrations.mcp.agent_config import cli_flavor, config_document
    from baton.models import Agent
    from baton.models.mcp import McpServerConfig

    servers = {"files": McpServerConfig(command="npx", args=["-y", "fs-server", "."], env={"A": "1"}),
               "web": McpServerConfig(url="http://127.0.0.1:9/mcp", headers={"Authorization": "Bearer t"})}
    agent = Agent(id="g", provider="google", model="gemini-2.5-pro", interface="acp", capabilities=["x"])
    flavor = cli_flavor(agent)
    assert flavor is not None
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(config_document(flavor, servers)))
    agent.config = {"mcp_config": str(path)}
    found = {s.name: s.model_dump(mode="json", by_alias=True, exclude_none=True)
             for s in AcpAgent(agent)._mcp_servers()}
    assert found["files"] == {"name": "files", "command": "npx", "args": ["-y", "fs-server", "."],
                              "env": [{"name": "A", "value": "1"}]}
    assert found["web"]["type"] == "http" and found["web"]["url"] == "http://127.0.0.1:9/mcp"
    assert found["web"]["headers"] == [{"name": "Authorization", "value": "Bearer t"}]
