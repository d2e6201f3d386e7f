"""Checkpoints: JSON only, in the store's own database (SQLite file or PostgreSQL), and
resuming an interrupted graph from them without running a finished node again."""

from __future__ import annotations

import asyncio
import json
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Interrupt, Send
from sqlalchemy import create_engine, text

from baton.agents.scripted import scripted_factory
from baton.engine import Baton
from baton.engine.graph_checkpoint import CheckpointError, JsonSerde
from baton.models import Configuration, ExecutionStatus
from baton.store import open_store

from .conftest import MakeBaton, scripted

NO_CACHE = {"cache": {"enabled": False}}


def _calls(record: Path) -> list[str]:
    if not record.exists():
        return []
    return [json.loads(line)["step"] for line in record.read_text().splitlines() if line.strip()]


def _loop(slow_fix: float = 0.0) -> dict[str, Any]:
    return {
        "type": "langgraph",
        "steps": [
            {"id": "implement", "agent_id": "bot", "prompt_template": "implement"},
            {
                "id": "test",
                "agent_id": "bot",
                "prompt_template": "test",
                "next": [{"when": "outputs.test.text == 'green'", "goto": "end"}, {"goto": "fix"}],
            },
            {
                "id": "fix",
                "agent_id": "bot",
                "prompt_template": "fix {{ outputs.test.text }}",
                "next": "test",
            },
        ],
    }


def _script(slow_fix: float = 0.0) -> dict[str, Any]:
    return {
        "test": [{"reply": "red"}, {"reply": "red"}, {"reply": "green"}],
        "fix": [{"echo": True, "delay": slow_fix}],
        "*": [{"echo": True}],
    }


# -- the serializer ------------------------------------------------------------------------------
def test_json_serde_round_trips_what_langgraph_stores() -> None:
    serde = JsonSerde()
    value = {
        "outputs": {"a": {"text": "x", "json": None, "n": 1.5}},
        "seen": {"a", "b"},
        "pair": ("x", 1),
        "intr": Interrupt(value={"step": "deploy"}, id="abc"),
        "send": Send("node", {"k": [1, 2]}),
        "__baton__": "user data that looks like a tag",
    }
    kind, data = serde.dumps_typed(value)
    assert kind == "json"
    json.loads(data)  # plain JSON on disk
    back = serde.loads_typed((kind, data))
    assert back["outputs"] == value["outputs"] and back["seen"] == {"a", "b"}
    assert back["pair"] == ["x", 1]  # JSON has arrays, not tuples
    assert back["intr"].value == {"step": "deploy"} and back["intr"].id == "abc"
    assert back["send"].node == "node" and back["send"].arg == {"k": [1, 2]}
    assert back["__baton__"] == "user data that looks like a tag"


def test_json_serde_never_pickles() -> None:
    serde = JsonSerde()

    class Custom:
        pass

    with pytest.raises(CheckpointError, match="cannot be stored in a checkpoint"):
        serde.dumps_typed({"x": Custom()})
    with pytest.raises(CheckpointError, match="Baton reads only JSON checkpoints"):
        serde.loads_typed(("pickle", pickle.dumps({"x": 1})))
    with pytest.raises(CheckpointError, match="not JSON-serialisable"):
        serde.dumps_typed({("a", "b"): "a tuple key has no JSON form"})
    with pytest.raises(CheckpointError, match="not JSON-serialisable"):
        serde.dumps_typed({1: "a non-string key"})


# -- SQLite: the store's own file ----------------------------------------------------------------
async def test_checkpoints_live_in_the_store_sqlite_file_as_json(
    make_baton: MakeBaton, tmp_path: Path
) -> None:
    baton = make_baton({"fix": _loop()}, {"bot": scripted(script=_script())}, global_=NO_CACHE)
    result = await baton.run_to_end("fix")
    assert result.status is ExecutionStatus.COMPLETED, result.error
    db = tmp_path / ".baton" / "baton.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ?", (result.execution_id,)
        ).fetchall()
        writes = conn.execute(
            "SELECT DISTINCT type FROM writes WHERE thread_id = ?", (result.execution_id,)
        ).fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"executions", "step_runs", "checkpoints", "writes"} <= tables
    assert rows and {r[0] for r in rows} == {"json"}
    assert {w[0] for w in writes} == {"json"}
    last = max((json.loads(r[1]) for r in rows), key=lambda c: c["ts"])
    state = last["channel_values"]
    assert state["outputs"]["test"]["text"] == "green"
    assert state["iterations"] == {"implement": 1, "test": 3, "fix": 2}
    assert state["statuses"] == {"implement": "completed", "test": "completed", "fix": "completed"}


async def test_resume_continues_from_the_checkpoint(make_baton: MakeBaton, tmp_path: Path) -> None:
    """Cancel in the middle of the loop (second fix running), then resume in-process."""
    record = tmp_path / "calls.jsonl"
    baton = make_baton(
        {"fix": _loop()}, {"bot": scripted(record=str(record), script=_script(0.5))}, global_=NO_CACHE
    )
    handle = baton.run("fix")
    for _ in range(500):
        if _calls(record) == ["implement", "test", "fix", "test", "fix"]:
            break
        await asyncio.sleep(0.01)
    handle.cancel()
    first = await handle.wait()
    assert first.status is ExecutionStatus.CANCELLED
    assert _calls(record) == ["implement", "test", "fix", "test", "fix"]

    second = await baton.resume(first.execution_id).wait()
    assert second.status is ExecutionStatus.COMPLETED, second.error
    # only the interrupted fix runs again, then the last test
    assert _calls(record) == ["implement", "test", "fix", "test", "fix", "fix", "test"]
    assert second.outputs["test"]["text"] == "green"
    assert second.outputs["implement"]["text"] == "implement"
    runs = {r.step_id: r for r in baton.store.list_steps(first.execution_id)}
    assert runs["fix"].iteration == 2 and runs["test"].iteration == 3


async def test_resume_takes_a_step_the_store_finished_after_the_last_checkpoint(
    make_baton: MakeBaton, tmp_path: Path
) -> None:
    """A crash between a step's StepRun commit and the checkpoint write: the node does not run again."""
    record = tmp_path / "calls.jsonl"
    baton = make_baton(
        {"fix": _loop()}, {"bot": scripted(record=str(record), script=_script())}, global_=NO_CACHE
    )
    result = await baton.run_to_end("fix")
    assert result.status is ExecutionStatus.COMPLETED
    db = tmp_path / ".baton" / "baton.db"
    with sqlite3.connect(db) as conn:
        # forget everything the graph did after the first test: as if the process died right
        # after `fix` (iteration 1) committed its StepRun
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id",
                (result.execution_id,),
            )
        ]
        cps = [
            json.loads(r[0])
            for r in conn.execute(
                "SELECT checkpoint FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id",
                (result.execution_id,),
            )
        ]
        keep = next(
            i for i, c in enumerate(cps) if c["channel_values"].get("iterations", {}).get("test") == 1
        )
        for cid in ids[keep + 1 :]:
            conn.execute(
                "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id = ?",
                (result.execution_id, cid),
            )
        conn.execute(
            "DELETE FROM writes WHERE thread_id = ? AND checkpoint_id <> ?", (result.execution_id, ids[keep])
        )
        conn.execute(
            "DELETE FROM writes WHERE thread_id = ? AND checkpoint_id = ?", (result.execution_id, ids[keep])
        )
        conn.execute(
            "UPDATE executions SET status = 'running', end_time = NULL WHERE id = ?", (result.execution_id,)
        )
        conn.execute(
            "UPDATE step_runs SET iteration = 1 WHERE execution_id = ? AND step_id = 'fix'",
            (result.execution_id,),
        )
        conn.execute(
            "DELETE FROM step_runs WHERE execution_id = ? AND step_id = 'test'", (result.execution_id,)
        )
    before = len(_calls(record))
    resumed = await baton.resume(result.execution_id).wait()
    assert resumed.status is ExecutionStatus.COMPLETED, resumed.error
    again = _calls(record)[before:]
    assert again == ["test"]  # the fix the store had finished is taken, not re-run


# -- PostgreSQL --------------------------------------------------------------------------------------
@pytest.mark.postgres
async def test_checkpoints_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    (tmp_path / "ws").mkdir()
    cfg = Configuration.model_validate(
        {
            "version": "1.0.0",
            "global": {"workspace_dir": str(tmp_path / "ws"), "database_url": postgres_url, **NO_CACHE},
            "agents": {"bot": scripted(record=str(record), script=_script(0.5))},
            "workflows": {"fix": _loop()},
        }
    )
    store = open_store(postgres_url)
    baton = Baton(cfg, store, root=tmp_path, adapter_factory=scripted_factory({}))
    try:
        handle = baton.run("fix")
        for _ in range(500):
            if _calls(record) == ["implement", "test", "fix", "test", "fix"]:
                break
            await asyncio.sleep(0.01)
        handle.cancel()
        first = await handle.wait()
        assert first.status is ExecutionStatus.CANCELLED
        second = await baton.resume(first.execution_id).wait()
        assert second.status is ExecutionStatus.COMPLETED, second.error
        assert _calls(record) == ["implement", "test", "fix", "test", "fix", "fix", "test"]
    finally:
        store.close()
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM checkpoints WHERE thread_id = :t"), {"t": first.execution_id}
        ).scalar()
        kinds = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT DISTINCT type FROM checkpoint_blobs WHERE thread_id = :t UNION "
                    "SELECT DISTINCT type FROM checkpoint_writes WHERE thread_id = :t"
                ),
                {"t": first.execution_id},
            )
        }
        latest = conn.execute(
            text(
                "SELECT blob FROM checkpoint_blobs WHERE thread_id = :t AND channel = 'iterations' "
                "ORDER BY version DESC LIMIT 1"
            ),
            {"t": first.execution_id},
        ).scalar()
    engine.dispose()
    assert n and n > 5
    assert kinds <= {"json", "empty"} and "json" in kinds
    assert json.loads(bytes(latest)) == {"implement": 1, "test": 3, "fix": 2}
