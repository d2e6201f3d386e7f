"""The shared CLI layer, seen through a stand-in program (``config.command``).

The stand-in is a bash script that records its argv and environment, then prints a real
recorded transcript of the CLI it replaces — so these tests cover what each adapter
passes to its CLI (flags for read-only vs write, config keys, private config homes, the
allow-listed environment) without needing the real binaries.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from baton.agents.base import AgentFailed, AgentResult, AgentUnavailable, InvalidOutput
from baton.agents.cli_base import MAX_ARGV_PROMPT
from baton.agents.factory import create_adapter
from tests.agents.support import API_KEY, TRANSCRIPTS, Events, make_agent, make_request, require_cli

SCRIPT = """#!/usr/bin/env bash
mkdir -p "$FAKE_DUMP"
printf '%s\\0' "$@" > "$FAKE_DUMP/argv"
env -0 > "$FAKE_DUMP/env"
if [ -t 0 ] || [ ! -p /dev/stdin ]; then : > "$FAKE_DUMP/stdin"; else cat > "$FAKE_DUMP/stdin"; fi
if [ -n "$FAKE_EXIT" ]; then echo "$FAKE_STDERR" >&2; exit "$FAKE_EXIT"; fi
for f in $FAKE_WRITE; do mkdir -p "$(dirname "$f")"; echo changed > "$f"; done
if [ -n "$FAKE_COMMIT" ]; then
  echo committed > "$FAKE_COMMIT"
  git add "$FAKE_COMMIT" && git -c user.name=t -c user.email=t@t commit -qm agent
fi
if [ -n "$FAKE_ECHO" ]; then echo "$FAKE_ECHO"; fi
cat "$FAKE_OUTPUT"
"""


class Stand:
    """A stand-in CLI for one adapter, with what its last run received."""

    def __init__(self, tmp_path: Path, cli: str) -> None:
        self.cli = cli
        self.dump = tmp_path / f"dump-{cli}"
        self.script = tmp_path / f"fake-{cli}"
        self.script.write_text(SCRIPT)
        self.script.chmod(0o755)

    def agent(self, *, server_url: str | None = None, **config: Any) -> Any:
        env = {
            "FAKE_DUMP": str(self.dump),
            "FAKE_OUTPUT": str(TRANSCRIPTS / f"{self.cli}-text.jsonl"),
            **config.pop("env", {}),
        }
        agent = make_agent(self.cli, None, fast_fail=False, command=str(self.script), env=env, **config)
        if server_url:
            agent.config.update(base_url=server_url, api_key=API_KEY)
        return agent

    @property
    def argv(self) -> list[str]:
        return self.dump.joinpath("argv").read_bytes().decode().split("\0")[:-1]

    @property
    def env(self) -> dict[str, str]:
        pairs = self.dump.joinpath("env").read_bytes().decode().split("\0")
        return dict(p.split("=", 1) for p in pairs if "=" in p)


async def run(stand: Stand, ws: Path, agent: Any = None, **fields: Any) -> AgentResult:
    adapter = create_adapter(agent or stand.agent())
    return await adapter.run(make_request(ws, **fields), Events())


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


# -- command lines --------------------------------------------------------------------------


@pytest.mark.parametrize("writes", [False, True])
async def test_claude_permission_mode(tmp_path: Path, git_workspace: Path, writes: bool) -> None:
    stand = Stand(tmp_path, "claude")
    await run(stand, git_workspace, writes_workspace=writes)
    argv = stand.argv
    assert flag(argv, "--permission-mode") == ("acceptEdits" if writes else "plan")
    # read-only calls get no tool that reaches the network
    assert ("--disallowedTools" in argv and flag(argv, "--disallowedTools") == "WebFetch,WebSearch") is (
        not writes
    )
    assert flag(argv, "--output-format") == "stream-json" and "--verbose" in argv
    assert flag(argv, "--model") == "claude-sonnet-4-5"
    assert flag(argv, "-p") == "say hello"


@pytest.mark.parametrize("writes", [False, True])
async def test_codex_sandbox(tmp_path: Path, git_workspace: Path, writes: bool) -> None:
    stand = Stand(tmp_path, "codex")
    await run(stand, git_workspace, writes_workspace=writes)
    argv = stand.argv
    assert argv[:4] == ["exec", "--json", "--skip-git-repo-check", "-s"]
    assert argv[4] == ("workspace-write" if writes else "read-only")
    assert flag(argv, "-m") == "gpt-5.5"
    assert argv[-1] == "say hello"
    # no base_url: the user's own ~/.codex, with the chatty features off by -c overrides
    assert "analytics.enabled=false" in argv and "features.plugins=false" in argv
    assert "CODEX_HOME" not in stand.env


@pytest.mark.parametrize("writes", [False, True])
async def test_copilot_permissions(tmp_path: Path, git_workspace: Path, writes: bool) -> None:
    stand = Stand(tmp_path, "copilot")
    await run(stand, git_workspace, writes_workspace=writes)
    argv = stand.argv
    assert "--allow-all-tools" not in argv and "--allow-all" not in argv and "--yolo" not in argv
    assert ("--allow-tool=write" in argv and "--allow-tool=shell" in argv) is writes
    assert ("--deny-tool=write" in argv) is not writes
    assert ("--deny-tool=shell" in argv) is not writes
    # denials win over allows: no URLs, no push, no gh, no built-in GitHub MCP server
    for denied in ("--deny-tool=url", "--deny-tool=shell(git push)", "--deny-tool=shell(gh)"):
        assert denied in argv
    assert "--disable-builtin-mcps" in argv
    assert "--usage-output-file" in argv and flag(argv, "--output-format") == "json"
    assert "--no-auto-update" in argv


@pytest.mark.parametrize("writes", [False, True])
async def test_gemini_approval_mode(tmp_path: Path, git_workspace: Path, writes: bool) -> None:
    stand = Stand(tmp_path, "gemini")
    await run(stand, git_workspace, writes_workspace=writes, artifacts=tmp_path / "artifacts")
    argv = stand.argv
    assert flag(argv, "--approval-mode") == ("yolo" if writes else "default")
    defaults = json.loads(Path(stand.env["GEMINI_CLI_SYSTEM_DEFAULTS_PATH"]).read_text())
    excluded = defaults.get("tools", {}).get("exclude", [])
    assert (excluded == ["web_fetch", "google_web_search"]) is not writes
    assert flag(argv, "-m") == "gemini-2.5-flash"  # always: no routing call
    assert flag(argv, "-o") == "stream-json" and "--skip-trust" in argv
    assert stand.env["GEMINI_CLI_NO_RELAUNCH"] == "true"


async def test_claude_config_keys(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "claude")
    mcp = tmp_path / "mcp.json"
    mcp.write_text('{"mcpServers": {}}')
    agent = stand.agent(
        max_turns=3,
        allowed_tools=["Read", "Bash(git diff:*)"],
        disallowed_tools="WebFetch",
        extra_args=["--bare"],
        mcp_config=str(mcp),
    )
    with pytest.raises(InvalidOutput):  # the stand-in answers plain text
        await run(stand, git_workspace, agent, session_id="sess-123", output_schema={"type": "object"})
    argv = stand.argv
    assert flag(argv, "--max-turns") == "3"
    assert flag(argv, "--allowedTools") == "Read,Bash(git diff:*)"
    assert flag(argv, "--disallowedTools") == "WebFetch,WebSearch"  # read-only: WebSearch added
    assert flag(argv, "--mcp-config") == str(mcp)
    assert flag(argv, "--resume") == "sess-123"
    assert flag(argv, "--json-schema") == '{"type": "object"}'
    assert argv[-1] == "--bare"


async def test_codex_config_keys(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "codex")
    mcp = tmp_path / "mcp.json"
    mcp.write_text('{"mcpServers": {"docs": {"command": "docs-mcp", "args": ["--stdio"]}}}')
    agent = stand.agent(mcp_config=str(mcp), extra_args=["-c", "x=1"])
    with pytest.raises(InvalidOutput):  # the stand-in answers plain text
        await run(stand, git_workspace, agent, session_id="thread-9", output_schema={"type": "object"})
    argv = stand.argv
    assert 'mcp_servers.docs={"command" = "docs-mcp", "args" = ["--stdio"]}' in argv
    schema_file = Path(flag(argv, "--output-schema"))
    assert argv[-3:] == ["resume", "thread-9", "say hello"]
    assert argv[argv.index("resume") - 2 : argv.index("resume")] == ["-c", "x=1"]
    assert schema_file.name == "output-schema.json"


async def test_copilot_config_keys(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "copilot")
    agent = stand.agent(
        allowed_tools=["shell(git:*)"], disallowed_tools=["shell(git push)"], mcp_config="/etc/mcp.json"
    )
    await run(stand, git_workspace, agent, session_id="abc1234")
    argv = stand.argv
    assert "--deny-tool=write" in argv
    assert "--deny-tool=shell" not in argv  # a shell allow-rule would lose to a blanket deny
    assert "--allow-tool=shell(git:*)" in argv and "--deny-tool=shell(git push)" in argv
    assert flag(argv, "--additional-mcp-config") == "@/etc/mcp.json"
    assert "--resume=abc1234" in argv


async def test_gemini_config_keys(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "gemini")
    agent = stand.agent(
        server_url="http://127.0.0.1:9/v1beta",
        keep_home=True,
        max_turns=4,
        disallowed_tools=["run_shell_command"],
        settings={"general": {"maxAttempts": 1}, "privacy": {"x": 1}},
    )
    await run(
        stand,
        git_workspace,
        agent,
        session_id="0f0f0f0f-0000-4000-8000-000000000000",
        artifacts=tmp_path / "art",
    )
    env = stand.env
    assert env["GOOGLE_GEMINI_BASE_URL"] == "http://127.0.0.1:9"
    assert env["GEMINI_API_KEY"] == API_KEY
    settings = Path(env["GEMINI_CLI_HOME"], ".gemini", "settings.json").read_text()

    data = json.loads(settings)
    assert data["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert data["privacy"] == {"usageStatisticsEnabled": False, "x": 1}
    assert data["general"]["maxAttempts"] == 1
    assert data["model"]["maxSessionTurns"] == 4
    assert data["tools"]["exclude"] == ["run_shell_command", "web_fetch", "google_web_search"]
    assert flag(stand.argv, "--resume") == "0f0f0f0f-0000-4000-8000-000000000000"


async def test_leading_dash_prompt_is_not_an_option(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "codex")
    await run(stand, git_workspace, prompt="--help me")
    assert stand.argv[-1] == " --help me"


@pytest.mark.parametrize("cli", ["claude", "codex"])
async def test_huge_prompt_goes_through_stdin(tmp_path: Path, git_workspace: Path, cli: str) -> None:
    stand = Stand(tmp_path, cli)
    prompt = "review this diff\n" + "x" * (MAX_ARGV_PROMPT + 10)
    await run(stand, git_workspace, prompt=prompt, artifacts=tmp_path / "art")
    assert all(len(arg) < 500 for arg in stand.argv)
    assert (stand.dump / "stdin").read_text() == prompt


@pytest.mark.parametrize("cli", ["gemini", "copilot"])
async def test_huge_prompt_goes_through_a_file(tmp_path: Path, git_workspace: Path, cli: str) -> None:
    stand = Stand(tmp_path, cli)
    prompt = "review this diff\n" + "x" * (MAX_ARGV_PROMPT + 10)
    await run(stand, git_workspace, prompt=prompt, artifacts=tmp_path / "art")
    short = flag(stand.argv, "-p")
    assert len(short) < 500
    path = Path(short.split("in the file ", 1)[1].split(". ", 1)[0])
    assert path.read_text() == prompt


# -- private config homes -----------------------------------------------------------------


async def test_codex_base_url_writes_private_codex_home(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "codex")
    agent = stand.agent(server_url="http://127.0.0.1:9", keep_home=True)
    art = tmp_path / "art"
    await run(stand, git_workspace, agent, artifacts=art)
    env = stand.env
    home = Path(env["CODEX_HOME"])
    assert home == art / "homes" / "codex"
    assert home.stat().st_mode & 0o077 == 0
    config = tomllib.loads((home / "config.toml").read_text())
    assert config["model_provider"] == "baton"
    provider = config["model_providers"]["baton"]
    assert provider == {
        "name": "baton",
        "base_url": "http://127.0.0.1:9/v1",
        "env_key": "BATON_CODEX_API_KEY",
        "wire_api": "responses",
        "request_max_retries": 1,  # config.cli_retries' default
        "stream_max_retries": 1,
    }
    assert config["analytics"] == {"enabled": False}
    assert config["features"] == {"plugins": False}
    assert config["check_for_update_on_startup"] is False
    assert env["BATON_CODEX_API_KEY"] == API_KEY
    assert API_KEY not in (home / "config.toml").read_text()
    assert (home / "config.toml").stat().st_mode & 0o077 == 0


async def test_a_private_home_is_deleted_after_the_call_unless_kept(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "codex")
    art = tmp_path / "art"
    await run(stand, git_workspace, stand.agent(server_url="http://127.0.0.1:9"), artifacts=art)
    assert not Path(stand.env["CODEX_HOME"]).exists()
    assert (art / "homes").stat().st_mode & 0o777 == 0o700
    assert art.stat().st_mode & 0o777 == 0o700
    for path in art.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path


async def test_claude_base_url_env(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "claude")
    await run(stand, git_workspace, stand.agent(server_url="http://127.0.0.1:9/v1"))
    env = stand.env
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9/v1"
    assert env["ANTHROPIC_API_KEY"] == API_KEY
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert "CLAUDE_CONFIG_DIR" in env  # private state, the user's HOME untouched
    assert Path(env["HOME"]) == Path.home()


async def test_copilot_base_url_env(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "copilot")
    await run(stand, git_workspace, stand.agent(server_url="http://127.0.0.1:9"))
    env = stand.env
    assert env["COPILOT_PROVIDER_BASE_URL"] == "http://127.0.0.1:9/v1"
    assert env["COPILOT_PROVIDER_API_KEY"] == API_KEY
    assert env["COPILOT_MODEL"] == "gpt-5.4"
    assert env["COPILOT_OFFLINE"] == "true" and env["COPILOT_AUTO_UPDATE"] == "false"
    assert "COPILOT_HOME" in env


# -- the allow-listed environment -----------------------------------------------------------


async def test_one_agents_secrets_never_reach_another(
    tmp_path: Path, git_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-parent-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-parent-secret")
    monkeypatch.setenv("UNRELATED_SECRET", "hunter2-unrelated")
    monkeypatch.setenv("SHARED_TOOL_VAR", "tool-setting")
    claude = Stand(tmp_path, "claude")
    codex = Stand(tmp_path, "codex")
    agent_a = claude.agent(env={"A_PRIVATE_TOKEN": "a-private-value"}, env_allow=["SHARED_TOOL_VAR"])
    await run(claude, git_workspace, agent_a, environment={"EXECUTION_VAR": "ex"})
    await run(codex, git_workspace, codex.agent())

    a, b = claude.env, codex.env
    assert a["ANTHROPIC_API_KEY"] == "sk-ant-parent-secret"
    assert a["A_PRIVATE_TOKEN"] == "a-private-value"
    assert a["SHARED_TOOL_VAR"] == "tool-setting"
    assert a["EXECUTION_VAR"] == "ex"
    assert "OPENAI_API_KEY" not in a
    assert b["OPENAI_API_KEY"] == "sk-openai-parent-secret"
    for name in ("ANTHROPIC_API_KEY", "A_PRIVATE_TOKEN", "SHARED_TOOL_VAR"):
        assert name not in b
    for env in (a, b):
        assert "UNRELATED_SECRET" not in env
        assert "sk-ant-parent-secret" not in str(b)
        assert env["PATH"] and env["HOME"]


@pytest.mark.parametrize("cli", ["claude", "codex", "copilot", "gemini"])
@pytest.mark.parametrize("base_url", [False, True])
async def test_the_github_token_never_reaches_an_agent(
    tmp_path: Path, git_workspace: Path, monkeypatch: pytest.MonkeyPatch, cli: str, base_url: bool
) -> None:
    """GITHUB_TOKEN / GH_TOKEN in Baton's environment reach no CLI, logged in or not."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_workflow_token_value")
    monkeypatch.setenv("GH_TOKEN", "gho_user_token_value")
    monkeypatch.setenv("COPILOT_GITHUB_TOKEN", "ghu_copilot_only_token")
    stand = Stand(tmp_path, cli)
    agent = stand.agent(server_url="http://127.0.0.1:9" if base_url else None)
    await run(stand, git_workspace, agent, writes_workspace=True)
    env = stand.env
    assert "GITHUB_TOKEN" not in env and "GH_TOKEN" not in env
    dumped = stand.dump.joinpath("env").read_bytes().decode() + "\0".join(stand.argv)
    assert "ghs_workflow_token_value" not in dumped and "gho_user_token_value" not in dumped
    # copilot logged in (no base_url) keeps its own Copilot-scoped credential
    assert ("COPILOT_GITHUB_TOKEN" in env) is (cli == "copilot" and not base_url)


async def test_base_url_drops_the_users_own_credentials(
    tmp_path: Path, git_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "user-oauth-token")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "user-api-key")
    monkeypatch.setenv("CLAUDE_CODE_MAX_RETRIES", "2")
    stand = Stand(tmp_path, "claude")
    await run(stand, git_workspace, stand.agent(server_url="http://127.0.0.1:9"))
    env = stand.env
    assert "ANTHROPIC_AUTH_TOKEN" not in env
    assert env["ANTHROPIC_API_KEY"] == API_KEY
    assert env["CLAUDE_CODE_MAX_RETRIES"] == "2"  # behaviour settings still pass


# -- outcomes -------------------------------------------------------------------------------


async def test_missing_binary_is_unavailable_with_install_command(git_workspace: Path) -> None:
    agent = make_agent("codex", fast_fail=False, command="baton-no-such-cli-4242")
    adapter = create_adapter(agent)
    with pytest.raises(AgentUnavailable) as info:
        await adapter.run(make_request(git_workspace), Events())
    assert "npm install -g @openai/codex" in str(info.value)
    report = await adapter.check()
    assert not report.ok and "npm install -g @openai/codex" in report.detail


async def test_crash_is_a_retryable_failure_with_stderr(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "claude")
    agent = stand.agent(env={"FAKE_EXIT": "3", "FAKE_STDERR": f"boom: key {API_KEY}"}, api_key=API_KEY)
    with pytest.raises(AgentFailed) as info:
        await run(stand, git_workspace, agent)
    assert info.value.retryable and info.value.exit_code == 3
    assert "boom" in str(info.value) and API_KEY not in str(info.value)


async def test_exit_zero_without_result_is_a_failure(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "gemini")
    agent = stand.agent(env={"FAKE_OUTPUT": "/dev/null"})
    with pytest.raises(AgentFailed) as info:
        await run(stand, git_workspace, agent)
    assert "without a final result" in str(info.value)


async def test_secrets_are_redacted_from_transcripts_and_events(tmp_path: Path, git_workspace: Path) -> None:
    stand = Stand(tmp_path, "codex")
    line = json.dumps({"type": "error", "message": f"bad key {API_KEY}"})
    agent = stand.agent(env={"FAKE_ECHO": line}, api_key=API_KEY)
    events = Events()
    result = await create_adapter(agent).run(make_request(git_workspace, artifacts=tmp_path / "art"), events)
    transcript = Path(result.transcript_path or "").read_text()
    assert API_KEY not in transcript and "bad key ***" in transcript
    assert "bad key ***" in [e.text for e in events.of("error")]


async def test_files_changed_outside_git(tmp_path: Path) -> None:
    ws = tmp_path / "plain"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "old.py").write_text("x = 1\n")
    stand = Stand(tmp_path, "codex")
    agent = stand.agent(env={"FAKE_WRITE": "src/new.py"})
    result = await run(stand, ws, agent)
    assert result.files_changed == ["src/new.py"]


async def test_files_committed_by_the_agent_are_reported(tmp_path: Path, git_workspace: Path) -> None:
    (git_workspace / "dirty.txt").write_text("untracked before the call\n")
    stand = Stand(tmp_path, "codex")
    agent = stand.agent(env={"FAKE_COMMIT": "feature.py", "FAKE_WRITE": "README.md"})
    result = await run(stand, git_workspace, agent)
    assert result.files_changed == ["README.md", "feature.py"]
    log = subprocess.run(
        ["git", "log", "--oneline"], cwd=git_workspace, capture_output=True, text=True, check=True
    ).stdout
    assert "agent" in log


async def test_batons_own_files_in_the_workspace_are_not_changes(git_workspace: Path, tmp_path: Path) -> None:
    """Transcripts, private homes and the store's database live under .baton/ in the workspace:
    none of .baton/ is part of a workspace snapshot (a step that changes it is failed by the engine)."""
    stand = Stand(tmp_path, "codex")
    art = git_workspace / ".baton" / "artifacts" / "ex1"
    agent = stand.agent(
        server_url="http://127.0.0.1:9", env={"FAKE_WRITE": ".baton/baton.db-wal .baton/workflows/new.yaml"}
    )
    result = await run(stand, git_workspace, agent, artifacts=art)
    assert result.files_changed == []
    assert Path(result.transcript_path or "").is_file()


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_cli_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="not installed"):
        require_cli("codex")
