"""``terminal/*`` for ACP agents: commands run through Baton's process runner.

Each terminal is one :func:`~baton.workspace.process.run_process` call (own process group,
stdin closed, the step's remaining time as its timeout, the group killed on kill/release)
whose output is kept up to a byte limit, dropping the oldest bytes first as ACP asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from baton.workspace.process import ProcessResult, run_process

DEFAULT_OUTPUT_LIMIT = 1_000_000


@dataclass
class Terminal:
    """One command started for the agent."""

    limit: int
    chunks: list[str] = field(default_factory=list)
    size: int = 0
    truncated: bool = False
    task: asyncio.Task[ProcessResult] | None = None

    async def add(self, line: str) -> None:
        text = line + "\n"
        self.chunks.append(text)
        self.size += len(text.encode("utf-8"))
        while self.size > self.limit and self.chunks:
            dropped = self.chunks.pop(0)
            self.size -= len(dropped.encode("utf-8"))
            self.truncated = True

    @property
    def output(self) -> str:
        return "".join(self.chunks)

    def exit_status(self) -> tuple[int | None, str | None] | None:
        """(exit code, signal name) once the command ended, else None."""
        if self.task is None or not self.task.done():
            return None
        if self.task.cancelled():
            return None, "SIGKILL"
        result = self.task.result()
        if result.timed_out:
            return None, "SIGKILL"
        code = result.exit_code
        if code is not None and code < 0:
            return None, f"signal {-code}"
        return code, None


class Terminals:
    """The terminals of one ACP session."""

    def __init__(self, workspace: Path, env: Mapping[str, str], deadline: float) -> None:
        self.workspace = workspace
        self.env = dict(env)
        self.deadline = deadline
        self._terminals: dict[str, Terminal] = {}
        self._ids = itertools.count(1)

    def start(self, argv: list[str], cwd: Path, env: Mapping[str, str], limit: int | None) -> str:
        terminal = Terminal(limit=limit or DEFAULT_OUTPUT_LIMIT)
        remaining = max(self.deadline - asyncio.get_running_loop().time(), 1.0)
        terminal.task = asyncio.create_task(run_process(
            argv, cwd=cwd, env={**self.env, **env}, timeout=remaining,
            on_stdout=terminal.add, on_stderr=terminal.add,
        ))
        terminal_id = f"term-{next(self._ids)}"
        self._terminals[terminal_id] = terminal
        return terminal_id

    def get(self, terminal_id: str) -> Terminal:
        try:
            return self._terminals[terminal_id]
        except KeyError:
            raise KeyError(f"unknown terminal {terminal_id!r}") from None

    async def wait(self, terminal_id: str) -> Terminal:
        terminal = self.get(terminal_id)
        if terminal.task is not None:
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await asyncio.shield(terminal.task)
        return terminal

    async def kill(self, terminal_id: str) -> None:
        terminal = self.get(terminal_id)
        if terminal.task is not None and not terminal.task.done():
            terminal.task.cancel()  # run_process kills the command's whole group
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await terminal.task

    async def release(self, terminal_id: str) -> None:
        await self.kill(terminal_id)
        self._terminals.pop(terminal_id, None)

    async def close(self) -> None:
        for terminal_id in list(self._terminals):
            await self.release(terminal_id)
