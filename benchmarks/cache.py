"""The prompt cache: time of a second identical run / the first run (agents take 200 ms).
Prints JSON."""

from __future__ import annotations

import asyncio
import json

from _common import make_baton, now


def main() -> None:
    agents = {"bot": {"provider": "scripted", "model": "slow", "capabilities": ["bench"],
                      "config": {"script": [{"reply": "answer " * 50, "delay": 0.2,
                                             "usage": {"input_tokens": 1000, "output_tokens": 300},
                                             "cost_usd": 0.01}]}}}
    wf = {"steps": [{"id": f"s{i}", "agent_id": "bot", "prompt_template": f"review part {i}"}
                    for i in range(5)]}
    baton, _ = make_baton({"wf": wf}, agents, global_={"cache": {"enabled": True}})

    async def run() -> tuple[float, float]:
        t = now()
        first = await baton.run_to_end("wf")
        t1 = now() - t
        t = now()
        second = await baton.run_to_end("wf")
        t2 = now() - t
        assert all(o["cache_hit"] for o in second.outputs.values())
        assert first.cost_usd > 0 and second.cost_usd == 0
        return t1, t2

    first, second = asyncio.run(run())
    print(json.dumps({"steps": 5, "first_run_s": round(first, 4), "second_run_s": round(second, 4),
                      "ratio_second_vs_first": round(second / first, 4)}, indent=2))


if __name__ == "__main__":
    main()
