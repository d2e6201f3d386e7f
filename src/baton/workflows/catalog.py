"""Built-in workflows: the YAML files beside this module, bound to the configured agents.

A built-in workflow is written like a project workflow, with four additions that are
resolved here, before the result is validated as an ordinary :class:`WorkflowConfig`:

``roles:``
    Named groups of agents, chosen from the *configured* agents when the workflow is
    asked for (never when ``baton.yaml`` is validated)::

        roles:
          reviewers: {capabilities: [code_review], prefer: [claude, codex, copilot, gemini], min: 1, max: 3}
          shell: {providers: [shell]}

    An agent belongs to a role when its provider is in ``providers`` (if given) and it has
    one of ``capabilities`` (if given); ``prefer`` orders the candidates (others follow by
    id); the role takes at most ``max`` of them and needs at least ``min``.

``agent_role: NAME`` on a step (instead of ``agent_id``)
    The step runs on the role's first agent; the others become its
    ``retry_policy.fallback_agents`` (unless the step lists its own).

``fan_out: true`` (with ``agent_role``) and ``shards: {count: N, over: PATH}``
    The step is copied once per agent of the role (id ``review-claude``, output key
    ``review_claude``) and, with ``shards``, once per item ``k`` of the list at ``PATH``
    (id ``review-claude-2``); a shard copy only runs when ``PATH | length > k``. Each copy's
    prompt sees ``agent`` (its agent id), ``shard`` (the item) and ``shard_number``. A
    dependency on the original id means "all its copies"; a template that mentions
    ``expanded`` gets ``expanded = {"review": ["review_claude_1", ...]}`` (output keys) and
    ``expanded_agents = {"review_claude_1": "claude", ...}``.

``@prompts/NAME`` and ``@schema/NAME``
    A prompt template read from ``NAME`` beside this module, and an ``output_schema`` from
    :data:`SCHEMAS`. A shell step's template also sees ``python``: the interpreter running
    Baton, so that steps can call ``{{ python }} -m baton.workflows.merge``.

A project overrides a built-in by defining a workflow with the same id (``baton.yaml``
``workflows:`` or ``.baton/workflows/ID.yaml``); the override names its agents directly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from baton.errors import BatonError
from baton.models import AgentConfig, Workflow, WorkflowConfig
from baton.wording import counted
from baton.workflows.schemas import SCHEMAS

BUILTIN_DIR = Path(__file__).resolve().parent
_PROMPT = "@prompts/"
_SCHEMA = "@schema/"
_STEP_EXTRAS = ("agent_role", "fan_out", "shards")


class BuiltinUnavailable(BatonError):
    """A built-in workflow cannot run with the configured agents (exit 2)."""

    cli_exit_code = 2


class BuiltinDefinitionError(BatonError):
    """A built-in workflow file is malformed (a bug in Baton, caught by its tests)."""


class RoleSpec(BaseModel):
    """Which configured agents may play a role of a built-in workflow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    capabilities: list[str] = Field(default_factory=list)
    providers: list[str] = Field(default_factory=list)
    prefer: list[str] = Field(default_factory=list)
    min: int = Field(default=1, ge=0)
    max: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> RoleSpec:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self

    def candidates(self, agents: Mapping[str, AgentConfig]) -> list[str]:
        """The agents that may play this role, best first, at most ``max``."""
        fit = [
            aid
            for aid, cfg in agents.items()
            if (not self.providers or cfg.provider in self.providers)
            and (not self.capabilities or set(self.capabilities) & set(cfg.capabilities))
        ]
        ranked = [a for a in self.prefer if a in fit] + sorted(a for a in fit if a not in self.prefer)
        return ranked[: self.max]

    def needs(self) -> str:
        """What an agent needs to play this role, in words."""
        parts = []
        if self.providers:
            parts.append(f"provider {' or '.join(self.providers)}")
        if self.capabilities:
            parts.append(f"capability {' or '.join(self.capabilities)}")
        return " with ".join(parts) or "any agent"


class ShardSpec(BaseModel):
    """``shards:`` of a fanned-out step: one copy per item of a list output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=1, le=20)
    over: str


class BuiltinWorkflow(BaseModel):
    """A built-in workflow file as written: roles plus a workflow with role references."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    body: dict[str, Any]

    def assign(self, agents: Mapping[str, AgentConfig]) -> dict[str, list[str]]:
        """Role → agent ids; raises :class:`BuiltinUnavailable` when a role is short of agents."""
        assigned: dict[str, list[str]] = {}
        for name, role in self.roles.items():
            chosen = role.candidates(agents)
            if len(chosen) < role.min:
                raise BuiltinUnavailable(_shortage(self.id, name, role, len(chosen), agents))
            assigned[name] = chosen
        return assigned

    def instantiate(self, agents: Mapping[str, AgentConfig]) -> WorkflowConfig:
        """The workflow with its roles bound to ``agents``, validated."""
        data = expand(self.body, self.assign(agents))
        try:
            return WorkflowConfig.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BuiltinDefinitionError(f"built-in workflow {self.id!r}: {where}: {first['msg']}") from None


def _shortage(
    workflow_id: str, name: str, role: RoleSpec, found: int, agents: Mapping[str, AgentConfig]
) -> str:
    want = counted(role.min, 'agent')
    have = ", ".join(agents) or "none"
    hint = (
        "add one with `baton agents add` (or `sh: {provider: shell, model: bash, capabilities: [command]}` "
        "under agents)"
        if "shell" in role.providers
        else "add one with `baton agents add`, or give an agent that capability"
    )
    return (
        f"built-in workflow {workflow_id!r} needs {want} for its {name!r} role ({role.needs()}), "
        f"found {found} among the configured agents ({have}); {hint}"
    )


# -- reading -----------------------------------------------------------------------------------------
def builtin_ids() -> list[str]:
    """The ids of the built-in workflows (their file names)."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


@lru_cache(maxsize=32)
def load_builtin(workflow_id: str) -> BuiltinWorkflow | None:
    """The built-in workflow ``workflow_id`` as written, or None if there is none."""
    path = BUILTIN_DIR / f"{workflow_id}.yaml"
    if workflow_id not in builtin_ids() or not path.is_file():
        return None
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise BuiltinDefinitionError(f"built-in workflow {path.name}: not a mapping")
    raw = dict(raw)
    roles = raw.pop("roles", {}) or {}
    try:
        return BuiltinWorkflow(id=workflow_id, roles=roles, body=_includes(raw, workflow_id))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BuiltinDefinitionError(f"built-in workflow {path.name}: {where}: {first['msg']}") from None


def _includes(body: dict[str, Any], workflow_id: str) -> dict[str, Any]:
    steps = []
    for step in body.get("steps") or []:
        step = dict(step)
        template = step.get("prompt_template")
        if isinstance(template, str) and template.startswith(_PROMPT):
            name = template[len(_PROMPT) :].strip()
            target = (BUILTIN_DIR / name).resolve()
            if target.parent != BUILTIN_DIR or not target.is_file():
                raise BuiltinDefinitionError(f"built-in workflow {workflow_id!r}: no prompt file {name!r}")
            step["prompt_template"] = target.read_text(encoding="utf-8")
        schema = step.get("output_schema")
        if isinstance(schema, str) and schema.startswith(_SCHEMA):
            name = schema[len(_SCHEMA) :]
            if name not in SCHEMAS:
                raise BuiltinDefinitionError(f"built-in workflow {workflow_id!r}: no schema {name!r}")
            step["output_schema"] = SCHEMAS[name]
        steps.append(step)
    return {**body, "steps": steps}


# -- expansion ---------------------------------------------------------------------------------------
def _suffix(agent_id: str) -> str:
    return agent_id.replace("-", "_")


def _key(step: dict[str, Any]) -> str:
    return str(step.get("output_key") or str(step["id"]).replace("-", "_"))


def _preamble(values: dict[str, Any]) -> str:
    return "".join(f"{{% set {name} = {json.dumps(value)} %}}" for name, value in values.items())


def expand(body: dict[str, Any], roles: Mapping[str, list[str]]) -> dict[str, Any]:
    """Bind ``agent_role`` steps to agents and copy ``fan_out`` steps (see the module doc)."""
    copies: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    agent_of: dict[str, str] = {}
    expanded_steps: list[dict[str, Any]] = []
    for raw in body.get("steps") or []:
        step = {k: v for k, v in raw.items() if k not in _STEP_EXTRAS}
        role = raw.get("agent_role")
        if role is not None:
            if role not in roles:
                raise BuiltinDefinitionError(f"step {raw.get('id')!r}: unknown role {role!r}")
            agents = roles[role]
        if raw.get("fan_out"):
            if role is None:
                raise BuiltinDefinitionError(f"step {raw.get('id')!r}: fan_out needs agent_role")
            made = list(_fan_out(step, agents, raw.get("shards")))
            copies[str(raw["id"])] = [s["id"] for s in made]
            keys[str(raw["id"])] = [_key(s) for s in made]
            agent_of.update({_key(s): s["agent_id"] for s in made})
            expanded_steps.extend(made)
            continue
        if role is not None:
            step["agent_id"] = agents[0]
            policy = dict(step.get("retry_policy") or {})
            if "fallback_agents" not in policy and len(agents) > 1:
                policy["fallback_agents"] = agents[1:]
                step["retry_policy"] = policy
        expanded_steps.append(step)
    out_steps = []
    for step in expanded_steps:
        deps = step.get("dependencies")
        if deps is not None:
            step["dependencies"] = [d for dep in deps for d in copies.get(dep, [dep])]
        template = step.get("prompt_template")
        if isinstance(template, str) and "expanded" in template:
            step["prompt_template"] = _preamble({"expanded": keys, "expanded_agents": agent_of}) + template
        out_steps.append(step)
    return {**body, "steps": out_steps}


def _fan_out(step: dict[str, Any], agents: list[str], shards: Any) -> list[dict[str, Any]]:
    spec = ShardSpec.model_validate(shards) if shards is not None else None
    made: list[dict[str, Any]] = []
    for agent in agents:
        for k in range(spec.count if spec else 1):
            copy = dict(step)
            suffix = f"-{agent}" + (f"-{k + 1}" if spec else "")
            copy["id"] = f"{step['id']}{suffix}"
            copy["output_key"] = f"{_key(step)}{_suffix(suffix)}".replace("-", "_")
            copy["agent_id"] = agent
            values: dict[str, Any] = {"agent": agent}
            template = str(step.get("prompt_template", ""))
            if spec is not None:
                values["shard_number"] = k + 1
                guard = f"({spec.over} | length > {k})"
                copy["condition"] = f"{guard} and ({step['condition']})" if step.get("condition") else guard
                copy["prompt_template"] = (
                    _preamble(values) + f"{{% set shard = {spec.over}[{k}] %}}" + template
                )
            else:
                copy["prompt_template"] = _preamble(values) + template
            made.append(copy)
    return made


# -- binding -----------------------------------------------------------------------------------------
def python_preamble(step: dict[str, Any]) -> dict[str, Any]:
    """A shell step whose template mentions ``python`` gets the interpreter running Baton."""
    template = step.get("prompt_template")
    if isinstance(template, str) and "python" in template:
        return {**step, "prompt_template": _preamble({"python": sys.executable}) + template}
    return step


def builtin_workflow(
    workflow_id: str, agents: Mapping[str, AgentConfig], *, shell_providers: tuple[str, ...] = ("shell",)
) -> Workflow | None:
    """The built-in workflow ``workflow_id`` bound to ``agents``; None if there is no such built-in.

    Raises :class:`BuiltinUnavailable` (one line naming the missing role) when the
    configured agents cannot fill its roles.
    """
    builtin = load_builtin(workflow_id)
    if builtin is None:
        return None
    cfg = builtin.instantiate(agents)
    steps = [
        python_preamble(s.model_dump(exclude_unset=True))
        if agents.get(s.agent_id) is not None and agents[s.agent_id].provider in shell_providers
        else s.model_dump(exclude_unset=True)
        for s in cfg.steps
    ]
    data = cfg.model_dump(exclude_unset=True)
    data["steps"] = steps
    return Workflow.from_config(workflow_id, WorkflowConfig.model_validate(data))


def builtin_needs(workflow_id: str, agents: Mapping[str, AgentConfig]) -> list[str]:
    """What the configured agents lack to run a built-in, one phrase per short role
    (empty when it can run)."""
    builtin = load_builtin(workflow_id)
    if builtin is None:
        return []
    needs = []
    for name, role in builtin.roles.items():
        found = len(role.candidates(agents))
        if found < role.min:
            needs.append(f"{counted(role.min - found, 'more agent')} "
                         f"({role.needs()}) for {name}")
    return needs


def available_builtins(
    agents: Mapping[str, AgentConfig], exclude: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Ids of the built-ins the configured agents can run (minus ``exclude``, the overridden ones)."""
    ids = []
    for wid in builtin_ids():
        if wid in exclude:
            continue
        try:
            builtin_workflow(wid, agents)
        except BuiltinUnavailable:
            continue
        ids.append(wid)
    return ids


__all__ = [
    "BUILTIN_DIR",
    "BuiltinDefinitionError",
    "BuiltinUnavailable",
    "BuiltinWorkflow",
    "RoleSpec",
    "available_builtins",
    "builtin_ids",
    "builtin_needs",
    "builtin_workflow",
    "expand",
    "load_builtin",
]
