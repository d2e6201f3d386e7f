"""The processes of the integration tests: an agent's `sleep` found from outside Baton (a value
nobody else uses), waiting for a condition, and stopping what a test started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def sleepers(nap: str) -> list[int]:
    """Pids of the live (not zombie) ``sleep <nap>`` processes on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if argv[:2] == [b"sleep", nap.encode()] and state != "Z":
            found.append(int(entry.name))
    return found


def kill_sleepers(nap: str) -> None:
    """SIGKILL every ``sleep <nap>`` left behind (a failed test's agent)."""
    for pid in sleepers(nap):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_until(check: Callable[[], object], what: str, timeout: float = 60, every: float = 0.1) -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(every)


def stop(*procs: subprocess.Popen[str] | None) -> None:
    """Kill and reap whichever of ``procs`` still run (a test's ``finally``)."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
