"""The two state machines of the seed, as data: every status change goes through here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from baton.models.enums import AgentStatus, ExecutionStatus
from baton.models.errors import IllegalTransition

S = TypeVar("S", AgentStatus, ExecutionStatus)

A = AgentStatus
AGENT_TRANSITIONS: Mapping[AgentStatus, frozenset[AgentStatus]] = {
    A.UNREGISTERED: frozenset({A.REGISTERING, A.ERROR}),
    A.REGISTERING: frozenset({A.ACTIVE, A.ERROR}),
    A.ACTIVE: frozenset({A.INACTIVE, A.ERROR}),
    A.INACTIVE: frozenset({A.ACTIVE}),
    A.ERROR: frozenset({A.REGISTERING}),
}

E = ExecutionStatus
EXECUTION_TRANSITIONS: Mapping[ExecutionStatus, frozenset[ExecutionStatus]] = {
    E.PENDING: frozenset({E.RUNNING, E.FAILED, E.CANCELLED}),
    E.RUNNING: frozenset({E.COMPLETED, E.FAILED, E.CANCELLED}),
    E.COMPLETED: frozenset({E.FAILED}),
    E.FAILED: frozenset(),
    E.CANCELLED: frozenset(),
}

# `baton resume` re-queues an execution that stopped before finishing. It is the one
# edge outside the seed's diagram and is only taken through `resume_transition`.
RESUMABLE: frozenset[ExecutionStatus] = frozenset({E.RUNNING, E.FAILED, E.CANCELLED, E.PENDING})


def _check(entity: str, table: Mapping[S, frozenset[S]], current: S, target: S) -> S:
    allowed = table[current]
    if target not in allowed:
        raise IllegalTransition(entity, current.value, target.value, sorted(s.value for s in allowed))
    return target


def agent_transition(current: AgentStatus, target: AgentStatus) -> AgentStatus:
    """Return ``target`` if the Agent state machine allows ``current → target``, else raise."""
    return _check("agent", AGENT_TRANSITIONS, current, target)


def execution_transition(current: ExecutionStatus, target: ExecutionStatus) -> ExecutionStatus:
    """Return ``target`` if the Execution state machine allows ``current → target``, else raise."""
    return _check("execution", EXECUTION_TRANSITIONS, current, target)


def resume_transition(current: ExecutionStatus) -> ExecutionStatus:
    """The status a resumed execution restarts from (PENDING); COMPLETED cannot be resumed."""
    if current not in RESUMABLE:
        raise IllegalTransition(
            "execution", current.value, "pending (resume)", sorted(s.value for s in RESUMABLE)
        )
    return E.PENDING
