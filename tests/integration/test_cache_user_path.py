"""The cache hits in a normal repository, and says so truthfully (issue 12, item 2).

A fresh repository, ``baton init`` (nothing committed afterwards: ``baton.yaml`` and the
``.gitignore`` line stay untracked, the store lives in ``.baton/`` of the workspace), the
real ``claude`` CLI against the fake model server, one run twice. The second run is
served from the cache: ``baton run --json`` says so, it costs nothing, and ``baton usage``
counts the one real call only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.support import API_KEY, FAST_FAIL, MODELS, require_cli
from tests.fixtures.fake_model_server import FakeModelServer, Text
from tests.security.project import baton, baton_json, configure, new_project

pytestmark = pytest.mark.cli_agents


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


def test_second_run_is_served_from_the_cache(server: FakeModelServer, tmp_path: Path) -> None:
    require_cli("claude")
    repo = new_project(tmp_path / "project")
    provider, model = MODELS["claude"]
    configure(
        repo,
        {"claude": {"provider": provider, "model": model, "capabilities": ["code_review"],
                    "config": {"base_url": server.url, "api_key": API_KEY, **FAST_FAIL["claude"]}}},
        {"summarise": {"steps": [{"id": "ask", "agent_id": "claude", "prompt_template": "Summarise the README."}]}},
    )
    (repo / "notes.txt").write_text("an uncommitted file of the user's\n")
    server.default("anthropic", Text("a demo project"))

    first = baton_json(repo, "run", "summarise")
    second = baton_json(repo, "run", "summarise")

    assert first["outputs"]["ask"]["cache_hit"] is False and first["cost_usd"] > 0
    assert second["status"] == "completed"
    assert second["outputs"]["ask"]["cache_hit"] is True
    assert second["outputs"]["ask"]["text"] == "a demo project"
    assert second["cost_usd"] == 0
    assert len(server.requests_for("anthropic")) == 1  # the model was asked once
    usage = baton_json(repo, "usage")
    assert usage["total"]["calls"] == 1
    assert usage["total"]["cost_usd"] == pytest.approx(first["cost_usd"], abs=1e-6)
    status = baton_json(repo, "status", second["execution_id"])
    assert status["steps"][0]["cache_hit"] is True and status["cost_usd"] == 0
    # status adds up what was billed, as run --json and baton usage do: a cache hit is not
    assert status["usage"] == second["usage"] and status["usage"]["input_tokens"] == 0
    table = baton(repo, "status", second["execution_id"], env={"COLUMNS": "200"}).stdout
    row = next(line for line in table.splitlines() if "│ ask " in line)
    assert "cache hit" in row and "$" not in row, table
    assert "tokens: 0 in, 0 out   cost: $0.0000" in table

    # a change to the workspace is a different question: asked again, not served stale
    (repo / "README.md").write_text("# demo, rewritten\n")
    third = baton_json(repo, "run", "summarise")
    assert third["outputs"]["ask"]["cache_hit"] is False
    assert len(server.requests_for("anthropic")) == 2
