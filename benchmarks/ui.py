"""The dashboard's speed. Prints JSON.

- ``runs_page_ms``: GET / (first page of 50) with 10,000 executions in a SQLite store, server
  time (the ASGI app in-process, median of 30 requests). Target <= 100 ms.
- ``run_page_interactive_ms``: a 200-step run's page in headless Chromium, navigation start to
  DOMContentLoaded with htmx initialised (median of 5). Target <= 1000 ms.
- ``event_to_dom_ms``: a log row committed to the store until the open Run page shows it
  (median and p95 of 20). Target <= 300 ms.
- ``closed``: what the dashboard costs `baton run` when it is not open: dashboard or FastAPI
  modules imported by the CLI at start (expected none) and the import time of `baton.cli.main`.

    .venv/bin/python benchmarks/ui.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ui.conftest import ARGS, chromium_path  # noqa: E402

from baton.engine import Baton  # noqa: E402
from baton.models import (  # noqa: E402
    Configuration,
    ExecutionContext,
    ExecutionLog,
    ExecutionStatus,
    LogLevel,
    StepRun,
    StepStatus,
)
from baton.store import open_store  # noqa: E402
from baton.store.base import UsageRecord  # noqa: E402
from baton.ui.security import LocalGate  # noqa: E402
from baton.ui.server import create_local_app, free_port  # noqa: E402

STEPS = 200


def _project() -> tuple[Baton, Path]:
    root = Path(tempfile.mkdtemp(prefix="baton-ui-bench-"))
    cfg = Configuration.model_validate({
        "version": "1.0.0",
        "global": {"workspace_dir": str(root), "cache": {"enabled": False}},
        "agents": {"bot": {"provider": "scripted", "model": "echo", "capabilities": ["bench"],
                           "config": {"script": [{"reply": "ok"}]}}},
        "workflows": {"big": {"steps": [{"id": f"s{i}", "agent_id": "bot", "prompt_template": f"step {i}"}
                                        for i in range(STEPS)]},
                      "small": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "a"},
                                          {"id": "b", "agent_id": "bot", "prompt_template": "b"}]}},
    })
    return Baton(cfg, open_store(None, base_dir=root), root=root), root


def _log(execution_id: str, step: str | None, event: str, message: str, at: datetime,
         **meta: Any) -> ExecutionLog:
    return ExecutionLog(execution_id=execution_id, step_id=step, level=LogLevel.INFO, message=message,
                        timestamp=at, metadata={"event": event, **meta}, trace_id="0" * 32)


def _seed_runs(baton: Baton, count: int) -> None:
    snapshot = baton.workflow("small").model_dump(mode="json")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    store = baton.store
    for i in range(count):
        ctx = ExecutionContext(workflow_id="small", workspace_dir=str(baton.root),
                               start_time=base + timedelta(seconds=i))
        store.create_execution(ctx, workflow_snapshot=snapshot)
        if i >= count - 200:  # the newest have steps and usage, like real runs
            at = ctx.start_time
            store.save_step(StepRun(execution_id=ctx.id, step_id="a", status=StepStatus.RUNNING,
                                    agent_id="bot", attempt=1, iteration=1, started_at=at))
            store.save_step(
                StepRun(execution_id=ctx.id, step_id="a", status=StepStatus.COMPLETED, agent_id="bot",
                        attempt=1, iteration=1, started_at=at, ended_at=at, output={"text": "ok"}),
                usage=UsageRecord(execution_id=ctx.id, step_id="a", agent_id="bot", model="echo",
                                  workflow_id="small", input_tokens=10, output_tokens=5, cost_usd=0.001, at=at))


def _seed_big_run(baton: Baton, running: bool) -> str:
    wf = baton.workflow("big")
    ctx = ExecutionContext(workflow_id="big", workspace_dir=str(baton.root))
    store = baton.store
    store.create_execution(ctx, workflow_snapshot=wf.model_dump(mode="json"))
    store.set_execution_status(ctx.id, ExecutionStatus.RUNNING)
    at = datetime.now(UTC)
    for i, step in enumerate(wf.steps):
        start = at + timedelta(milliseconds=10 * i)
        logs = [_log(ctx.id, step.id, "step.started", f"step {step.id} started", start, attempt=1)]
        store.save_step(StepRun(execution_id=ctx.id, step_id=step.id, status=StepStatus.RUNNING,
                                agent_id="bot", attempt=1, iteration=1, started_at=start), logs)
        if running and i == len(wf.steps) - 1:
            break
        end = start + timedelta(milliseconds=8)
        logs = [_log(ctx.id, step.id, "step.completed", f"step {step.id} completed", end)]
        store.save_step(StepRun(execution_id=ctx.id, step_id=step.id, status=StepStatus.COMPLETED,
                                agent_id="bot", attempt=1, iteration=1, started_at=start, ended_at=end,
                                output={"text": "ok", "usage": {"input_tokens": 3, "output_tokens": 2}}), logs)
    if not running:
        store.finish_execution(ctx.id, ExecutionStatus.COMPLETED)
    return ctx.id


def runs_page(baton: Baton) -> dict[str, float]:
    from fastapi.testclient import TestClient

    gate = LocalGate("bench")
    app = create_local_app(baton, None, gate, 8000)
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    assert client.get("/?token=bench").status_code == 200
    samples = []
    for _ in range(30):
        started = time.perf_counter()
        resp = client.get("/")
        samples.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200 and resp.text.count('class="run ') == 50
    return {"median": round(statistics.median(samples), 2), "min": round(min(samples), 2)}


class _Server:
    def __init__(self, baton: Baton) -> None:
        import uvicorn

        self.port = free_port()
        self.gate = LocalGate()
        app = create_local_app(baton, None, self.gate, self.port)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def browser_figures(baton: Baton) -> dict[str, Any]:
    exe = chromium_path()
    if exe is None:
        return {"skipped": "chromium is not installed"}
    from playwright.sync_api import sync_playwright

    done_id = _seed_big_run(baton, running=False)
    live_id = _seed_big_run(baton, running=True)
    server = _Server(baton)
    out: dict[str, Any] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.base}/?token={server.gate.login_token}")
            samples = []
            for _ in range(6):
                page.goto(f"{server.base}/runs/{done_id}", wait_until="domcontentloaded")
                while not page.evaluate("() => !!window.htmx"):
                    time.sleep(0.01)
                timing = page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return [n.domContentLoadedEventEnd, n.domInteractive]; }")
                assert page.locator("svg .node.st-completed").count() == STEPS
                samples.append(timing[0])
            out["run_page_interactive_ms"] = {"median": round(statistics.median(samples[1:]), 1),
                                              "min": round(min(samples[1:]), 1), "steps": STEPS}
            page.goto(f"{server.base}/runs/{live_id}")
            page.wait_for_selector("#logrows li")
            time.sleep(1.0)  # the SSE connection is open
            page.evaluate(
                "() => { window.__seen = {}; new MutationObserver(ms => { for (const m of ms)"
                " for (const n of m.addedNodes) if (n.dataset && n.dataset.seq) window.__seen[n.dataset.seq]"
                " = Date.now(); }).observe(document.getElementById('logrows'), {childList: true}); }")
            delays = []
            for i in range(20):
                committed = time.time() * 1000
                baton.store.append_logs([_log(live_id, "s199", "agent.output", f"tick {i}",
                                              datetime.now(UTC), event_kind="text", text=f"tick {i}")])
                seq = baton.store.list_logs(live_id)[-1].seq
                deadline = time.monotonic() + 5
                seen = None
                while time.monotonic() < deadline and seen is None:
                    seen = page.evaluate(f"() => window.__seen['{seq}'] || null")
                    if seen is None:
                        time.sleep(0.01)
                assert seen is not None, f"row {seq} never appeared"
                delays.append(seen - committed)
                time.sleep(0.137)  # land at different points of the poll cycle
            delays.sort()
            out["event_to_dom_ms"] = {"median": round(statistics.median(delays), 1),
                                      "p95": round(delays[int(len(delays) * 0.95) - 1], 1),
                                      "max": round(delays[-1], 1)}
            browser.close()
    finally:
        server.stop()
    return out


def closed_cost() -> dict[str, Any]:
    code = ("import sys, time; t = time.perf_counter(); import baton.cli.main; d = time.perf_counter() - t; "
            "print(d, len([m for m in sys.modules if m.startswith(('baton.ui', 'fastapi', 'starlette'))]))")
    samples, loaded = [], []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        seconds, modules = out.stdout.split()
        samples.append(float(seconds) * 1000)
        loaded.append(int(modules))
    return {"dashboard_modules_imported_by_cli": max(loaded),
            "import_baton_cli_main_ms": round(statistics.median(samples), 1)}


def main() -> None:
    baton, root = _project()
    try:
        started = time.perf_counter()
        _seed_runs(baton, 10_000)
        seeded = time.perf_counter() - started
        result: dict[str, Any] = {"executions": 10_000, "seed_seconds": round(seeded, 1)}
        result["runs_page_ms"] = runs_page(baton)
        result.update(browser_figures(baton))
        result["closed"] = closed_cost()
        result["targets"] = {"runs_page_ms": 100, "run_page_interactive_ms": 1000, "event_to_dom_ms": 300,
                             "dashboard_modules_imported_by_cli": 0}
        print(json.dumps(result, indent=2))
    finally:
        baton.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
