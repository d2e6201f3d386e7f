"""The dashboard under a real browser: Playwright for Python driving Debian's Chromium, against
real `baton ui` and `baton serve` processes whose stores hold real runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.serverproc import Proc, free_port

pytestmark = pytest.mark.slow

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PROJECT = """
version: "1.0.0"
global: {{cache: {{enabled: false}}, budget: {{max_cost_usd: 1.0}}}}
agents:
  bot:
    provider: scripted
    model: echo-1
    capabilities: [test]
    config:
      acts_on_workspace: true
      script:
        plan: [{{reply: "planned", delay: 0.6, usage: {{input_tokens: 100, output_tokens: 20}}, cost_usd: 0.01}}]
        code: [{{reply: "coded", delay: 0.6, write: {{"hello.py": "print('hi')\\n", "notes/readme.md": "# notes\\n"}},
                 usage: {{input_tokens: 50, output_tokens: 5}}, cost_usd: 0.02}}]
        flaky: [{{fail: agent_error, message: "the model fell over (attempt 1)"}},
                {{fail: agent_error, message: "the model fell over again"}}]
        xss: [{{reply: "<script>window.__pwned = 1</script><img src=x onerror=\\"window.__pwned = 2\\"> & done"}}]
        "*": [{{echo: true}}]
  sh: {{provider: shell, model: bash, capabilities: [command]}}
workflows:
  live:
    description: three steps that take a moment each
    parameters: {{topic: {{type: string, default: docs}}, rounds: {{type: integer, default: 1}}}}
    steps:
      - {{id: plan, agent_id: bot, prompt_template: "plan {{{{ params.topic }}}}"}}
      - {{id: code, agent_id: bot, prompt_template: "code the plan", writes_workspace: true}}
      - {{id: check, agent_id: sh, prompt_template: "sleep 0.5; ls hello.py"}}
  broken:
    steps:
      - id: flaky
        agent_id: bot
        prompt_template: "try hard"
        retry_policy: {{max_attempts: 2, backoff_seconds: 0.3, jitter: 0}}
  xss:
    steps:
      - {{id: xss, agent_id: bot, prompt_template: "say <b>something</b>"}}
  forever:
    steps:
      - {{id: wait, agent_id: sh, prompt_template: "sleep 600", timeout_seconds: 3600}}
  release:
    type: langgraph
    steps:
      - {{id: build, agent_id: bot, prompt_template: "build"}}
      - id: deploy
        agent_id: bot
        prompt_template: "deploy {{{{ outputs.build.text }}}}"
        approval: {{message: "Ship {{{{ outputs.build.text }}}}?"}}
      - {{id: announce, agent_id: bot, prompt_template: "announce"}}
"""


def chromium_path() -> str | None:
    found = os.environ.get("BATON_TEST_CHROMIUM") or shutil.which("chromium")
    return found if found and Path(found).exists() else None


@pytest.fixture(scope="package")  # Playwright keeps an event loop running here: stop it with tests/ui
def browser() -> Iterator[Any]:
    exe = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        sync_playwright = None  # type: ignore[assignment]
    if exe is None or sync_playwright is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the dashboard tests need Debian's chromium and playwright (see .ci/extra-ui.sh)")
        pytest.skip("chromium or playwright is not installed (apt-get install chromium; pip install playwright)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=exe, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


def baton(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def detach(cwd: Path, workflow: str, *args: str) -> str:
    """Start ``workflow`` in the background (`baton run --detach`); its execution id."""
    done = baton(cwd, "run", workflow, "--detach", "--json", *args)
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["execution_id"])


def make_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / ".gitignore").write_text(".baton/\n")
    (root / "README.md").write_text("# demo\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=root, check=True)
    (root / "baton.yaml").write_text(PROJECT.format())
    return root


@dataclass
class Local:
    """A running `baton ui` on a project, with its sign-in URL."""

    root: Path
    url: str
    base: str
    proc: Proc
    shots: Path

    def signed_in(self, browser: Any) -> Any:
        """A new browser page signed in with the one-time link (a fresh `baton ui` per test)."""
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(self.url)
        page.wait_for_selector("table.runs")
        return page


def start_ui(root: Path, shots: Path) -> Local:
    port = free_port()
    proc = Proc(["ui", "--port", str(port)], root, root / "ui.log", {"PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", proc.output())
        if found:
            break
        if not proc.alive():
            raise AssertionError(f"baton ui exited:\n{proc.output()}")
        time.sleep(0.1)
    else:
        proc.stop()
        raise AssertionError(f"baton ui printed no URL:\n{proc.output()}")
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/signin", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    shots.mkdir(exist_ok=True)
    return Local(root, found.group(1), base, proc, shots)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    root = make_project(tmp_path / "project")
    ui = start_ui(root, tmp_path / "screenshots")
    try:
        yield ui
    finally:
        ui.proc.stop()


def status_of(root: Path, execution_id: str) -> str:
    """The execution's status, read from the project's store."""
    from baton.store import open_store

    store = open_store(None, base_dir=root)
    try:
        record = store.get_execution(execution_id)
        assert record is not None, execution_id
        return record.context.status.value
    finally:
        store.close()


def wait_status(root: Path, execution_id: str, statuses: set[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = status_of(root, execution_id)
        if status in statuses:
            return status
        time.sleep(0.2)
    raise AssertionError(f"{execution_id} stayed {status}")
