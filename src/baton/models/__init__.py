"""The seed's entities as pydantic v2 models, plus the two state machines. No I/O here.

The names below load on first use, so that reading an execution does not load the
configuration models, Jinja2 or jsonschema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baton.lazy import lazy_names

if TYPE_CHECKING:
    from baton.models.agent import PROVIDER_MODELS, SUPPORTED_PROVIDERS, Agent, AgentConfig
    from baton.models.configuration import (
        BudgetConfig,
        CacheConfig,
        Configuration,
        DeploymentConfig,
        GlobalConfig,
        ObservabilityConfig,
        TracingConfig,
    )
    from baton.models.enums import (
        AgentInterface,
        AgentStatus,
        ExecutionStatus,
        Isolation,
        LogLevel,
        StepStatus,
        Trigger,
        WorkflowType,
    )
    from baton.models.errors import IllegalTransition, ModelError, ParameterError
    from baton.models.execution import ExecutionContext, ExecutionLog, StepRun, new_id, new_trace_id
    from baton.models.permissions import Permissions
    from baton.models.state import agent_transition, execution_transition, resume_transition
    from baton.models.workflow import (
        Approval,
        ParameterSpec,
        RetryPolicy,
        Route,
        Workflow,
        WorkflowConfig,
        WorkflowStep,
        resolved_dependencies,
    )

_WHERE: dict[str, str] = {
    "Agent": "baton.models.agent",
    "AgentConfig": "baton.models.agent",
    "AgentInterface": "baton.models.enums",
    "AgentStatus": "baton.models.enums",
    "Approval": "baton.models.workflow",
    "BudgetConfig": "baton.models.configuration",
    "CacheConfig": "baton.models.configuration",
    "Configuration": "baton.models.configuration",
    "DeploymentConfig": "baton.models.configuration",
    "ExecutionContext": "baton.models.execution",
    "ExecutionLog": "baton.models.execution",
    "ExecutionStatus": "baton.models.enums",
    "GlobalConfig": "baton.models.configuration",
    "IllegalTransition": "baton.models.errors",
    "Isolation": "baton.models.enums",
    "LogLevel": "baton.models.enums",
    "ModelError": "baton.models.errors",
    "ObservabilityConfig": "baton.models.configuration",
    "PROVIDER_MODELS": "baton.models.agent",
    "ParameterError": "baton.models.errors",
    "ParameterSpec": "baton.models.workflow",
    "Permissions": "baton.models.permissions",
    "RetryPolicy": "baton.models.workflow",
    "Route": "baton.models.workflow",
    "SUPPORTED_PROVIDERS": "baton.models.agent",
    "StepRun": "baton.models.execution",
    "StepStatus": "baton.models.enums",
    "Trigger": "baton.models.enums",
    "TracingConfig": "baton.models.configuration",
    "Workflow": "baton.models.workflow",
    "WorkflowConfig": "baton.models.workflow",
    "WorkflowStep": "baton.models.workflow",
    "WorkflowType": "baton.models.enums",
    "agent_transition": "baton.models.state",
    "execution_transition": "baton.models.state",
    "new_id": "baton.models.execution",
    "new_trace_id": "baton.models.execution",
    "resolved_dependencies": "baton.models.workflow",
    "resume_transition": "baton.models.state",
}

__all__ = [
    "PROVIDER_MODELS",
    "SUPPORTED_PROVIDERS",
    "Agent",
    "AgentConfig",
    "AgentInterface",
    "AgentStatus",
    "Approval",
    "BudgetConfig",
    "CacheConfig",
    "Configuration",
    "DeploymentConfig",
    "ExecutionContext",
    "ExecutionLog",
    "ExecutionStatus",
    "GlobalConfig",
    "IllegalTransition",
    "Isolation",
    "LogLevel",
    "ModelError",
    "ObservabilityConfig",
    "ParameterError",
    "ParameterSpec",
    "Permissions",
    "RetryPolicy",
    "Route",
    "StepRun",
    "StepStatus",
    "TracingConfig",
    "Trigger",
    "Workflow",
    "WorkflowConfig",
    "WorkflowStep",
    "WorkflowType",
    "agent_transition",
    "execution_transition",
    "new_id",
    "new_trace_id",
    "resolved_dependencies",
    "resume_transition",
]


__getattr__ = lazy_names(__name__, _WHERE)
