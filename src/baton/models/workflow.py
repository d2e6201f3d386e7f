"""Workflow, WorkflowStep and RetryPolicy, with the seed's validation rules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from baton.models.agent import ID_PATTERN
from baton.models.enums import WorkflowType
from baton.models.errors import ParameterError
from baton.models.permissions import Permissions
from baton.models.templating import expression_error, template_error
from baton.models.values import MAX_NESTING, one_line, too_deep

RetryClass = Literal["timeout", "rate_limited", "agent_error", "invalid_output"]
_ALL_RETRY_CLASSES: tuple[RetryClass, ...] = ("timeout", "rate_limited", "agent_error", "invalid_output")
_STEP_ID = re.compile(ID_PATTERN)
_OUTPUT_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOOL = re.compile(r"^([a-z][a-z0-9_-]*:)?[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}$")
# Validation context key: with a true value, the checks that parse text (templates,
# conditions, output schemas, the steps templates name; not langgraph routes) are left for later; see
# baton.config.loader.LoadedConfig.check_workflow.
DEFER_TEXT_CHECKS = "defer_text_checks"


def _deferred(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get(DEFER_TEXT_CHECKS))


def rule_error(path: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """A validation error located at ``path`` below the model that raises it.

    Pydantic reports model-level errors at the model's own location; the config loader
    appends ``ctx['path']`` so the user sees the exact field (``steps[2].dependencies``).
    """
    return PydanticCustomError("baton_rule", "{message}", {"message": message, "path": list(path)})


def _shallow(value: Any) -> Any:
    """Refuse free-form values nested deeper than MAX_NESTING levels."""
    if (deep := too_deep(value)) is not None:
        raise rule_error(deep, f"nested more than {MAX_NESTING} levels deep")
    return value


def _now() -> datetime:
    return datetime.now(UTC)


class RetryPolicy(BaseModel):
    """How a failed step attempt is retried, and which agents stand in when it keeps failing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=1, ge=1, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0, le=3600)
    backoff_multiplier: float = Field(default=2.0, ge=1, le=10)
    max_backoff_seconds: float = Field(default=60.0, ge=0, le=3600)
    jitter: float = Field(default=0.1, ge=0, le=1)
    retry_on: list[RetryClass] = Field(default_factory=lambda: list(_ALL_RETRY_CLASSES))
    fallback_agents: list[str] = Field(default_factory=list)

    def delay(self, attempt: int, rand: float) -> float:
        """Backoff before attempt ``attempt + 1`` (attempts count from 1); ``rand`` in [0, 1)."""
        base = self.backoff_seconds * self.backoff_multiplier ** (attempt - 1)
        capped = min(base, self.max_backoff_seconds)
        return max(0.0, capped * (1 + self.jitter * (2 * rand - 1)))


class Route(BaseModel):
    """One route of a langgraph step's ``next``: go to ``goto`` when ``when`` is true."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: str | None = None
    goto: str

    @field_validator("when")
    @classmethod
    def _when_parses(cls, value: str | None) -> str | None:
        # never deferred: the graph rules that run in every load read the routes
        if value is not None and (err := expression_error(value)):
            raise ValueError(f"expression does not parse: {err}")
        return value


class Approval(BaseModel):
    """Pause before a step until a human approves it (langgraph workflows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message: str = "Approve this step?"


class WorkflowStep(BaseModel):
    """A single unit of work: a prompt rendered and handed to one agent.

    Beyond the seed's fields: ``output_schema`` (JSON Schema the agent's answer must
    satisfy), ``allow_failure`` (a failed step does not fail the workflow),
    ``writes_workspace`` (the agent may edit files; otherwise it runs read-only), and for
    langgraph workflows ``next``, ``max_iterations`` and ``approval``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str | None = None
    agent_id: str
    prompt_template: str
    input_mappings: dict[str, str] = Field(default_factory=dict)
    output_key: str | None = None
    condition: str | None = None
    timeout_seconds: int = 300
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    dependencies: list[str] | None = None
    output_schema: dict[str, Any] | None = None
    allow_failure: bool = False
    writes_workspace: bool = False
    # What an ACP agent may do in this step (over the agent's own block; see models.permissions).
    permissions: Permissions | None = None
    next: str | list[Route] | None = None
    max_iterations: int = Field(default=5, ge=1, le=1000)
    approval: Approval | None = None
    # MCP tools the step's agent must have: "tool" (any of the agent's MCP servers) or
    # "server:tool"; checked before the workflow runs (baton.integrations.mcp).
    required_tools: list[str] = Field(default_factory=list)

    _name_one_line = field_validator("name")(one_line)
    _schema_depth = field_validator("output_schema")(_shallow)

    @field_validator("id")
    @classmethod
    def _id_pattern(cls, value: str) -> str:
        if not _STEP_ID.match(value):
            raise ValueError(f"step id {value!r} must match {ID_PATTERN}")
        return value

    @field_validator("output_key")
    @classmethod
    def _output_key(cls, value: str | None) -> str | None:
        if value is not None and not _OUTPUT_KEY.match(value):
            raise ValueError(f"output_key {value!r} must be a Python-style identifier")
        return value

    @field_validator("timeout_seconds")
    @classmethod
    def _timeout_range(cls, value: int) -> int:
        if not 10 <= value <= 3600:
            raise ValueError("must be between 10 and 3600")
        return value

    @field_validator("prompt_template")
    @classmethod
    def _template_compiles(cls, value: str, info: ValidationInfo) -> str:
        if not _deferred(info) and (err := template_error(value)):
            raise ValueError(f"not a valid Jinja2 template: {err}")
        return value

    @field_validator("condition")
    @classmethod
    def _condition_parses(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _deferred(info) and (err := expression_error(value)):
            raise ValueError(f"condition does not parse: {err}")
        return value

    @field_validator("input_mappings")
    @classmethod
    def _mappings(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not _OUTPUT_KEY.match(name):
                raise ValueError(f"input name {name!r} must be a Python-style identifier")
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$", path):
                raise ValueError(f"input {name!r}: {path!r} is not a dotted path like outputs.plan.text")
        return value

    @field_validator("required_tools")
    @classmethod
    def _tool_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _TOOL.match(name):
                raise ValueError(f"required tool {name!r} must be \"tool\" or \"server:tool\"")
        return value

    @field_validator("output_schema")
    @classmethod
    def _schema_valid(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        if value is not None and not _deferred(info) and (problem := _schema_problem(value)):
            raise ValueError(f"not a valid JSON Schema: {problem}")
        return value

    @property
    def key(self) -> str:
        """Where the step's output is stored: ``output_key`` or the step id."""
        return self.output_key or self.id.replace("-", "_")


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class ParameterSpec(BaseModel):
    """One workflow parameter: a small JSON-Schema subset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["string", "integer", "number", "boolean", "array", "object"] = "string"
    description: str | None = None
    default: Any = None
    enum: list[Any] | None = None
    required: bool = False

    _value_depth = field_validator("default", "enum")(_shallow)

    @model_validator(mode="after")
    def _default_fits(self) -> ParameterSpec:
        if self.enum is not None and not self.enum:
            raise rule_error(("enum",), "enum must list at least one value")
        for where, value in ((("default",), self.default),
                             *((("enum", i), v) for i, v in enumerate(self.enum or []))):
            if value is not None and not _JSON_TYPES[self.type](value):
                raise rule_error(where, f"{value!r} is not of type {self.type}")
        if self.default is not None and self.enum is not None and self.default not in self.enum:
            raise rule_error(("default",), f"{self.default!r} is not one of the enum values {self.enum!r}")
        return self


class WorkflowConfig(BaseModel):
    """A workflow as written under ``workflows:`` (its key is the id)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = None
    description: str = ""
    type: WorkflowType = WorkflowType.SIMPLE
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    steps: list[WorkflowStep] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    graph: str | None = None

    _name_one_line = field_validator("name")(one_line)
    _free_form_depth = field_validator("config", "metadata")(_shallow)

    @model_validator(mode="after")
    def _structure(self, info: ValidationInfo) -> WorkflowConfig:
        if not self.steps and not self.graph:
            raise rule_error(("steps",), "a workflow needs at least one step")
        for name in self.parameters:
            if not _OUTPUT_KEY.match(name):
                raise rule_error(("parameters", name), "parameter names must be identifiers")
        seen: dict[str, int] = {}
        keys: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if step.id in seen:
                raise rule_error(("steps", i, "id"),
                                 f"duplicate step id {step.id!r} (also steps[{seen[step.id]}])")
            seen[step.id] = i
            if step.key in keys:
                raise rule_error(
                    ("steps", i, "output_key"),
                    f"output_key {step.key!r} is already used by steps[{keys[step.key]}]",
                )
            keys[step.key] = i
        for i, step in enumerate(self.steps):
            for dep in step.dependencies or []:
                if dep not in seen:
                    raise rule_error(("steps", i, "dependencies"), f"unknown step {dep!r}")
                if dep == step.id:
                    raise rule_error(("steps", i, "dependencies"), "a step cannot depend on itself")
        if self.graph is None and not _deferred(info):
            from baton.models.references import reference_errors

            for path, message in reference_errors(self.steps)[:1]:
                raise rule_error(("steps", *path), message)
        if self.type is WorkflowType.SIMPLE:
            cycle = find_cycle(self.steps)
            if cycle:
                idx = seen[cycle[0]]
                raise rule_error(
                    ("steps", idx, "dependencies"),
                    "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
                )
            for i, step in enumerate(self.steps):
                if step.next is not None or step.approval is not None:
                    field = "next" if step.next is not None else "approval"
                    raise rule_error(("steps", i, field), f"{field!r} needs type: langgraph")
        if self.type is WorkflowType.LANGGRAPH or self.graph is not None:
            # pure rules (routes, reachability, loops); imported here to keep models import-light
            from baton.models.graph_rules import graph_rule_errors

            for path, message in graph_rule_errors(self)[:1]:
                raise rule_error(path, message)
        return self

    def parameter_schema(self) -> dict[str, Any]:
        """The parameters as a JSON Schema object."""
        props: dict[str, Any] = {}
        required: list[str] = []
        for name, spec in self.parameters.items():
            prop: dict[str, Any] = {"type": spec.type}
            if spec.enum is not None:
                prop["enum"] = spec.enum
            if spec.description:
                prop["description"] = spec.description
            props[name] = prop
            if spec.required and spec.default is None:
                required.append(name)
        return {"type": "object", "properties": props, "required": required,
                "additionalProperties": False}


def _schema_problem(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` is not a valid JSON Schema, or None (cached by canonical JSON)."""
    try:
        canonical = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):
        return _check_schema(schema)
    return _checked_schema(canonical)


@lru_cache(maxsize=1024)
def _checked_schema(canonical: str) -> str | None:
    return _check_schema(json.loads(canonical))


def _check_schema(schema: dict[str, Any]) -> str | None:
    import jsonschema  # not at module import: reading executions never needs it

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None


def resolved_dependencies(steps: list[WorkflowStep]) -> dict[str, list[str]]:
    """Each step's dependencies: explicit ones, else the step listed before it."""
    deps: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        if step.dependencies is not None:
            deps[step.id] = list(step.dependencies)
        else:
            deps[step.id] = [steps[i - 1].id] if i > 0 else []
    return deps


def find_cycle(steps: list[WorkflowStep]) -> list[str] | None:
    """A dependency cycle among ``steps`` as a list of step ids, or None."""
    deps = resolved_dependencies(steps)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in deps.get(node, []):
            if state.get(dep) == 1:
                return stack[stack.index(dep):]
            if state.get(dep) is None and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for step in steps:
        if state.get(step.id) is None and (found := visit(step.id)):
            return found
    return None


_COERCE: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "number": float,
    "boolean": lambda s: {"true": True, "1": True, "yes": True, "false": False, "0": False,
                          "no": False}[s.lower()],
}


class Workflow(WorkflowConfig):
    """A registered workflow: its definition plus identity and timestamps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)

    @classmethod
    def from_config(cls, workflow_id: str, cfg: WorkflowConfig) -> Workflow:
        data = cfg.model_dump(exclude_unset=False)
        data["name"] = cfg.name or workflow_id
        return cls(id=workflow_id, **data)

    def step(self, step_id: str) -> WorkflowStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def bind_parameters(self, given: dict[str, Any]) -> dict[str, Any]:
        """Apply defaults, coerce ``-p key=value`` strings, and validate against the schema."""
        bound: dict[str, Any] = {}
        for name, value in given.items():
            spec = self.parameters.get(name)
            if spec is None:
                known = ", ".join(self.parameters) or "none"
                raise ParameterError(self.id, name, f"unknown parameter (known: {known})")
            if isinstance(value, str) and spec.type in _COERCE:
                try:
                    value = _COERCE[spec.type](value)
                except (ValueError, KeyError):
                    raise ParameterError(self.id, name, f"{value!r} is not a valid {spec.type}") from None
            bound[name] = value
        for name, spec in self.parameters.items():
            if name not in bound and spec.default is not None:
                bound[name] = spec.default
        import jsonschema

        validator = jsonschema.Draft202012Validator(self.parameter_schema())
        for error in validator.iter_errors(bound):
            where = str(error.path[0]) if error.path else (
                error.message.split("'")[1] if "'" in error.message else "parameters")
            raise ParameterError(self.id, where, error.message)
        for name in self.parameters:
            bound.setdefault(name, None)
        return bound
