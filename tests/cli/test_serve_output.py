"""Item 3: `baton serve` says where it serves (URL, dashboard, API) and that it stopped;
`baton serve --help` shows the real defaults."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.api.serverproc import Proc, free_port
from tests.cli.conftest import Baton


def test_serve_prints_its_urls_and_a_line_on_shutdown(project: Path, baton: Baton, tmp_path: Path) -> None:
    port = free_port()
    proc = Proc(["serve", "--port", str(port)], project, tmp_path / "serve.log")
    try:
        deadline = time.monotonic() + 60
        while "Baton serving on" not in proc.output():
            assert proc.alive() and time.monotonic() < deadline, proc.output()
            time.sleep(0.02)
        # the URL is printed once the port listens: connecting at once is never refused
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        while "Press Ctrl+C to stop." not in proc.output():
            assert proc.alive() and time.monotonic() < deadline, proc.output()
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        lines = proc.output().splitlines()
        assert f"Baton serving on {base}" in lines
        assert f"  dashboard: {base}/" in lines
        assert f"  API:       {base}/api/v1   (OpenAPI docs: {base}/api/v1/docs)" in lines
        assert "  worker:    in this process" in lines
        assert httpx.get(f"{base}/api/v1/health", timeout=10).status_code in (200, 404)
    finally:
        proc.stop()
    assert f"Baton stopped serving http://127.0.0.1:{port}" in proc.output()


def test_serve_help_shows_real_defaults(project: Path, baton: Baton) -> None:
    text = " ".join(w for w in baton("serve", "--help").stdout.split() if w != "│")
    assert "deployment.host, else 127.0.0.1" in text and "deployment.port, else 8080" in text
    assert "deployment.workers, else 1" in text
