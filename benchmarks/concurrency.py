"""1,000 concurrent executions of a 3-step workflow with 100 ms agents.

Reports throughput against the ideal allowed by the limits (max_concurrent_executions
executions in flight, each taking 3 x 100 ms) and peak memory (ru_maxrss). Prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

from _common import make_baton, now

EXECUTIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
LIMIT = 200
STEP_SECONDS = 0.1


def main() -> None:
    agents = {"bot": {"provider": "scripted", "model": "sleep", "capabilities": ["bench"],
                      "max_concurrency": 1000,
                      "config": {"script": [{"reply": "ok", "delay": STEP_SECONDS}]}}}
    wf = {"steps": [{"id": f"s{i}", "agent_id": "bot", "prompt_template": f"s{i} {{{{ execution.id }}}}"}
                    for i in range(3)]}
    baton, _ = make_baton({"wf": wf}, agents, global_={"max_concurrent_executions": LIMIT})
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    async def run() -> float:
        t = now()
        handles = [baton.run("wf") for _ in range(EXECUTIONS)]
        results = await asyncio.gather(*(h.wait() for h in handles))
        bad = [r for r in results if r.status.value != "completed"]
        assert not bad, bad[0].error
        return now() - t

    elapsed = asyncio.run(run())
    ideal = (EXECUTIONS / LIMIT) * 3 * STEP_SECONDS
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "executions": EXECUTIONS,
        "steps_per_execution": 3,
        "max_concurrent_executions": LIMIT,
        "agent_seconds_per_step": STEP_SECONDS,
        "elapsed_s": round(elapsed, 3),
        "ideal_s": round(ideal, 3),
        "throughput_executions_per_s": round(EXECUTIONS / elapsed, 1),
        "ideal_throughput_executions_per_s": round(EXECUTIONS / ideal, 1),
        "efficiency_vs_ideal": round(ideal / elapsed, 3),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
