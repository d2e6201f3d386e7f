"""Whether the process that owns an execution is still there, from the owner columns alone.

Kept apart from :mod:`baton.engine.ownership` (which marks dead owners' executions
interrupted) so that the commands which only read can check without the models.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from baton.workspace import procinfo

# An owner on another host that has not sent a heartbeat for this long is taken for dead.
STALE_HEARTBEAT = timedelta(seconds=30)


def owner_alive(
    process: procinfo.ProcessIdentity | None,
    heartbeat_at: datetime | None,
    owner: str | None,
    now: datetime | None = None,
) -> bool:
    """Whether an execution's owner lives: its process (host, pid, start token) where /proc
    can tell, else its heartbeat (no heartbeat: alive while someone claims it)."""
    if process is not None:
        alive = procinfo.is_alive(process)
        if alive is not None:
            return alive
    if heartbeat_at is None:
        return owner is not None
    return (now or datetime.now(UTC)) - heartbeat_at < STALE_HEARTBEAT
