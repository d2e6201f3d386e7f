"""JSON-RPC message transports for ACP sessions: a child's stdio, recorded, or replayed.

All three implement the SDK's message-level ``Transport`` seam (``send``/``receive``/
``close`` of decoded JSON objects), so the same client code runs live and in replay.

A recording is a JSON-lines file: one ``{"dir": "out"|"in", "msg": {...}}`` line per
message Baton sent or received, in causal order (a request is written before its answer
can arrive), plus ``{"baton": "permission", ...}`` lines for Baton's decisions. Secrets
are redacted and the workspace path is written as ``${WORKSPACE}`` so a recording
replays in any checkout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

WORKSPACE_TOKEN = "${WORKSPACE}"
Message = dict[str, Any]


class StdioTransport:
    """Newline-delimited JSON over a child process's stdin/stdout."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def send(self, message: Message) -> None:
        self._writer.write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
        await self._writer.drain()

    async def receive(self) -> Message | None:
        while True:
            line = await self._reader.readline()
            if not line:
                return None
            line = line.strip()
            if not line.startswith(b"{"):
                continue  # agents sometimes print banners on stdout
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict):
                return data

    async def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()


class Scrubber:
    """Turns a message into its recorded form: secrets redacted, workspace path tokenised."""

    def __init__(self, workspace: Path, redact: Callable[[str], str]) -> None:
        self.workspaces = sorted({str(workspace), str(workspace.resolve())}, key=len, reverse=True)
        self.redact = redact

    def line(self, record: dict[str, Any]) -> str:
        text = json.dumps(record, ensure_ascii=False, sort_keys=True)
        for path in self.workspaces:
            text = text.replace(json.dumps(path)[1:-1], WORKSPACE_TOKEN)
        return self.redact(text)


class RecordingTransport:
    """Wraps a transport and appends every message to a recording file."""

    def __init__(self, inner: Any, sink: IO[str] | None, scrubber: Scrubber) -> None:
        self.inner = inner
        self.sink = sink
        self.scrubber = scrubber

    def note(self, record: dict[str, Any]) -> None:
        """Append a non-protocol line (Baton's permission decisions, errors)."""
        if self.sink is not None:
            self.sink.write(self.scrubber.line(record) + "\n")
            self.sink.flush()

    async def send(self, message: Message) -> None:
        self.note({"dir": "out", "msg": message})
        await self.inner.send(message)

    async def receive(self) -> Message | None:
        message: Message | None = await self.inner.receive()
        if message is not None:
            self.note({"dir": "in", "msg": message})
        return message

    async def close(self) -> None:
        await self.inner.close()


def load_recording(path: Path) -> list[dict[str, Any]]:
    """The protocol lines of a recording (``dir`` in/out), in order."""
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc})") from None
        if isinstance(record, dict) and record.get("dir") in ("in", "out"):
            entries.append(record)
    return entries


def recording_session(path: Path) -> dict[str, Any]:
    """The ``{"baton": "session", ...}`` line of a recording (the client settings it ran with)."""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if '"baton": "session"' in raw:
            record = json.loads(raw)
            if isinstance(record, dict):
                return record
    return {}


def _normal(message: Message) -> Message:
    return {k: v for k, v in message.items() if k != "jsonrpc"}


class ReplayTransport:
    """Plays the agent's side of a recording and checks that Baton says what it said then.

    Messages from the agent are delivered in recorded order, each once every message Baton
    sent before it in the recording has been sent again. A message Baton sends that differs
    from the next one it recorded is a divergence: :attr:`divergence` names it and the
    transport ends the conversation (EOF), which fails the call loudly.
    """

    def __init__(self, entries: list[dict[str, Any]], workspace: Path) -> None:
        ws = json.dumps(str(workspace.resolve()))[1:-1]
        self.entries = [
            {"dir": e["dir"], "msg": json.loads(json.dumps(e["msg"]).replace(WORKSPACE_TOKEN, ws))}
            for e in entries
        ]
        self.matched = [False] * len(self.entries)
        self.next_in = 0
        self.divergence: str | None = None
        self._changed = asyncio.Event()
        self._closed = False

    def _first_unmatched_out(self) -> int | None:
        for index, entry in enumerate(self.entries):
            if entry["dir"] == "out" and not self.matched[index]:
                return index
        return None

    async def send(self, message: Message) -> None:
        if self.divergence is not None or self._closed:
            raise ConnectionError("replay ended")
        index = self._first_unmatched_out()
        got = _normal(message)
        if index is None:
            self._diverge(f"Baton sent {_brief(got)} after the recording ended")
            raise ConnectionError(self.divergence)
        expected = _normal(self.entries[index]["msg"])
        if got != expected:
            self._diverge(
                f"message {index + 1} of the recording: expected {_brief(expected)}, Baton sent {_brief(got)}"
            )
            raise ConnectionError(self.divergence)
        self.matched[index] = True
        self._changed.set()

    def _diverge(self, why: str) -> None:
        self.divergence = f"replay diverged at {why}"
        self._changed.set()

    async def receive(self) -> Message | None:
        while True:
            if self.divergence is not None or self._closed:
                return None
            while self.next_in < len(self.entries) and self.entries[self.next_in]["dir"] != "in":
                self.next_in += 1
            if self.next_in >= len(self.entries):
                return None
            waiting = [i for i in range(self.next_in) if self.entries[i]["dir"] == "out"
                       and not self.matched[i]]
            if not waiting:
                message: Message = self.entries[self.next_in]["msg"]
                self.next_in += 1
                return dict(message)
            self._changed.clear()
            await self._changed.wait()

    async def close(self) -> None:
        self._closed = True
        self._changed.set()

    def unplayed(self) -> int:
        """Recorded messages Baton never sent again (0 when the replay went all the way)."""
        return sum(1 for i, e in enumerate(self.entries) if e["dir"] == "out" and not self.matched[i])


def _brief(message: Message, limit: int = 300) -> str:
    text = json.dumps(message, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"
