"""What Baton's CLI adapter adds to a coding-CLI call: codex bare vs through CodexAgent.

Both sides run the real ``codex`` binary with the same argv, environment and private
CODEX_HOME against the fake model server (tests/fixtures) on 127.0.0.1; the bare side is a
plain ``subprocess.run`` with stdin closed, the adapter side is ``CodexAgent.run`` (process
group, streamed parsing, transcript, git snapshots before/after, result). Runs are
interleaved, alternating which goes first. Prints JSON. Target: median ratio <= 1.05.

    source .ci/agents.sh && .venv/bin/python benchmarks/cli_overhead.py [N]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.fake_model_server import FakeModelServer, Text  # noqa: E402

from baton.agents.base import AgentRequest, discard_events  # noqa: E402
from baton.agents.cli_base import CallContext  # noqa: E402
from baton.agents.codex import CodexAgent  # noqa: E402
from baton.models import Agent  # noqa: E402

TARGET = 1.05


def git_workspace(base: Path) -> Path:
    ws = base / "ws"
    ws.mkdir()
    (ws / "README.md").write_text("bench\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "init"]):
        subprocess.run(cmd, cwd=ws, env=env, check=True)
    return ws


async def main(n: int) -> dict[str, object]:
    tools = ROOT / ".tools" / "npm" / "node_modules" / ".bin"
    if tools.is_dir():
        os.environ["PATH"] = f"{tools}:{os.environ['PATH']}"
    if shutil.which("codex") is None:
        raise SystemExit("codex not installed: source .ci/agents.sh first")
    base = Path(tempfile.mkdtemp(prefix="baton-cli-bench-"))
    with FakeModelServer() as server:
        server.default("responses", Text("ok"))
        agent = Agent(
            id="codex",
            provider="openai",
            model="gpt-5.5",
            capabilities=["bench"],
            config={"base_url": server.url, "api_key": "sk-bench-key"},
        )
        adapter = CodexAgent(agent)
        ws = git_workspace(base)
        artifacts = base / "artifacts"

        def request(i: int) -> AgentRequest:
            return AgentRequest(
                prompt="say ok",
                workspace_dir=ws,
                timeout_seconds=120,
                step_id=f"s{i}",
                artifacts_dir=artifacts,
            )

        # The exact command line and environment the adapter uses, for the bare runs.
        with adapter._dirs(request(0)) as (home, call_dir):
            ctx = CallContext(
                request=request(0), program=adapter.program(), home=home, call_dir=call_dir, prompt=""
            )
            adapter.prepare(ctx)
            env = adapter.build_env(ctx)
            argv = [*ctx.program, *adapter.build_args(ctx)]

        def bare() -> float:
            started = time.perf_counter()
            proc = subprocess.run(argv, cwd=ws, env=env, stdin=subprocess.DEVNULL, capture_output=True)
            elapsed = time.perf_counter() - started
            if proc.returncode != 0 or b"turn.completed" not in proc.stdout:
                raise SystemExit(f"bare codex failed: {proc.stderr.decode()[-500:]}")
            return elapsed

        async def through_adapter(i: int) -> float:
            started = time.perf_counter()
            result = await adapter.run(request(i), discard_events)
            elapsed = time.perf_counter() - started
            assert result.text == "ok"
            return elapsed

        for i in range(2):  # warm-up: page cache, codex's first-run state
            bare()
            await through_adapter(-1 - i)
        bare_times: list[float] = []
        adapter_times: list[float] = []
        for i in range(n):
            if i % 2 == 0:
                bare_times.append(bare())
                adapter_times.append(await through_adapter(i))
            else:
                adapter_times.append(await through_adapter(i))
                bare_times.append(bare())
    shutil.rmtree(base, ignore_errors=True)
    ratio = statistics.median(adapter_times) / statistics.median(bare_times)
    return {
        "benchmark": "cli_overhead",
        "cli": "codex",
        "runs": n,
        "bare_s": {
            "median": round(statistics.median(bare_times), 4),
            "mean": round(statistics.mean(bare_times), 4),
            "min": round(min(bare_times), 4),
        },
        "adapter_s": {
            "median": round(statistics.median(adapter_times), 4),
            "mean": round(statistics.mean(adapter_times), 4),
            "min": round(min(adapter_times), 4),
        },
        "overhead_ms_median": round(
            (statistics.median(adapter_times) - statistics.median(bare_times)) * 1000, 1
        ),
        "ratio_median": round(ratio, 4),
        "target": TARGET,
        "ok": ratio <= TARGET,
    }


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(json.dumps(asyncio.run(main(runs)), indent=2))
