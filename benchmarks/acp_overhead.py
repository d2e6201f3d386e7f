"""ACP vs headless: the same one-turn task through each agent's ACP adapter and its CLI adapter.

For each of gemini, copilot, claude and codex, ``AcpAgent.run`` (``interface: acp``: spawn the
ACP server, initialize, session/new, session/prompt, Baton answering as client) and the
headless ``CliAgent.run`` (``interface: cli``) answer "say hi" against the fake model server
(tests/fixtures) on 127.0.0.1, interleaved, alternating which goes first. Prints JSON with
each side's median wall time and the ratio acp/cli per agent. Target: ratio <= 1.05.

Note that the two sides are not always the same program: claude over ACP is
``claude-agent-acp`` (the Claude Agent SDK with its own bundled claude binary), codex over
ACP is ``codex-acp``; gemini and copilot run the same binary with ``--acp``.

    source .ci/agents.sh && .venv/bin/python benchmarks/acp_overhead.py [N] [agent ...]
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agents.support import API_KEY, FAST_FAIL, MODELS  # noqa: E402
from tests.fixtures.fake_model_server import FakeModelServer, Text  # noqa: E402

from baton.agents.base import AgentRequest, discard_events  # noqa: E402
from baton.agents.factory import create_adapter  # noqa: E402
from baton.models import Agent  # noqa: E402

TARGET = 1.05
APIS = {"gemini": "gemini", "copilot": "chat", "claude": "anthropic", "codex": "responses"}
PROGRAMS = {"gemini": ("gemini", "gemini"), "copilot": ("copilot", "copilot"),
            "claude": ("claude", "claude-agent-acp"), "codex": ("codex", "codex-acp")}


def git_workspace(base: Path) -> Path:
    ws = base / "ws"
    ws.mkdir()
    (ws / "README.md").write_text("bench\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "init"]):
        subprocess.run(cmd, cwd=ws, env=env, check=True)
    return ws


async def one(name: str, interface: str, server: FakeModelServer, ws: Path) -> float:
    provider, model = MODELS[name]
    agent = Agent(id=name, provider=provider, model=model, interface=interface, capabilities=["bench"],
                  config={"base_url": server.url, "api_key": API_KEY, **FAST_FAIL[name]})
    request = AgentRequest(prompt="say hi", workspace_dir=ws, timeout_seconds=120, step_id="bench")
    started = time.perf_counter()
    result = await create_adapter(agent).run(request, discard_events)
    elapsed = time.perf_counter() - started
    if result.text != "hi":
        raise SystemExit(f"{name} over {interface} answered {result.text!r}")
    return elapsed


async def main(n: int, names: list[str]) -> dict[str, Any]:
    for tools in (ROOT / ".tools" / "npm" / "node_modules" / ".bin",):
        if tools.is_dir():
            os.environ["PATH"] = f"{tools}:{os.environ['PATH']}"
    report: dict[str, Any] = {"runs": n, "target_ratio": TARGET, "agents": {}}
    base = Path(tempfile.mkdtemp(prefix="baton-acp-bench-"))
    ws = git_workspace(base)
    try:
        with FakeModelServer() as server:
            for api in APIS.values():
                server.default(api, Text("hi"))
            for name in names:
                missing = [p for p in PROGRAMS[name] if shutil.which(p) is None]
                if missing:
                    report["agents"][name] = {"skipped": f"not installed: {', '.join(missing)}"}
                    continue
                await one(name, "acp", server, ws)  # warm caches (copilot unpacks on first run)
                await one(name, "cli", server, ws)
                times: dict[str, list[float]] = {"acp": [], "cli": []}
                for i in range(n):
                    order = ("acp", "cli") if i % 2 == 0 else ("cli", "acp")
                    for interface in order:
                        times[interface].append(await one(name, interface, server, ws))
                acp_median = statistics.median(times["acp"])
                cli_median = statistics.median(times["cli"])
                report["agents"][name] = {
                    "acp_median_s": round(acp_median, 3),
                    "cli_median_s": round(cli_median, 3),
                    "ratio": round(acp_median / cli_median, 3),
                    "acp_s": [round(t, 3) for t in times["acp"]],
                    "cli_s": [round(t, 3) for t in times["cli"]],
                }
    finally:
        shutil.rmtree(base, ignore_errors=True)
    ratios = [a["ratio"] for a in report["agents"].values() if "ratio" in a]
    report["within_target"] = {k: a["ratio"] <= TARGET for k, a in report["agents"].items() if "ratio" in a}
    report["median_ratio"] = round(statistics.median(ratios), 3) if ratios else None
    return report


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    chosen = sys.argv[2:] or list(APIS)
    print(json.dumps(asyncio.run(main(count, chosen)), indent=2))
