"""Configuration: the whole of ``baton.yaml`` after layering, as the seed describes it."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from baton.models.agent import ID_PATTERN, AgentConfig
from baton.models.workflow import WorkflowConfig, rule_error

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_ID = re.compile(ID_PATTERN)


class CacheConfig(BaseModel):
    """The prompt cache: identical prompts to the same agent reuse the stored answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    ttl_seconds: int = Field(default=7 * 24 * 3600, ge=0)


class BudgetConfig(BaseModel):
    """Spending limits for one execution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cost_usd: float | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)


class GlobalConfig(BaseModel):
    """Settings that apply to every workflow (the seed's ``global``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workspace_dir: str = "."
    database_url: str | None = None
    artifacts_dir: str = ".baton/artifacts"
    max_concurrent_executions: int = Field(default=10, ge=1, le=10_000)
    default_timeout_seconds: int = Field(default=300, ge=10, le=3600)
    max_log_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=10 * 1024 * 1024)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    worktrees: bool = False


class TracingConfig(BaseModel):
    """OpenTelemetry tracing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    exporter: Literal["console", "file", "otlp-http", "otlp-grpc"] = "file"
    endpoint: str | None = None


class ObservabilityConfig(BaseModel):
    """Logging, tracing and metrics settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    metrics: bool = False
    redact: list[str] = Field(default_factory=list)


class DeploymentConfig(BaseModel):
    """Where and how Baton runs as a service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["local", "service", "function_compute"] = "local"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=0, le=256)


class Configuration(BaseModel):
    """The platform configuration: version, global settings, agents and workflows."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: str
    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    workflows: dict[str, WorkflowConfig] = Field(default_factory=dict)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    deployment: DeploymentConfig = Field(default_factory=DeploymentConfig)

    @field_validator("version", mode="before")
    @classmethod
    def _semver(cls, value: Any) -> Any:
        if not isinstance(value, str) or not SEMVER.match(value):
            raise ValueError(f"{value!r} is not a semantic version like \"1.0.0\"")
        return value

    @model_validator(mode="after")
    def _references(self) -> Configuration:
        for name in (*self.agents, *self.workflows):
            if not _ID.match(name):
                kind = "agents" if name in self.agents else "workflows"
                raise rule_error((kind, name), f"id {name!r} must match {ID_PATTERN}")
        for wid, wf in self.workflows.items():
            for i, step in enumerate(wf.steps):
                if step.agent_id not in self.agents:
                    raise rule_error(
                        ("workflows", wid, "steps", i, "agent_id"),
                        f"unknown agent {step.agent_id!r} (defined: {', '.join(self.agents) or 'none'})",
                    )
                for j, fb in enumerate(step.retry_policy.fallback_agents):
                    if fb not in self.agents:
                        raise rule_error(
                            ("workflows", wid, "steps", i, "retry_policy", "fallback_agents", j),
                            f"unknown agent {fb!r}",
                        )
        return self
