"""How fast each real agent CLI fails, and how many requests it sends, when the model server
answers 401 or 500: Baton's defaults (retry notices read, ``cli_retries: 1``) against the
CLI's own retry budget (``cli_retries: 9``, close to the CLIs' defaults; a 401 still stops at
the first notice). Prints JSON; ratios are within one run.

    source .ci/agents.sh && .venv/bin/python benchmarks/agent_errors.py [claude codex gemini copilot]

Needs the CLIs on PATH (``.tools/npm/node_modules/.bin``) and the repository root on
``sys.path`` (for the fake model server in ``tests/fixtures``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agents.support import Events, make_agent, make_request  # noqa: E402
from tests.fixtures.fake_model_server import FakeModelServer, HttpError  # noqa: E402

from baton.agents.base import AgentError  # noqa: E402
from baton.agents.factory import create_adapter  # noqa: E402

API = {"claude": "anthropic", "codex": "responses", "copilot": "chat", "gemini": "gemini"}
TIMEOUT = 120.0


async def one(cli: str, status: int, retries: int) -> dict[str, Any]:
    with FakeModelServer() as server, tempfile.TemporaryDirectory() as ws:
        server.default(API[cli], HttpError(status, "bad key" if status == 401 else "boom"))
        adapter = create_adapter(make_agent(cli, server, fast_fail=False, cli_retries=retries))
        started = time.monotonic()
        error = ""
        try:
            await adapter.run(make_request(Path(ws), timeout=TIMEOUT), Events())
        except AgentError as exc:
            error = f"{type(exc).__name__}: {exc}"[:160]
        return {"seconds": round(time.monotonic() - started, 1),
                "requests": len(server.requests_for(API[cli])), "error": error}


async def main(clis: list[str]) -> None:
    out: dict[str, Any] = {}
    for cli in clis:
        for status in (401, 500):
            baton = await one(cli, status, 1)
            own = await one(cli, status, 9)
            out[f"{cli}_{status}"] = {
                "baton_default": baton,
                "cli_budget_9": own,
                "time_ratio": round(own["seconds"] / max(baton["seconds"], 0.1), 1),
            }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or list(API)))
