"""Run `baton serve` / `baton worker` as real processes for the API and worker tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A baton subprocess in its own process group, with its output in a file."""

    def __init__(self, args: list[str], cwd: Path, log: Path, env: Mapping[str, str] | None = None) -> None:
        self.log = log
        self._out = log.open("ab")
        full_env = {**os.environ, "BATON_QUEUE_POLL_SECONDS": "0.1", **(env or {})}
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "baton", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill9(self) -> None:
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                if self.alive():
                    os.killpg(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(timeout=10)
        self._out.close()


def start_server(
    cwd: Path,
    port: int,
    *extra: str,
    env: Mapping[str, str] | None = None,
    log_name: str = "serve.log",
    timeout: float = 60.0,
) -> Proc:
    proc = Proc(["serve", "--port", str(port), *extra], cwd, cwd / log_name, env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise AssertionError(f"baton serve exited ({proc.popen.returncode}):\n{proc.output()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.stop()
    raise AssertionError(f"baton serve did not answer within {timeout}s:\n{proc.output()}")


OPERATOR_TOKEN = "op-token-0123456789"


def service_root(tmp_path: Path, agents: Mapping[str, Any]) -> Path:
    """``tmp_path/service`` with a ``baton.yaml`` for ``baton serve``: these agents, no cache,
    workspaces anywhere under ``tmp_path``, one operator whose token is ``$T_OP``."""
    root = tmp_path / "service"
    root.mkdir()
    config = {
        "version": "1.0.0",
        "global": {"cache": {"enabled": False}},
        "api": {
            "workspace_roots": [str(tmp_path)],
            "tokens": [{"name": "op", "role": "operator", "token": "${T_OP}"}],
        },
        "agents": dict(agents),
    }
    (root / "baton.yaml").write_text(yaml.safe_dump(config))
    return root


def serve_operator(root: Path, env: Mapping[str, str] | None = None) -> tuple[Proc, httpx.Client]:
    """`baton serve` in a :func:`service_root`, and a client with the operator's token."""
    port = free_port()
    proc = start_server(root, port, env={**(env or {}), "T_OP": OPERATOR_TOKEN})
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30)
    return proc, client
