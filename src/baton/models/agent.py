"""Agent: an AI service (or a shell) Baton hands prompts to."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from baton.models.enums import AgentInterface, AgentStatus, Isolation
from baton.models.permissions import Permissions
from baton.models.values import MAX_NESTING, http_url_problem, one_line, too_deep

ID_PATTERN = r"^[a-z][a-z0-9_-]*$"

# provider -> pattern every model name of that provider matches
PROVIDER_MODELS: dict[str, re.Pattern[str]] = {
    "anthropic": re.compile(r"^(claude-[a-z0-9.-]+|opus|sonnet|haiku)$"),
    "openai": re.compile(r"^(gpt-[a-z0-9.-]+|o[1-9][a-z0-9.-]*|codex-[a-z0-9.-]+|chatgpt-[a-z0-9.-]+)$"),
    "github": re.compile(
        r"^([a-z0-9-]+/[A-Za-z0-9._-]+|gpt-[a-z0-9.-]+|claude-[a-z0-9.-]+|gemini-[a-z0-9.-]+|o[1-9][a-z0-9.-]*)$"
    ),
    "google": re.compile(r"^gemini-[a-z0-9.-]+$"),
    "shell": re.compile(r"^(bash|sh)$"),
    "openai-compatible": re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
    "scripted": re.compile(r"^[a-z0-9][a-z0-9._-]*$"),
    "acp": re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
    "replay": re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
}
SUPPORTED_PROVIDERS = tuple(PROVIDER_MODELS)

MODEL_EXAMPLES: dict[str, str] = {
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-5.5",
    "github": "gpt-5.4 or openai/gpt-4.1",
    "google": "gemini-2.5-pro",
    "shell": "bash or sh",
    "openai-compatible": "any model name your server serves",
    "scripted": "any name, e.g. echo",
    "acp": "the model name the agent is told to use, e.g. qwen3-coder",
    "replay": "any name, e.g. recorded",
}
# providers that have an ACP preset (interface: acp starts their ACP adapter)
ACP_PRESETS = ("anthropic", "openai", "github", "google")

# providers whose API interface needs a credential in `config`
_API_CREDENTIAL_OPTIONAL = {"openai-compatible", "shell", "scripted", "acp", "replay"}


def _rule_error(path: tuple[str | int, ...], message: str) -> PydanticCustomError:
    # Same shape as baton.models.workflow.rule_error (which imports this module).
    return PydanticCustomError("baton_rule", "{message}", {"message": message, "path": list(path)})


# how often a coding CLI may retry a failed request on its own (agents.cli_base reads it)
DEFAULT_CLI_RETRIES = 1
MAX_CLI_RETRIES = 9


def _retries_problem(value: Any) -> str | None:
    text = str(value).strip()
    if isinstance(value, bool) or not (isinstance(value, int) or text.isdigit()) \
            or not 0 <= int(text) <= MAX_CLI_RETRIES:
        return f"must be a whole number from 0 to {MAX_CLI_RETRIES}, got {value!r}"
    return None


def _now() -> datetime:
    return datetime.now(UTC)


class AgentConfig(BaseModel):
    """An agent as written under ``agents:`` in ``baton.yaml`` (its key is the id).

    Beyond the seed's fields: ``interface`` (cli, api or acp), ``isolation`` (subprocess or
    docker, for CLI agents), ``max_concurrency`` (calls in flight at once, 1..1000),
    ``requests_per_minute`` (calls started per minute; more wait in a queue) and
    ``permissions`` (what an ACP agent may do; a step's block wins per field).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    provider: str
    model: str
    capabilities: list[str]
    config: dict[str, Any] = Field(default_factory=dict)
    interface: AgentInterface = AgentInterface.CLI
    isolation: Isolation = Isolation.SUBPROCESS
    max_concurrency: int = Field(default=4, ge=1, le=1000)
    # Calls started per minute at most (a token bucket; further calls queue), None = no limit.
    requests_per_minute: float | None = Field(default=None, gt=0, le=100_000)
    permissions: Permissions | None = None

    _name_one_line = field_validator("name")(one_line)

    @field_validator("config")
    @classmethod
    def _config_values(cls, value: dict[str, Any]) -> dict[str, Any]:
        if (deep := too_deep(value)) is not None:
            raise _rule_error(deep,
                              f"nested more than {MAX_NESTING} levels deep")
        if "base_url" in value and value["base_url"] is not None and (
                problem := http_url_problem(value["base_url"])):
            raise _rule_error(("base_url",), problem)
        if "cli_retries" in value and (problem := _retries_problem(value["cli_retries"])):
            raise _rule_error(("cli_retries",), problem)
        return value

    @field_validator("provider")
    @classmethod
    def _provider_supported(cls, value: str) -> str:
        if value not in PROVIDER_MODELS:
            raise ValueError(
                f"unsupported provider {value!r}; expected one of: {', '.join(SUPPORTED_PROVIDERS)}"
            )
        return value

    @field_validator("capabilities")
    @classmethod
    def _capabilities_non_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one capability, e.g. [code_review]")
        for cap in value:
            if not re.match(ID_PATTERN, cap):
                raise ValueError(f"capability {cap!r} must match {ID_PATTERN}")
        return value

    @model_validator(mode="after")
    def _model_and_credentials(self) -> AgentConfig:
        pattern = PROVIDER_MODELS[self.provider]
        if not pattern.match(self.model):
            raise _rule_error(
                ("model",),
                f"model {self.model!r} is not valid for provider {self.provider!r} "
                f"(expected e.g. {MODEL_EXAMPLES[self.provider]})",
            )
        if self.provider in ("shell", "scripted", "replay") and self.interface is not AgentInterface.CLI:
            raise _rule_error(
                ("interface",), f"provider {self.provider!r} only supports interface 'cli'"
            )
        if self.provider == "acp":
            if self.interface is not AgentInterface.ACP:
                raise _rule_error(("interface",), "provider 'acp' needs interface: acp")
            command = self.config.get("command")
            if not command or not (isinstance(command, str) or (
                    isinstance(command, list) and all(isinstance(c, str) for c in command))):
                raise _rule_error(
                    ("config", "command"),
                    "provider 'acp' needs config.command: the ACP agent's program and arguments, "
                    "e.g. [qwen, --acp]",
                )
        elif self.interface is AgentInterface.ACP and self.provider not in ACP_PRESETS:
            raise _rule_error(
                ("interface",),
                f"provider {self.provider!r} has no ACP preset (use one of {', '.join(ACP_PRESETS)}, "
                "or provider: acp with config.command)",
            )
        missing = self.missing_credentials()
        if missing:
            raise _rule_error(("config", "api_key"), missing)
        return self

    def missing_credentials(self) -> str | None:
        """Why the credentials in ``config`` are insufficient for the interface, or None.

        An API agent needs ``api_key`` (except local ``openai-compatible`` servers). A CLI
        agent may use its program's own login, but one pointed at a ``base_url`` needs the
        ``api_key`` for that endpoint.
        """
        needs_key = (
            self.interface is AgentInterface.API and self.provider not in _API_CREDENTIAL_OPTIONAL
        ) or (self.interface in (AgentInterface.CLI, AgentInterface.ACP)
              and bool(self.config.get("base_url"))
              and self.provider not in _API_CREDENTIAL_OPTIONAL)
        key = self.config.get("api_key")
        if needs_key and (not isinstance(key, str) or not key.strip()):
            why = "an api interface" if self.interface is AgentInterface.API else "a base_url"
            return (
                f"config.api_key is required for provider {self.provider!r} with {why} "
                f"(e.g. api_key: \"${{{_KEY_ENV.get(self.provider, 'API_KEY')}}}\")"
            )
        return None


_KEY_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "github": "GITHUB_TOKEN",
    "google": "GEMINI_API_KEY",
}


class Agent(AgentConfig):
    """An agent registered with Baton: its configuration plus identity and health."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    id: str = Field(pattern=ID_PATTERN)
    status: AgentStatus = AgentStatus.UNREGISTERED
    last_health_check: datetime | None = None
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)

    @model_validator(mode="after")
    def _default_name(self) -> Agent:
        if self.name is None:
            self.name = self.id
        return self

    @classmethod
    def from_config(cls, agent_id: str, cfg: AgentConfig) -> Agent:
        """Build the runtime Agent for the ``agents.<agent_id>`` entry of a configuration."""
        return cls(id=agent_id, **cfg.model_dump())

    def to_config(self) -> AgentConfig:
        return AgentConfig.model_validate(
            self.model_dump(include=set(AgentConfig.model_fields))
        )
