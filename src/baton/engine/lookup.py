"""Which execution a user means: an id, a unique prefix of one (like git), or the latest."""

from __future__ import annotations

from baton.engine.errors import AmbiguousExecutionId, ExecutionNotFound
from baton.store.base import Store


def resolve_execution_id(store: Store, ref: str | None) -> str:
    """The full id of the execution ``ref`` names (an id, a unique prefix, or None for the
    latest); raises ExecutionNotFound or AmbiguousExecutionId."""
    if ref is None:
        latest = store.list_executions(limit=1)
        if not latest:
            raise ExecutionNotFound("", "no executions yet; start one with `baton run WORKFLOW`")
        return latest[0].id
    ref = ref.strip()
    if ref and store.get_execution(ref) is not None:
        return ref
    matches = store.match_execution_ids(ref, limit=3) if ref else []
    if not matches:
        raise ExecutionNotFound(ref)
    if len(matches) > 1:
        raise AmbiguousExecutionId(ref, matches)
    return matches[0]
