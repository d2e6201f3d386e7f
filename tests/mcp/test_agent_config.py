"""Each CLI agent gets Baton's MCP servers in its own dialect, through its adapter's mcp_config hook."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from baton.agents.base import AgentRequest
from baton.agents.cli_base import CallContext
from baton.agents.factory import create_adapter
from baton.engine import Baton
from baton.models import Configuration
from baton.observability.redact import redactor
from baton.store import open_store

TOKEN = "ghp_mcp_secret_token_123456"
CLIS = {
    "claude": ("anthropic", "claude-sonnet-4-5"),
    "codex": ("openai", "gpt-5.5"),
    "copilot": ("github", "gpt-5.4"),
    "gemini": ("google", "gemini-2.5-flash"),
}


def make(tmp_path: Path, **extra: Any) -> Baton:
    (tmp_path / "ws").mkdir(exist_ok=True)
    agents: dict[str, Any] = {
        name: {"provider": p, "model": m, "capabilities": ["code_review"]} for name, (p, m) in CLIS.items()
    }
    agents["sh"] = {"provider": "shell", "model": "bash", "capabilities": ["command"]}
    cfg = Configuration.model_validate(
        {
            "version": "1.0.0",
            "global": {"workspace_dir": str(tmp_path / "ws")},
            "agents": agents,
            "mcp_servers": {
                "files": {"command": "npx", "args": ["-y", "server-files", "."], "env": {"ROOT": "/w"}},
                "issues": {
                    "url": "https://mcp.example.test/mcp",
                    "headers": {"Authorization": f"Bearer {TOKEN}"},
                    "agents": ["claude", "codex", "copilot", "gemini"],
                },
                "claude-only": {"command": "x", "agents": ["claude"]},
            },
            **extra,
        }
    )
    return Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)


def context(baton: Baton, agent_id: str, tmp_path: Path) -> tuple[Any, CallContext]:
    adapter = create_adapter(baton.agents[agent_id])
    request = AgentRequest(prompt="hi", workspace_dir=tmp_path / "ws", timeout_seconds=60)
    call_dir = tmp_path / "call" / agent_id
    call_dir.mkdir(parents=True)
    ctx = CallContext(
        request=request, program=[agent_id], home=tmp_path / "home" / agent_id, call_dir=call_dir, prompt="hi"
    )
    ctx.home.mkdir(parents=True)  # type: ignore[union-attr]
    return adapter, ctx


def written(baton: Baton, agent_id: str) -> dict[str, Any]:
    path = Path(baton.agents[agent_id].config["mcp_config"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return json.loads(path.read_text())["mcpServers"]


def test_each_cli_gets_its_own_dialect(tmp_path: Path) -> None:
    baton = make(tmp_path)
    try:
        assert "mcp_config" not in baton.agents["sh"].config
        assert written(baton, "claude") == {
            "files": {
                "type": "stdio",
                "command": "npx",
                "args": ["-y", "server-files", "."],
                "env": {"ROOT": "/w"},
            },
            "issues": {
                "type": "http",
                "url": "https://mcp.example.test/mcp",
                "headers": {"Authorization": f"Bearer {TOKEN}"},
            },
            "claude-only": {"type": "stdio", "command": "x", "args": []},
        }
        assert written(baton, "codex")["issues"] == {
            "url": "https://mcp.example.test/mcp",
            "http_headers": {"Authorization": f"Bearer {TOKEN}"},
        }
        assert written(baton, "copilot")["files"]["type"] == "local"
        assert written(baton, "copilot")["files"]["tools"] == ["*"]
        assert written(baton, "gemini")["issues"]["httpUrl"] == "https://mcp.example.test/mcp"
        assert "claude-only" not in written(baton, "gemini")
        assert TOKEN in redactor()  # a credential-named header value is never logged
    finally:
        baton.store.close()


def test_the_adapters_hand_the_config_to_their_cli(tmp_path: Path) -> None:
    baton = make(tmp_path)
    try:
        adapter, ctx = context(baton, "claude", tmp_path)
        args = adapter.build_args(ctx)
        assert args[args.index("--mcp-config") + 1] == baton.agents["claude"].config["mcp_config"]

        adapter, ctx = context(baton, "copilot", tmp_path)
        args = adapter.build_args(ctx)
        assert (
            args[args.index("--additional-mcp-config") + 1]
            == "@" + baton.agents["copilot"].config["mcp_config"]
        )

        adapter, ctx = context(baton, "codex", tmp_path)
        args = adapter.build_args(ctx)
        overrides = [args[i + 1] for i, a in enumerate(args) if a == "-c"]
        assert (
            'mcp_servers.files={"command" = "npx", "args" = ["-y", "server-files", "."], '
            '"env" = {"ROOT" = "/w"}}' in overrides
        )
        assert any(
            o.startswith('mcp_servers.issues={"url" = "https://mcp.example.test/mcp"') for o in overrides
        )

        adapter, ctx = context(baton, "gemini", tmp_path)
        settings = adapter.settings(with_auth=False)
        assert settings["mcpServers"]["files"] == {
            "command": "npx",
            "args": ["-y", "server-files", "."],
            "env": {"ROOT": "/w"},
        }
    finally:
        baton.store.close()


def test_a_users_own_mcp_config_is_merged_and_wins(tmp_path: Path) -> None:
    own = tmp_path / "mine.json"
    own.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "files": {"type": "stdio", "command": "my-files"},
                    "extra": {"type": "stdio", "command": "extra"},
                }
            }
        )
    )
    (tmp_path / "ws").mkdir()
    cfg = Configuration.model_validate(
        {
            "version": "1.0.0",
            "global": {"workspace_dir": str(tmp_path / "ws")},
            "agents": {
                "claude": {
                    "provider": "anthropic",
                    "model": "sonnet",
                    "capabilities": ["x"],
                    "config": {"mcp_config": str(own)},
                }
            },
            "mcp_servers": {"files": {"command": "npx"}, "more": {"command": "more"}},
        }
    )
    baton = Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)
    try:
        servers = written(baton, "claude")
        assert servers["files"] == {"type": "stdio", "command": "my-files"}
        assert set(servers) == {"files", "extra", "more"}
    finally:
        baton.store.close()
