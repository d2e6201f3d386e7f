"""Seconds from starting ``baton ui`` / ``baton serve`` to the line printing its URL.

Each run is a fresh process in a project made by ``baton init``; the URL is printed once the
port listens, so this is the user's wait before the link works. Prints JSON: per command the
runs and their median.

    .venv/bin/python benchmarks/first_url.py [N]
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATON = [sys.executable, "-m", "baton"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _first_url(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([*BATON, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if "http://" in line:
                return time.perf_counter() - start
        raise RuntimeError(f"baton {' '.join(args)} printed no URL")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main(repeats: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=cwd, check=True)
        subprocess.run([*BATON, "init"], cwd=cwd, check=True, capture_output=True)
        result: dict[str, object] = {}
        for name in ("ui", "serve"):
            runs = [_first_url([name, "--port", str(_free_port())], cwd) for _ in range(repeats)]
            result[name] = {"runs_s": [round(r, 2) for r in runs], "median_s": round(statistics.median(runs), 2)}
        return result


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3), indent=2))
