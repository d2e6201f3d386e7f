"""Run a child process in its own process group, stream its output, and never leave orphans.

Every agent that runs a program goes through :func:`run_process`: stdin is closed, the
child leads a new session (so its whole tree shares one process group), stdout and stderr
are read line by line as they arrive, and on timeout or cancellation the group gets SIGTERM,
then SIGKILL after a grace period. When the leader exits on its own, anything it left
running in its group is killed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

LineCallback = Callable[[str], Awaitable[None]]
# Told (pgid, True) when a child's process group starts and (pgid, False) when it is gone;
# the engine sets it around an agent call so a crash of Baton leaves a record of its groups.
GroupWatcher = Callable[[int, bool], None]
group_watcher: ContextVar[GroupWatcher | None] = ContextVar("baton_group_watcher", default=None)
_LINE_LIMIT = 64 * 1024 * 1024
_KEEP_BYTES = 32 * 1024 * 1024


@dataclass(slots=True)
class ProcessResult:
    """How a child process ended and what it printed."""

    argv: list[str]
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_seconds: float
    pid: int
    oom_killed: bool = False  # the kernel killed it for going over its memory limit (containers)

    @property
    def killed(self) -> bool:
        return self.timed_out or (self.exit_code is not None and self.exit_code < 0)


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _terminate(proc: asyncio.subprocess.Process, grace: float) -> None:
    if signal_group(proc.pid, signal.SIGTERM):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), grace)
    signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await proc.wait()


async def _pump(stream: asyncio.StreamReader | None, sink: list[str],
                callback: LineCallback | None) -> None:
    if stream is None:
        return
    kept = 0
    while True:
        try:
            raw = await stream.readline()
        except (ValueError, asyncio.LimitOverrunError):
            raw = await stream.read(_LINE_LIMIT)
        if not raw:
            return
        line = raw.decode("utf-8", errors="replace")
        if kept < _KEEP_BYTES:
            sink.append(line)
            kept += len(raw)
        if callback is not None:
            await callback(line.rstrip("\r\n"))


async def _feed(stream: asyncio.StreamWriter | None, text: str) -> None:
    if stream is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stream.write(text.encode("utf-8"))
        await stream.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stream.close()


async def run_process(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str],
    timeout: float,
    on_stdout: LineCallback | None = None,
    on_stderr: LineCallback | None = None,
    grace_seconds: float = 2.0,
    stdin_text: str | None = None,
) -> ProcessResult:
    """Run ``argv`` and return its result; raises FileNotFoundError if the program is missing.

    ``stdin_text`` is written to the child's stdin (then closed); without it stdin is closed.
    """
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=os.fspath(cwd),
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL if stdin_text is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=_LINE_LIMIT,
    )
    watcher = group_watcher.get()
    if watcher is not None:
        watcher(proc.pid, True)
    out: list[str] = []
    err: list[str] = []
    pumps = [
        asyncio.create_task(_pump(proc.stdout, out, on_stdout)),
        asyncio.create_task(_pump(proc.stderr, err, on_stderr)),
    ]
    if stdin_text is not None:
        pumps.append(asyncio.create_task(_feed(proc.stdin, stdin_text)))
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):
                await proc.wait()
        except TimeoutError:
            timed_out = True
            await _terminate(proc, grace_seconds)
    except asyncio.CancelledError:
        await asyncio.shield(_terminate(proc, grace_seconds))
        for task in pumps:
            task.cancel()
        raise
    finally:
        signal_group(proc.pid, signal.SIGKILL)
        if watcher is not None:
            watcher(proc.pid, False)
    _done, pending = await asyncio.wait(pumps, timeout=5)
    for task in pending:
        task.cancel()
    return ProcessResult(
        argv=list(argv),
        exit_code=proc.returncode,
        stdout="".join(out),
        stderr="".join(err),
        timed_out=timed_out,
        duration_seconds=time.monotonic() - started,
        pid=proc.pid,
    )
