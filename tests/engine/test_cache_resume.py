"""The prompt cache (with diff replay) and in-process resume."""

from __future__ import annotations

import subprocess
from pathlib import Path

from baton.engine.clock import FakeClock
from baton.models import ExecutionStatus, StepStatus
from baton.models import events as ev

from .conftest import MakeBaton, scripted


def _git_repo(path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("hello\n")
    subprocess.run(["git", "-C", str(path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(path), "-c", "user.email=t@t", "-c", "user.name=t", "commit",
                    "-qm", "init"], check=True)


async def test_identical_prompt_is_answered_from_cache(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    agents = {"bot": scripted(record=str(record), script=[{"reply": "answer", "cost_usd": 0.25,
                                                           "usage": {"input_tokens": 10}}])}
    baton = make_baton({"wf": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "same"}]}}, agents)
    first = await baton.run_to_end("wf")
    handle = baton.run("wf")
    events = [e async for e in handle.events()]
    second = await handle.wait()
    assert len(record.read_text().splitlines()) == 1
    assert second.outputs["a"]["text"] == "answer" and second.outputs["a"]["cache_hit"] is True
    assert any(isinstance(e, ev.CacheHit) for e in events)
    assert first.cost_usd == 0.25 and second.cost_usd == 0.0
    logs = baton.store.list_logs(handle.id)
    assert any(row.metadata.get("event") == "step.cache_hit" for row in logs)
    third = await baton.run_to_end("wf", no_cache=True)
    assert third.outputs["a"]["cache_hit"] is False
    assert len(record.read_text().splitlines()) == 2


async def test_cache_ttl_expires(make_baton: MakeBaton, tmp_path: Path) -> None:
    clock = FakeClock()
    record = tmp_path / "calls.jsonl"
    baton = make_baton({"wf": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "p"}]}},
                       {"bot": scripted(record=str(record))}, clock=clock,
                       global_={"cache": {"ttl_seconds": 60}})
    await baton.run_to_end("wf")
    clock.advance(30)
    await baton.run_to_end("wf")
    clock.advance(61)
    await baton.run_to_end("wf")
    assert len(record.read_text().splitlines()) == 2


async def test_cache_hit_replays_recorded_diff(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    agents = {"coder": scripted(record=str(record), acts_on_workspace=True,
                                script=[{"reply": "wrote it", "write": {"src/app.py": "print('hi')\n"}}])}
    wf = {"steps": [{"id": "impl", "agent_id": "coder", "prompt_template": "write app",
                     "writes_workspace": True}]}
    baton = make_baton({"wf": wf}, agents)
    ws1, ws2 = tmp_path / "one", tmp_path / "two"
    for ws in (ws1, ws2):
        ws.mkdir()
        _git_repo(ws)
    first = await baton.run_to_end("wf", workspace_dir=ws1)
    assert first.outputs["impl"]["files_changed"] == ["src/app.py"]
    second = await baton.run_to_end("wf", workspace_dir=ws2)
    assert second.outputs["impl"]["cache_hit"] is True
    assert (ws2 / "src" / "app.py").read_text() == "print('hi')\n"
    assert len(record.read_text().splitlines()) == 1
    # the workspace state is part of the key: a changed tree misses the cache
    (ws2 / "README.md").write_text("changed\n")
    (ws2 / "src" / "app.py").unlink()
    third = await baton.run_to_end("wf", workspace_dir=ws2)
    assert third.outputs["impl"]["cache_hit"] is False
    assert len(record.read_text().splitlines()) == 2


async def test_shell_steps_are_not_cached_by_default(make_baton: MakeBaton, tmp_path: Path) -> None:
    counter = tmp_path / "n"
    wf = {"steps": [{"id": "a", "agent_id": "sh", "prompt_template": f"echo x >> {counter}"}]}
    baton = make_baton({"wf": wf})
    await baton.run_to_end("wf")
    await baton.run_to_end("wf")
    assert counter.read_text() == "x\nx\n"


async def test_resume_reuses_completed_steps(make_baton: MakeBaton, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    flag = tmp_path / "broken"
    flag.write_text("1")
    wf = {"steps": [
        {"id": "a", "agent_id": "bot", "prompt_template": "A"},
        {"id": "b", "agent_id": "sh", "prompt_template": f"test ! -e {flag} && echo fixed"},
        {"id": "c", "agent_id": "bot", "prompt_template": "{{ outputs.a.text }}+{{ outputs.b.text | trim }}"},
    ]}
    baton = make_baton({"wf": wf}, {"bot": scripted(record=str(record)),
                                    "sh": {"provider": "shell", "model": "bash", "capabilities": ["x"]}})
    first = await baton.run_to_end("wf", no_cache=True)
    assert first.status is ExecutionStatus.FAILED
    assert first.steps == {"a": StepStatus.COMPLETED, "b": StepStatus.FAILED, "c": StepStatus.SKIPPED}
    flag.unlink()
    resumed = await baton.resume(first.execution_id, no_cache=True).wait()
    assert resumed.status is ExecutionStatus.COMPLETED
    assert resumed.outputs["c"]["text"] == "A+fixed"
    steps_called = [line.split('"step": "')[1].split('"')[0] for line in record.read_text().splitlines()]
    assert steps_called == ["a", "c"]  # a ran once, never again
    record_ = baton.store.get_execution(first.execution_id)
    assert record_ is not None and record_.context.status is ExecutionStatus.COMPLETED


async def test_completed_execution_cannot_be_resumed(make_baton: MakeBaton) -> None:
    import pytest

    from baton.engine.errors import ExecutionNotResumable

    baton = make_baton({"wf": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "x"}]}})
    result = await baton.run_to_end("wf")
    with pytest.raises(ExecutionNotResumable):
        baton.resume(result.execution_id)


async def test_worktree_per_execution(make_baton: MakeBaton, tmp_path: Path) -> None:
    repo = tmp_path / "ws"
    _git_repo(repo)
    wf = {"config": {"worktree": True},
          "steps": [{"id": "a", "agent_id": "sh", "prompt_template": "git branch --show-current; pwd"}]}
    baton = make_baton({"wf": wf})
    r1 = await baton.run_to_end("wf")
    r2 = await baton.run_to_end("wf")
    for r in (r1, r2):
        branch, cwd = r.outputs["a"]["text"].split()
        assert branch == f"baton/wf/{r.execution_id}"
        assert cwd.endswith(r.execution_id) and cwd != str(repo)
