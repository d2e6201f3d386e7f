"""Pick and build the adapter for an Agent: ``(provider, interface)`` → adapter class.

Adapters are imported lazily so that a missing vendor SDK only matters to the agents
that need it (the adapter raises AgentUnavailable with an install hint).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from baton.agents.base import AgentAdapter, AgentUnavailable
from baton.models import Agent, AgentInterface

# (provider, interface) -> "module:Class"
ADAPTERS: dict[tuple[str, AgentInterface], str] = {
    ("shell", AgentInterface.CLI): "baton.agents.shell:ShellAgent",
    ("scripted", AgentInterface.CLI): "baton.agents.scripted:ScriptedAgent",
    ("anthropic", AgentInterface.CLI): "baton.agents.claude:ClaudeAgent",
    ("openai", AgentInterface.CLI): "baton.agents.codex:CodexAgent",
    ("github", AgentInterface.CLI): "baton.agents.copilot:CopilotAgent",
    ("google", AgentInterface.CLI): "baton.agents.gemini:GeminiAgent",
    ("anthropic", AgentInterface.API): "baton.agents.anthropic_api:AnthropicApiAgent",
    ("openai", AgentInterface.API): "baton.agents.openai_api:OpenAIApiAgent",
    ("github", AgentInterface.API): "baton.agents.openai_api:OpenAIApiAgent",
    ("openai-compatible", AgentInterface.API): "baton.agents.openai_api:OpenAIApiAgent",
    ("openai-compatible", AgentInterface.CLI): "baton.agents.codex:CodexAgent",
    ("anthropic", AgentInterface.ACP): "baton.agents.acp:AcpAgent",
    ("openai", AgentInterface.ACP): "baton.agents.acp:AcpAgent",
    ("github", AgentInterface.ACP): "baton.agents.acp:AcpAgent",
    ("google", AgentInterface.ACP): "baton.agents.acp:AcpAgent",
    ("acp", AgentInterface.ACP): "baton.agents.acp:AcpAgent",
    ("replay", AgentInterface.CLI): "baton.agents.replay:ReplayAgent",
}

AdapterFactory = Callable[[Agent], AgentAdapter]


def create_adapter(agent: Agent, overrides: dict[str, AdapterFactory] | None = None) -> AgentAdapter:
    """Build the adapter for ``agent``; ``overrides`` maps agent ids to custom factories."""
    if overrides and agent.id in overrides:
        return overrides[agent.id](agent)
    target = ADAPTERS.get((agent.provider, agent.interface))
    if target is None:
        raise AgentUnavailable(
            f"agent {agent.id!r}: no adapter for provider {agent.provider!r} with interface "
            f"{agent.interface.value!r}",
            agent_id=agent.id,
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise AgentUnavailable(
            f"agent {agent.id!r}: adapter {module_name} cannot be loaded ({exc})", agent_id=agent.id
        ) from None
    cls = getattr(module, class_name)
    adapter: AgentAdapter = cls(agent)
    return adapter
