"""Who a process is, from ``/proc``: host, pid and a start token that survives pid reuse.

The start token is the kernel's boot id and the process's start time in clock ticks
(field 22 of ``/proc/PID/stat``): a pid that was reused by another process, or a pid
from before a reboot, gets a different token.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """A process on a host: its pid and start token (None where /proc is unavailable)."""

    host: str
    pid: int
    start: str | None


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        return (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def _stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in ticks) of ``pid``, or None if there is no such process."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()
    return fields[0], fields[19]


def start_token(pid: int) -> str | None:
    """The start token of a live ``pid``, None if it does not exist (or is a zombie)."""
    stat = _stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return None
    return f"{_boot_id()}:{stat[1]}"


def hostname() -> str:
    return socket.gethostname()


def current() -> ProcessIdentity:
    """This process."""
    pid = os.getpid()
    return ProcessIdentity(hostname(), pid, start_token(pid))


def is_alive(identity: ProcessIdentity) -> bool | None:
    """Whether the process still runs: None when that cannot be known from here (another host)."""
    if identity.host != hostname():
        return None
    token = start_token(identity.pid)
    if token is None:
        return False
    return identity.start is None or token == identity.start
