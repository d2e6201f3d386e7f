"""Can an agent be called? A quick availability probe, the full check, and the workflow preflight.

- :func:`unavailable_reason` answers without running anything: a CLI agent's binary is
  on PATH, an API agent's SDK is importable, a container agent's Docker SDK and image
  are configured.
- :func:`check_adapter` runs the adapter's own ``check()`` (binary and version,
  credentials, and with ``live=True`` one tiny real call) and never raises.
- :func:`preflight` is called by the engine before a workflow starts: a step whose agent
  and every one of its ``fallback_agents`` are unavailable fails the run at once, with a
  message naming the configured agents that have the capabilities it needs.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping

from baton.agents.base import AgentAdapter, AgentError, AgentUnavailable, HealthReport
from baton.models import Agent, AgentInterface, Isolation, Workflow
from baton.observability.redact import redactor

AdapterFor = Callable[[Agent], AgentAdapter]


# Providers whose adapters can run their program in a container.
CONTAINER_PROVIDERS = frozenset({"anthropic", "openai", "github", "google", "openai-compatible"})


def uses_container(agent: Agent) -> bool:
    return agent.interface is AgentInterface.CLI and agent.isolation is Isolation.DOCKER


def unavailable_reason(adapter: AgentAdapter) -> str | None:
    """Why ``adapter`` cannot be called at all, or None; looks up PATH and imports only."""
    agent = adapter.agent
    if uses_container(agent):
        if agent.provider not in CONTAINER_PROVIDERS:
            return (
                f"agent {agent.id!r}: isolation 'docker' is only supported for the claude, codex, "
                "copilot and gemini CLIs; remove it or use isolation: subprocess"
            )
        from baton.workspace.container import container_unavailable_reason

        return container_unavailable_reason(agent)
    probe = getattr(adapter, "unavailable_reason", None)
    if callable(probe):
        reason: str | None = probe()
        return reason
    program = getattr(adapter, "program", None)
    if callable(program):
        try:
            program()
        except AgentUnavailable as exc:
            return str(exc)
        return None
    if isinstance(program, str) and shutil.which(program) is None:
        return f"agent {agent.id!r}: {program!r} was not found on PATH"
    return None


async def check_adapter(adapter: AgentAdapter, live: bool = False) -> HealthReport:
    """The adapter's health check; a failure is reported, never raised."""
    reason = unavailable_reason(adapter)
    if reason is not None:
        return HealthReport(ok=False, detail=reason)
    if uses_container(adapter.agent):
        from baton.workspace.container import check_container

        return await check_container(adapter.agent)
    try:
        return await adapter.check(live)
    except AgentError as exc:
        return HealthReport(ok=False, detail=str(exc))
    except Exception as exc:  # a broken check is a failed check, reported on one line
        detail = redactor().redact_text(" ".join(f"{type(exc).__name__}: {exc}".split()))
        return HealthReport(ok=False, detail=detail)


def alternatives(
    needed: list[str], agents: Mapping[str, Agent], *, exclude: set[str], usable: Callable[[str], bool]
) -> tuple[list[str], bool]:
    """Usable agents with every capability in ``needed`` (True), else with some of them (False)."""
    wanted = set(needed)
    candidates = [a for a in sorted(agents) if a not in exclude and usable(a)]
    full = [a for a in candidates if wanted <= set(agents[a].capabilities)]
    if full:
        return full, True
    return [a for a in candidates if wanted & set(agents[a].capabilities)], False


def preflight(workflow: Workflow, agents: Mapping[str, Agent], adapter_for: AdapterFor,
              registry: Callable[[str], str | None] | None = None) -> None:
    """Raise :class:`AgentUnavailable` when some step has no callable agent.

    A step is fine when its agent or any of its ``retry_policy.fallback_agents`` can be
    called. The message names the configured, callable agents with the capabilities of
    the step's agent. ``registry`` gives the agent registry's reason not to use an agent
    (ERROR or INACTIVE), if any.
    """
    reasons: dict[str, str | None] = {}

    def reason_of(agent_id: str) -> str | None:
        if agent_id not in reasons:
            agent = agents.get(agent_id)
            if agent is None:
                reasons[agent_id] = f"agent {agent_id!r} is not configured"
            elif registry is not None and (held := registry(agent_id)) is not None:
                reasons[agent_id] = held
            else:
                try:
                    reasons[agent_id] = unavailable_reason(adapter_for(agent))
                except AgentUnavailable as exc:
                    reasons[agent_id] = str(exc)
        return reasons[agent_id]

    for step in workflow.steps:
        chain = [step.agent_id, *step.retry_policy.fallback_agents]
        if any(reason_of(agent_id) is None for agent_id in chain):
            continue
        primary = agents.get(step.agent_id)
        needed = list(primary.capabilities) if primary is not None else []
        found, complete = alternatives(
            needed, agents, exclude=set(chain), usable=lambda a: reason_of(a) is None
        )
        caps = ", ".join(needed) or "none"
        if found:
            which = "with its capabilities" if complete else "with some of its capabilities"
            hint = (
                f"agents {which} ({caps}): {', '.join(found)}; use one as agent_id or list it "
                "in retry_policy.fallback_agents"
            )
        else:
            hint = f"no other configured agent that can be called has its capabilities ({caps})"
        tried = "" if len(chain) == 1 else f" (fallbacks {', '.join(chain[1:])} are unavailable too)"
        raise AgentUnavailable(
            f"workflow {workflow.id!r}, step {step.id!r}: {reason_of(step.agent_id)}{tried}; {hint}",
            agent_id=step.agent_id,
        )
