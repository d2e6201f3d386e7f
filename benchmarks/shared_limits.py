"""Store traffic of the shared limits: lease writes per execution of a 5-step chain on one
agent (the execution's slot plus the agent's, kept between steps), next to the step
transitions the engine writes anyway. Prints JSON."""

from __future__ import annotations

import asyncio
import collections
import json
from typing import Any

from _common import chain, make_baton, now

from baton.store.sql import SqlStore

EXECUTIONS = 50
STEPS = 5
COUNTED = ("acquire_lease", "release_lease", "renew_leases", "list_leases", "claim_execution")


def main() -> None:
    calls: collections.Counter[str] = collections.Counter()
    for name in COUNTED:
        original = getattr(SqlStore, name)

        def counted(self: SqlStore, *args: Any, _original: Any = original, _name: str = name,
                    **kwargs: Any) -> Any:
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        setattr(SqlStore, name, counted)
    baton, _ = make_baton({"wf": chain(STEPS)})

    async def run() -> float:
        t = now()
        for _ in range(EXECUTIONS):
            await baton.run_to_end("wf")
        return now() - t

    elapsed = asyncio.run(run())
    baton.close()
    per = {name: round(calls[name] / EXECUTIONS, 2) for name in COUNTED}
    print(json.dumps({
        "executions": EXECUTIONS,
        "steps_per_execution": STEPS,
        "per_execution": per,
        "lease_writes_per_step": round((calls["acquire_lease"] + calls["release_lease"])
                                       / (EXECUTIONS * STEPS), 3),
        "ms_per_execution": round(elapsed * 1000 / EXECUTIONS, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
