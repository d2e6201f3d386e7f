"""The seed's entities as pydantic v2 models, plus the two state machines. No I/O here."""

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
