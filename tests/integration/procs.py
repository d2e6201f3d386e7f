"""Finding an agent's processes from outside Baton: a `sleep` with a value nobody else uses."""

from __future__ import annotations

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
