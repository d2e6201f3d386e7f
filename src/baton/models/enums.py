"""Enumerations named by the seed data model (plus StepStatus for step runs)."""

from __future__ import annotations

from enum import StrEnum


class AgentStatus(StrEnum):
    """Operational status of an Agent; transitions live in :mod:`baton.models.state`."""

    UNREGISTERED = "unregistered"
    REGISTERING = "registering"
    ACTIVE = "active"
    INACTIVE = "inactive"
    ERROR = "error"


class WorkflowType(StrEnum):
    """How a workflow is executed: a DAG scheduler or a compiled LangGraph."""

    SIMPLE = "simple"
    LANGGRAPH = "langgraph"


class ExecutionStatus(StrEnum):
    """Status of an ExecutionContext; transitions live in :mod:`baton.models.state`."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


class StepStatus(StrEnum):
    """Status of one step inside one execution."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    WAITING = "waiting"  # paused for a human approval (langgraph workflows)

    @property
    def is_terminal(self) -> bool:
        return self in (
            StepStatus.COMPLETED,
            StepStatus.FAILED,
            StepStatus.SKIPPED,
            StepStatus.CANCELLED,
        )


class LogLevel(StrEnum):
    """Severity of an ExecutionLog row."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    def and_above(self) -> list[str]:
        """The values of this level and of every more severe one."""
        return [lv.value for lv in LogLevel if lv.rank >= self.rank]


_LEVEL_RANK = {
    LogLevel.DEBUG: 10,
    LogLevel.INFO: 20,
    LogLevel.WARNING: 30,
    LogLevel.ERROR: 40,
    LogLevel.CRITICAL: 50,
}


class AgentInterface(StrEnum):
    """How Baton reaches an agent: its command-line program, its model API or the Agent Client
    Protocol (the agent's ACP server on stdio, Baton as the client and permission broker)."""

    CLI = "cli"
    API = "api"
    ACP = "acp"


class Isolation(StrEnum):
    """Where a CLI agent's process runs."""

    SUBPROCESS = "subprocess"
    DOCKER = "docker"


class Trigger(StrEnum):
    """Which front end started an execution."""

    CLI = "cli"  # baton run
    API = "api"  # POST /v1/executions (run by a worker)
    MCP = "mcp"  # the run_workflow tool of baton mcp serve
    ACTION = "action"  # baton github action
    ACP = "acp"  # an editor through baton acp
    DASHBOARD = "dashboard"  # the run form of baton ui / baton serve
    PYTHON = "python"  # Baton.run / Baton.submit from a program

    @property
    def label(self) -> str:
        """How the dashboard and ``baton history`` name it."""
        return _TRIGGER_LABELS[self]


_TRIGGER_LABELS = {
    Trigger.CLI: "CLI", Trigger.API: "API", Trigger.MCP: "MCP", Trigger.ACTION: "Action",
    Trigger.ACP: "ACP", Trigger.DASHBOARD: "Dashboard", Trigger.PYTHON: "Python",
}
