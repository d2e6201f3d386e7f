"""How each provider's ACP adapter is started (``interface: acp``).

A preset names the program and arguments that speak ACP on stdio, the npm package that
ships it, the CLI adapter whose environment handling it shares (``base_url``, ``api_key``,
the private config home) and the session mode in which the agent asks before acting.

======== ================================== ========================================
provider program                            package
======== ================================== ========================================
anthropic ``claude-agent-acp``              ``@agentclientprotocol/claude-agent-acp``
openai   ``codex-acp -c model=MODEL``       ``@zed-industries/codex-acp``
github   ``copilot --acp --model MODEL``    ``@github/copilot``
google   ``gemini --acp -m MODEL``          ``@google/gemini-cli``
======== ================================== ========================================

``provider: acp`` runs ``config.command`` instead (any ACP agent; its environment is
Baton's allow-list plus ``config.env`` and ``config.env_allow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from baton.agents.claude import ClaudeAgent
from baton.agents.cli_base import CliAgent
from baton.agents.codex import CodexAgent
from baton.agents.copilot import CopilotAgent
from baton.agents.gemini import GeminiAgent
from baton.agents.process_env import ProcessEnvironment
from baton.models import Agent


@dataclass(frozen=True, slots=True)
class Preset:
    """One provider's ACP adapter."""

    program: str
    npm_package: str
    cli: type[CliAgent] | None
    # Session modes that would act without asking, and the mode Baton switches them to.
    ask_mode: str | None = None
    model_args: tuple[str, ...] = ()  # with {model} filled in
    extra_env: tuple[tuple[str, str], ...] = ()
    # Answer fs/read_text_file of a missing workspace file with "" (gemini cannot tell the
    # ACP not-found error from a failure, so its write_file would never create a file).
    missing_file_empty: bool = False
    # The agent reports a failed model call as a final "Error: ..." message and ends the turn
    # normally (copilot); Baton turns that message into an AgentError.
    error_text: str | None = None


PRESETS: dict[str, Preset] = {
    "anthropic": Preset("claude-agent-acp", "@agentclientprotocol/claude-agent-acp", ClaudeAgent,
                        ask_mode="default", extra_env=(("IS_SANDBOX", "1"),)),
    "openai": Preset("codex-acp", "@zed-industries/codex-acp", CodexAgent,
                     model_args=("-c", "model=\"{model}\"")),
    "github": Preset("copilot", "@github/copilot", CopilotAgent, model_args=("--acp", "--model", "{model}"),
                     error_text="Error: "),
    "google": Preset("gemini", "@google/gemini-cli", GeminiAgent, model_args=("--acp", "-m", "{model}"),
                     missing_file_empty=True),
}


class GenericAcp(ProcessEnvironment):
    """Environment handling for ``provider: acp`` (no vendor variables, no private home)."""

    cli_name = "acp"


class PresetCli:
    """The preset and the environment handling (env, home, config files) of one ACP agent.

    A preset borrows its provider's CLI adapter for that (the same program reads the same
    variables and config files); ``provider: acp`` gets :class:`GenericAcp`.
    """

    BYPASS_MODES: ClassVar[frozenset[str]] = frozenset(
        {"auto", "bypassPermissions", "acceptEdits", "yolo", "autoEdit", "full-access", "dontAsk"})

    def __init__(self, agent: Agent) -> None:
        self.preset = PRESETS.get(agent.provider)
        cls: type[ProcessEnvironment] = (
            self.preset.cli if self.preset and self.preset.cli else GenericAcp)
        self.process = cls(agent)
        self.agent = agent

    @property
    def name(self) -> str:
        return self.preset.program if self.preset else "acp"

    @property
    def npm_package(self) -> str:
        return self.preset.npm_package if self.preset else "the agent's own package"
