"""The MCP fixture server (official SDK) as a stdio command or a streamable-HTTP process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baton.models.mcp import McpServerConfig
from tests.agents.support import TOOLS_BIN

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "mcp_fixture_server.py"
FIXTURE_TOOLS = ["add", "echo", "note"]


def pytest_configure(config: pytest.Config) -> None:
    """The agent CLIs installed by .ci/agents.sh are on PATH (as in tests/agents)."""
    if TOOLS_BIN.is_dir() and str(TOOLS_BIN) not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = f"{TOOLS_BIN}:{os.environ.get('PATH', os.defpath)}"


def stdio_server(**extra: object) -> McpServerConfig:
    return McpServerConfig.model_validate(
        {"command": sys.executable, "args": [str(FIXTURE)], "connect_timeout_seconds": 60, **extra}
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


@pytest.fixture
def http_fixture_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(FIXTURE), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_for_http(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
