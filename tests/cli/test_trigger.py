"""Each execution remembers which front end started it (CLI here, a program through the
Python API); `baton history --json` and `baton status` say so. The API, MCP, Action, ACP and
dashboard front ends are checked in their own tests (tests/api, tests/mcp, tests/github,
tests/agents/test_baton_acp.py, tests/ui)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from baton.engine import Baton as Engine
from tests.cli.conftest import Baton


def test_cli_runs_say_cli_and_a_program_says_python(project: Path, baton: Baton) -> None:
    ran = json.loads(baton("run", "hello", "--json").stdout)
    assert ran["trigger"] == "cli"
    detached = json.loads(baton("run", "hello", "--detach", "--json").stdout)

    async def from_a_program() -> str:
        engine = Engine.from_config()
        try:
            return (await engine.run_to_end("hello")).execution_id
        finally:
            engine.close()

    programmed = asyncio.run(from_a_program())
    history = {row["execution_id"]: row["trigger"] for row in json.loads(baton("history", "--json").stdout)}
    assert history == {ran["execution_id"]: "cli", detached["execution_id"]: "cli", programmed: "python"}
    assert json.loads(baton("status", ran["execution_id"], "--json").stdout)["trigger"] == "cli"
    assert "started by: CLI" in baton("status", ran["execution_id"]).stdout
    assert "started by: Python" in baton("status", programmed).stdout
