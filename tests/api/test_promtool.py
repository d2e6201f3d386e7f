"""`/metrics` of a real `baton serve` passes Prometheus' own checker, `promtool check metrics`.

Two processes: an API-only server (`--workers 0`: HTTP metrics only) and the shared test
server whose in-process worker has just run executions (engine, step, token and queue
metrics too). `baton worker` has no HTTP listener of its own; its metrics are these
same engine metrics, exposed by the process that runs it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Server, start, wait_for
from tests.api.serverproc import free_port, start_server
from tests.fixtures.real_tools import tool

pytestmark = pytest.mark.promtool


def promtool_check(exposition: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=60
    )


def assert_clean(exposition: str) -> None:
    checked = promtool_check(exposition)
    # promtool exits non-zero on errors (1) and lint problems (3) alike, one per line on stderr.
    assert checked.returncode == 0, f"promtool:\n{checked.stdout}{checked.stderr}"
    assert checked.stdout.strip() == "" and checked.stderr.strip() == ""


def test_promtool_catches_a_bad_exposition() -> None:
    # The checker itself catches what it is here for: a counter without _total, no HELP.
    checked = promtool_check("# TYPE requests counter\nrequests 1\n")
    assert checked.returncode != 0 and "counter metrics should have \"_total\" suffix" in checked.stderr


def test_metrics_of_serve_with_its_worker_after_executions(server: Server) -> None:
    with server.client("operator") as client:
        done = start(client, "hello", parameters={"who": "promtool"})
        assert wait_for(client, done, {"completed"})["status"] == "completed"
        failed = start(client, "readme")  # the shell step fails: no README.md in ws
        wait_for(client, failed, {"failed", "completed"})
        exposition = httpx.get(f"{server.url}/metrics", timeout=30).text
    assert "baton_executions_total" in exposition and "baton_api_requests_total" in exposition
    assert_clean(exposition)


def test_metrics_of_an_api_only_server(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "baton.yaml").write_text(
        'version: "1.0.0"\nglobal: {workspace_dir: ws}\nobservability: {metrics: true}\n'
        "agents: {sh: {provider: shell, model: bash, capabilities: [command]}}\n"
        "workflows: {w: {steps: [{id: s, agent_id: sh, prompt_template: 'true'}]}}\n"
    )
    port = free_port()
    proc = start_server(tmp_path, port, "--workers", "0")
    try:
        for _ in range(3):
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        exposition = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    finally:
        proc.stop()
    assert "baton_api_requests_total" in exposition
    assert_clean(exposition)
