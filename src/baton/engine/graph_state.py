"""The state a compiled LangGraph workflow carries from node to node, and into checkpoints.

Every value is plain JSON. Nodes return only what they changed; the reducers merge
updates of nodes that ran in the same super-step (fan-out). The state is the checkpoint:
``baton resume`` rebuilds the execution's outputs, statuses, iteration counts and usage
from it.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from baton.agents.base import Usage
from baton.engine.state import ExecutionRun
from baton.models import StepStatus

_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Later keys win: the reducer of the per-step maps."""
    return {**(left or {}), **(right or {})}


def add_usage(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    """Sum token counts and cost."""
    out = dict(left or {})
    for key, value in (right or {}).items():
        out[key] = out.get(key, 0) + value
    return out


def first_reason(left: str | None, right: str | None) -> str | None:
    """The first reason to stop the graph is the one reported."""
    return left or right


class GraphState(TypedDict, total=False):
    """What every node of a Baton graph reads and writes.

    ``outputs`` (by output_key), ``statuses`` and ``iterations`` (by step id) mirror the
    execution; ``routes`` holds the index of the route each routing step took last;
    ``usage`` sums tokens and ``cost_usd``; ``steps`` counts node visits against the
    workflow's step budget; ``abort`` is set once a bound or budget stops the graph.
    """

    params: dict[str, Any]
    outputs: Annotated[dict[str, Any], merge]
    statuses: Annotated[dict[str, str], merge]
    iterations: Annotated[dict[str, int], merge]
    routes: Annotated[dict[str, int], merge]
    usage: Annotated[dict[str, float], add_usage]
    steps: Annotated[int, operator.add]
    abort: Annotated[str | None, first_reason]


def initial_state(er: ExecutionRun) -> GraphState:
    """The input of a fresh graph run."""
    return GraphState(
        params=dict(er.ctx.parameters),
        outputs={},
        statuses={},
        iterations={},
        routes={},
        usage={},
        steps=0,
        abort=None,
    )


def usage_delta(output: dict[str, Any] | None) -> dict[str, float]:
    """What one step's output adds to the usage totals (nothing for a cache hit)."""
    if not output or output.get("cache_hit"):
        return {}
    usage = Usage.from_dict(output.get("usage")).as_dict()
    delta: dict[str, float] = {k: float(usage[k]) for k in _USAGE_KEYS if usage.get(k)}
    if output.get("cost_usd"):
        delta["cost_usd"] = float(output["cost_usd"])
    return delta


def load_into(er: ExecutionRun, state: GraphState) -> None:
    """Make the in-memory execution match a checkpointed state (on resume)."""
    er.outputs.clear()
    er.outputs.update(state.get("outputs") or {})
    er.statuses.clear()
    er.statuses.update({k: StepStatus(v) for k, v in (state.get("statuses") or {}).items()})
    totals = state.get("usage") or {}
    er.budget.usage = Usage.from_dict({k: int(totals.get(k, 0)) for k in _USAGE_KEYS})
    er.budget.cost_usd = float(totals.get("cost_usd", 0.0))
    if state.get("abort"):
        er.abort_reason = state.get("abort")


__all__ = ["GraphState", "add_usage", "initial_state", "load_into", "merge", "usage_delta"]
