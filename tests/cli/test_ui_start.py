"""`baton ui` listens before it prints its link: opening the link at once never is refused."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.cli.conftest import baton_process


def test_the_printed_link_answers_at_once_and_a_busy_port_is_a_clear_error(project: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "baton", "ui"], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Baton dashboard: http://127.0.0.1:"), line
        url = urlsplit(line.split(": ", 1)[1].strip())
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
        conn.request("GET", "/healthz-does-not-matter")  # no retry: refused would raise here
        assert conn.getresponse().status < 500
        conn.close()
        busy = baton_process(project, "ui", "--port", str(url.port))
        assert busy.returncode != 0
        assert f"cannot listen on 127.0.0.1:{url.port}" in busy.stderr + busy.stdout
        assert "Traceback" not in busy.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
