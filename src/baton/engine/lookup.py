"""Which execution a user means: an id, a unique prefix of one (like git), or the latest."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from baton.engine.errors import AmbiguousExecutionId, ExecutionNotFound

if TYPE_CHECKING:
    from baton.store.base import Store
    from baton.store.reads import Reads


def resolve_execution_id(store: Store, ref: str | None) -> str:
    """The full id of the execution ``ref`` names (an id, a unique prefix, or None for the
    latest); raises ExecutionNotFound or AmbiguousExecutionId."""
    return resolve_reference(
        ref,
        latest=lambda: next((ctx.id for ctx in store.list_executions(limit=1)), None),
        exists=lambda execution_id: store.get_execution(execution_id) is not None,
        matching=store.match_execution_ids,
    )


def resolve_read_id(reads: Reads, ref: str | None) -> str:
    """:func:`resolve_execution_id` on the store's read statements (``baton status`` and co.)."""
    return resolve_reference(
        ref,
        latest=lambda: next((row["id"] for row in reads.executions(limit=1) or ()), None),
        exists=lambda execution_id: reads.context(execution_id) is not None,
        matching=reads.match_ids,
    )


def resolve_reference(
    ref: str | None,
    *,
    latest: Callable[[], str | None],
    exists: Callable[[str], bool],
    matching: Callable[[str, int], list[str]],
) -> str:
    """The rules of both: ``latest`` id, ``exists(id)``, ``matching(prefix, limit)``."""
    if ref is None:
        newest = latest()
        if newest is None:
            raise ExecutionNotFound("", "no executions yet; start one with `baton run WORKFLOW`")
        return newest
    ref = ref.strip()
    if ref and exists(ref):
        return ref
    matches = matching(ref, 3) if ref else []
    if not matches:
        raise ExecutionNotFound(ref)
    if len(matches) > 1:
        raise AmbiguousExecutionId(ref, matches)
    return matches[0]
