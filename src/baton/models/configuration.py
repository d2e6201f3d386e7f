"""Configuration: the whole of ``baton.yaml`` after layering, as the seed describes it."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from baton.models.agent import ID_PATTERN, AgentConfig
from baton.models.mcp import McpServeConfig, McpServerConfig
from baton.models.values import SYSTEM_DIRS, inside, one_line, system_dir
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


class DailyQuota(BaseModel):
    """Spending allowed per UTC day for one agent or one workflow, over all executions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cost_usd_per_day: float | None = Field(default=None, gt=0)
    max_tokens_per_day: int | None = Field(default=None, gt=0)


class QuotaConfig(BaseModel):
    """Daily quotas by agent id and by workflow id; the key ``"*"`` applies to each one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: dict[str, DailyQuota] = Field(default_factory=dict)
    workflows: dict[str, DailyQuota] = Field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.agents or self.workflows)


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
    quotas: QuotaConfig = Field(default_factory=QuotaConfig)
    worktrees: bool = False
    # refuse to run (CLI, API, workers) a configuration edited since `baton config apply`
    require_applied_config: bool = False

    @field_validator("artifacts_dir")
    @classmethod
    def _artifacts_not_system(cls, value: str, info: ValidationInfo) -> str:
        path = os.path.expanduser(value)
        root = (info.context or {}).get("root") if isinstance(info.context, dict) else None
        if root is not None and inside(path, str(root)):
            return value
        if os.path.isabs(path) and (system := system_dir(path)) is not None:
            raise ValueError(
                f"{value!r} is in the system directory {system}; artifacts go inside the project "
                "(the default .baton/artifacts, or any path inside it) or in an absolute directory "
                "you can write outside the system's own (" + ", ".join(SYSTEM_DIRS) + "), "
                "e.g. /srv/baton/artifacts"
            )
        return value

    def artifacts_path(self, root: Path) -> Path:
        """Where executions keep their artifacts: ``artifacts_dir`` resolved against ``root``."""
        configured = Path(self.artifacts_dir).expanduser()
        return configured if configured.is_absolute() else root / configured


class TracingConfig(BaseModel):
    """OpenTelemetry tracing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    exporter: Literal["console", "file", "otlp-http", "otlp-grpc"] = "file"
    endpoint: str | None = None
    # sent with every OTLP export (e.g. an Authorization header)
    headers: dict[str, str] = Field(default_factory=dict)
    service_name: str = "baton"
    # fraction of executions traced (the decision is per execution trace)
    sample_ratio: float = Field(default=1.0, ge=0, le=1)


class ObservabilityConfig(BaseModel):
    """Logging, tracing and metrics settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    metrics: bool = False
    redact: list[str] = Field(default_factory=list)
    # with metrics on: always a Prometheus exposition (/metrics); OTLP export in addition
    metrics_exporter: Literal["prometheus", "otlp-http", "otlp-grpc"] = "prometheus"
    metrics_endpoint: str | None = None
    metrics_interval_seconds: float = Field(default=60.0, ge=1, le=3600)


class DeploymentConfig(BaseModel):
    """Where and how Baton runs as a service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["local", "service", "function_compute"] = "local"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=0, le=256)
    # the queue `baton serve`/`baton worker` take executions from, and worker liveness
    queue: str = Field(default="baton", pattern=r"^[a-z][a-z0-9_.-]{0,63}$")
    heartbeat_seconds: float = Field(default=5.0, gt=0, le=300)
    dead_after_seconds: float = Field(default=30.0, gt=0, le=3600)


ApiRole = Literal["viewer", "operator", "admin"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RateLimitConfig(BaseModel):
    """Per-token request rate: a token bucket refilled at ``requests_per_second``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_second: float = Field(default=20.0, gt=0)
    burst: int = Field(default=60, ge=1)


class ApiToken(BaseModel):
    """An API token defined in configuration: its SHA-256 only (``token`` is hashed at load)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    role: ApiRole

    _name_one_line = field_validator("name")(one_line)
    token_sha256: str
    rate_limit: RateLimitConfig | None = None  # default: api.rate_limit

    @model_validator(mode="before")
    @classmethod
    def _hash_plain_token(cls, data: Any) -> Any:
        if isinstance(data, dict) and "token" in data:
            data = dict(data)
            plain = data.pop("token")
            if not isinstance(plain, str) or len(plain) < 16:
                raise ValueError("token must be a string of at least 16 characters (use ${VAR})")
            if data.get("token_sha256"):
                raise ValueError("give token or token_sha256, not both")
            data["token_sha256"] = hashlib.sha256(plain.encode()).hexdigest()
        return data

    @field_validator("token_sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.lower()
        if not _SHA256.match(value):
            raise ValueError("must be a SHA-256 hex digest (64 hex digits)")
        return value


class ApiConfig(BaseModel):
    """The HTTP API (``baton serve``): tokens, request limits, where workspaces live."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: list[ApiToken] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    # client-given workspace_dir must lie under one of these (default: the project root)
    workspace_roots: list[str] = Field(default_factory=list)
    # where `repo` checkouts are made (default: .baton/workspaces under the project)
    checkouts_dir: str = ".baton/workspaces"
    public_metrics: bool = True


Association = Literal["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR"]
TRUSTED_ASSOCIATIONS: tuple[Association, ...] = ("OWNER", "MEMBER", "COLLABORATOR")


class GitHubConfig(BaseModel):
    """Whose text on GitHub may steer a writing workflow (``pr-fix``, ``issue-to-pr``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # GitHub author associations whose text is acted on
    trusted_associations: list[Association] = Field(default_factory=lambda: list(TRUSTED_ASSOCIATIONS))
    # logins trusted whatever their association (bots, outside maintainers)
    trusted_authors: list[str] = Field(default_factory=list)

    def trusts(self, login: str | None, association: str | None) -> bool:
        return (association or "").upper() in self.trusted_associations or (
            bool(login) and str(login).lower() in {a.lower() for a in self.trusted_authors}
        )


class Configuration(BaseModel):
    """The platform configuration: version, global settings, agents and workflows."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: str
    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    workflows: dict[str, WorkflowConfig] = Field(default_factory=dict)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    deployment: DeploymentConfig = Field(default_factory=DeploymentConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    github: GitHubConfig = Field(default_factory=GitHubConfig)
    mcp_servers: dict[str, McpServerConfig] = Field(default_factory=dict)
    mcp_serve: McpServeConfig = Field(default_factory=McpServeConfig)

    @field_validator("version", mode="before")
    @classmethod
    def _semver(cls, value: Any) -> Any:
        if not isinstance(value, str) or not SEMVER.fullmatch(value):
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

    @model_validator(mode="after")
    def _quota_and_mcp_references(self) -> Configuration:
        quotas = self.global_.quotas
        for kind, names, known in (("agents", quotas.agents, self.agents),
                                   ("workflows", quotas.workflows, self.workflows)):
            for name in names:
                if name != "*" and name not in known:
                    raise rule_error(("global", "quotas", kind, name),
                                     f"unknown {kind[:-1]} {name!r} (defined: {', '.join(known) or 'none'})")
        for name, server in self.mcp_servers.items():
            if not _ID.match(name):
                raise rule_error(("mcp_servers", name), f"server name {name!r} must match {ID_PATTERN}")
            for j, agent_id in enumerate(server.agents or []):
                if agent_id not in self.agents:
                    raise rule_error(("mcp_servers", name, "agents", j), f"unknown agent {agent_id!r}")
        for wid, wf in self.workflows.items():
            for i, step in enumerate(wf.steps):
                for j, tool in enumerate(step.required_tools):
                    if problem := self.required_tool_problem(step.agent_id, tool):
                        raise rule_error(("workflows", wid, "steps", i, "required_tools", j), problem)
        return self

    def mcp_servers_for(self, agent_id: str) -> dict[str, McpServerConfig]:
        """The MCP servers agent ``agent_id`` gets."""
        return {name: s for name, s in self.mcp_servers.items() if s.serves(agent_id)}

    def required_tool_problem(self, agent_id: str, tool: str) -> str | None:
        """Why ``tool`` (``tool`` or ``server:tool``) can never be available to the agent, or None."""
        server, sep, _name = tool.partition(":")
        if sep:
            if server not in self.mcp_servers:
                return (f"required tool {tool!r} names MCP server {server!r}, which is not in "
                        f"mcp_servers (defined: {', '.join(self.mcp_servers) or 'none'})")
            if not self.mcp_servers[server].serves(agent_id):
                return (f"required tool {tool!r}: MCP server {server!r} is not given to agent "
                        f"{agent_id!r}; add it to mcp_servers.{server}.agents")
        elif not self.mcp_servers_for(agent_id):
            return f"required tool {tool!r}: agent {agent_id!r} has no MCP servers (see mcp_servers)"
        return None
