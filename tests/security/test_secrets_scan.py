"""The secrets scan (issue 11, item 3): no agent key rests anywhere Baton writes or shows.

From the user's path: a fresh repository, ``baton init``, the store inside the workspace.
Each of the four CLIs (claude, codex, copilot, gemini, the real binaries against the fake
model server) and each API agent (Anthropic, OpenAI) gets a distinctive key from the
environment (``${VAR}`` in baton.yaml). Each runs a text step and a writing step; in the
writing step the CLI's shell tool dumps ``env`` (its own key is in there) and writes a
file, and the fake model repeats the key in its answers (a leaking or injected model).
Then every file under the project (store, WAL, artifacts, homes, worktrees), every object
in ``.git`` (loose and packed, decompressed by git), every CLI output (``status``, ``logs``,
``history``, ``config show``/``history``, the export JSON) and the API's answers are
searched: zero occurrences of any key.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from baton.store import open_store
from tests.agents.support import FAST_FAIL, MODELS, require_cli
from tests.api.serverproc import free_port, start_server
from tests.fixtures.fake_model_server import FakeModelServer, Reply, Text, ToolCall

from .project import baton, baton_json, configure, git, new_project

pytestmark = [pytest.mark.cli_agents, pytest.mark.slow, pytest.mark.timeout(900)]

CLIS = ("claude", "codex", "copilot", "gemini")
API_AGENTS = {"anthropic-api": ("anthropic", "claude-sonnet-4-6", "anthropic"),
              "openai-api": ("openai", "gpt-4.1", "chat")}
CLI_API = {"claude": "anthropic", "codex": "responses", "copilot": "chat", "gemini": "gemini"}


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


def _keys() -> dict[str, str]:
    return {name: f"sk-scan-{name}-{secrets.token_hex(10)}" for name in (*CLIS, *API_AGENTS)}


def _var(name: str) -> str:
    return "SCAN_KEY_" + name.upper().replace("-", "_")


def _ref(name: str) -> str:
    return "${" + _var(name) + "}"


def _agents(server: FakeModelServer) -> dict[str, Any]:
    agents: dict[str, Any] = {}
    for cli in CLIS:
        provider, model = MODELS[cli]
        config: dict[str, Any] = {"base_url": server.url, "api_key": _ref(cli), **FAST_FAIL[cli]}
        if cli == "claude":
            config["allowed_tools"] = ["Bash(env)", "Write"]
        agents[cli] = {"provider": provider, "model": model, "capabilities": ["coding"], "config": config}
    for name, (provider, model, _api) in API_AGENTS.items():
        base = server.url if provider == "anthropic" else f"{server.url}/v1"
        agents[name] = {"provider": provider, "model": model, "interface": "api", "capabilities": ["chat"],
                        "config": {"base_url": base, "api_key": _ref(name)}}
    return agents


def _workflows() -> dict[str, Any]:
    flows: dict[str, Any] = {}
    for agent in (*CLIS, *API_AGENTS):
        writes = agent in CLIS
        flows[f"scan-{agent}"] = {"steps": [
            {"id": "text", "agent_id": agent, "prompt_template": "Say hello."},
            {"id": "tool", "agent_id": agent, "dependencies": ["text"], "writes_workspace": writes,
             "prompt_template": "Run `env`, then write hello-" + agent + ".txt."},
        ]}
    return flows


def _tool_script(cli: str, repo: Path, key: str) -> list[Reply]:
    target = f"hello-{cli}.txt"
    env_call, write_call = {
        "claude": (ToolCall("Bash", {"command": "env", "description": "show the environment"}),
                   ToolCall("Write", {"file_path": str(repo / target), "content": "hi\n"})),
        "codex": (ToolCall("exec_command", {"cmd": "env"}),
                  ToolCall("apply_patch", f"*** Begin Patch\n*** Add File: {target}\n+hi\n*** End Patch\n")),
        "copilot": (ToolCall("bash", {"command": "env", "description": "show the environment"}),
                    ToolCall("apply_patch", f"*** Begin Patch\n*** Add File: {target}\n+hi\n*** End Patch\n")),
        "gemini": (ToolCall("run_shell_command", {"command": "env"}),
                   ToolCall("write_file", {"file_path": target, "content": "hi\n"})),
    }[cli]
    return [env_call, write_call, Text(f"done; your key is {key}")]


def _git_contents(repo: Path) -> bytes:
    """Every object git holds (loose and packed), decompressed, plus every file under .git."""
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo,
                             capture_output=True, check=True).stdout
    raw = b"".join(p.read_bytes() for p in (repo / ".git").rglob("*") if p.is_file())
    return objects + raw


def _occurrences(blobs: dict[str, bytes], keys: dict[str, str]) -> list[str]:
    found = []
    for where, data in blobs.items():
        for name, key in keys.items():
            for form in (key.encode(), key.encode("utf-16-le")):
                if form in data:
                    found.append(f"{name}'s key in {where}")
    return found


def test_no_key_rests_anywhere(server: FakeModelServer, tmp_path: Path) -> None:
    for cli in CLIS:
        require_cli(cli)
    keys = _keys()
    env = {_var(name): key for name, key in keys.items()}
    repo = new_project(tmp_path / "project")
    configure(repo, _agents(server), _workflows(), {"cache": {"enabled": False}})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "configure baton")
    assert baton_json(repo, "config", "apply", env=env)["new"] is True

    outputs: dict[str, bytes] = {}
    ids: dict[str, str] = {}
    for agent in (*CLIS, *API_AGENTS):
        key = keys[agent]
        api = CLI_API.get(agent) or API_AGENTS[agent][2]
        tool = _tool_script(agent, repo, key) if agent in CLIS else [Text(f"leaked {key}")]
        server.clear()
        server.script(api, Text(f"hello, my key is {key}"), *tool)
        done = baton(repo, "run", f"scan-{agent}", "--json", env=env)
        outputs[f"baton run scan-{agent}"] = (done.stdout + done.stderr).encode()
        assert done.returncode == 0, f"{agent}: {done.stderr}\n{done.stdout}"
        result = json.loads(done.stdout)
        assert result["status"] == "completed", (agent, result)
        ids[agent] = result["execution_id"]
        if agent in CLIS:
            assert f"hello-{agent}.txt" in result["outputs"]["tool"]["files_changed"], (agent, result)

    # the models really were sent tool results holding the environment (so redaction had work)
    sent = "".join(r.text() for r in server.requests)
    assert any(keys[cli] in sent for cli in CLIS)

    for agent, execution_id in ids.items():
        # plain and JSON forms for one CLI agent and one API agent, JSON for the rest
        both = agent in ("codex", "openai-api")
        for args in (("status", execution_id, "--json"), ("logs", execution_id, "--json"),
                     *((("status", execution_id), ("logs", execution_id)) if both else ())):
            done = baton(repo, *args, env=env)
            assert done.returncode == 0, done.stderr
            outputs[" ".join(args)] = (done.stdout + done.stderr).encode()
    for args in (("history",), ("history", "--json"), ("config", "show"), ("config", "show", "--json"),
                 ("config", "history", "--json"), ("usage",)):
        done = baton(repo, *args, env=env)
        outputs[" ".join(args)] = (done.stdout + done.stderr).encode()
    store = open_store(None, base_dir=repo)
    try:
        for agent, execution_id in ids.items():
            outputs[f"export {agent}"] = json.dumps(store.export_execution(execution_id), default=str).encode()
        outputs["export config"] = json.dumps(store.export_config_versions(), default=str).encode()
    finally:
        store.close()

    token = f"scan-{secrets.token_hex(8)}"
    (repo / "baton.yaml").write_text((repo / "baton.yaml").read_text() + (
        f"api:\n  tokens:\n    - {{name: scanner, role: admin, token: \"{token}\"}}\n"))
    port = free_port()
    proc = start_server(repo, port, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            for path in ("/executions", "/agents", "/workflows", "/audit",
                         *[f"/executions/{i}" for i in ids.values()],
                         *[f"/executions/{i}/logs" for i in ids.values()]):
                resp = client.get(path)
                assert resp.status_code == 200, (path, resp.text)
                outputs[f"GET {path}"] = resp.content
    finally:
        proc.stop()

    files = {str(p.relative_to(repo)): p.read_bytes() for p in repo.rglob("*")
             if p.is_file() and ".git" not in p.relative_to(repo).parts}
    assert any(name.startswith(".baton/baton.db") for name in files)
    assert any(name.startswith(".baton/artifacts/") for name in files)
    found = _occurrences({**files, ".git (objects decompressed)": _git_contents(repo), **outputs}, keys)
    assert found == []
    # the keys did reach Baton (the env dumps, the model's answers) and were masked on the way in
    assert any(b"***" in outputs[f"logs {ids[agent]} --json"] for agent in CLIS)
    assert _occurrences({"probe": f"x{keys['codex']}x".encode()}, keys) == ["codex's key in probe"]
    # per-call homes are gone; what is left of the artifacts is private
    for home in (repo / ".baton" / "artifacts").glob("*/homes/*"):
        raise AssertionError(f"a CLI home was left behind: {home}")
