"""What the Run page derives from the store, without a browser: live step statuses, the
timeline's spans, the step panel's attempts and transcript, the runs list and its totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from baton.engine import Baton
from baton.models import (
    Configuration,
    ExecutionContext,
    ExecutionLog,
    ExecutionStatus,
    LogLevel,
    StepRun,
    StepStatus,
    Trigger,
)
from baton.store import open_store
from baton.store.base import UsageRecord
from baton.ui import queries
from baton.ui.security import LocalGate
from baton.ui.server import create_local_app
from baton.ui.views import build_run, build_step, split_diff

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def baton(tmp_path: Path) -> Baton:
    cfg = Configuration.model_validate({
        "version": "1.0.0",
        "global": {"workspace_dir": str(tmp_path), "budget": {"max_cost_usd": 2.0}},
        "agents": {"bot": {"provider": "scripted", "model": "echo", "capabilities": ["t"],
                           "config": {"script": [{"reply": "ok"}]}}},
        "workflows": {"wf": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "a"},
                                       {"id": "b", "agent_id": "bot", "prompt_template": "b"},
                                       {"id": "c", "agent_id": "bot", "prompt_template": "c"}]}},
    })
    return Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)


def log(ctx: ExecutionContext, step: str | None, event: str, when: float, level: LogLevel = LogLevel.INFO,
        message: str = "", **meta: object) -> ExecutionLog:
    return ExecutionLog(execution_id=ctx.id, step_id=step, level=level, message=message or event,
                        timestamp=at(when), metadata={"event": event, **meta}, trace_id="0" * 32)


def run(ctx: ExecutionContext, step: str, status: StepStatus, attempt: int, start: float,
        end: float | None = None, **kw: object) -> StepRun:
    return StepRun(execution_id=ctx.id, step_id=step, status=status, agent_id="bot", attempt=attempt,
                   iteration=1, started_at=at(start), ended_at=at(end) if end is not None else None, **kw)


def test_statuses_timeline_and_step_panel_follow_the_log(baton: Baton) -> None:
    store = baton.store
    ctx = ExecutionContext(workflow_id="wf", workspace_dir=str(baton.root), start_time=T0, trigger=Trigger.MCP)
    store.create_execution(ctx, workflow_snapshot=baton.workflow("wf").model_dump(mode="json"))
    store.set_execution_status(ctx.id, ExecutionStatus.RUNNING)
    # a: cache hit, completed
    store.save_step(run(ctx, "a", StepStatus.RUNNING, 1, 0),
                    [log(ctx, "a", "step.started", 0, attempt=1, agent_id="bot")])
    store.append_logs([log(ctx, "a", "step.cache_hit", 0.1)])
    store.save_step(run(ctx, "a", StepStatus.COMPLETED, 1, 0, 0.2, cache_hit=True, output={"text": "ok"}),
                    [log(ctx, "a", "step.completed", 0.2)])
    # b: attempt 1 fails and waits for its retry; a permission decision in between
    store.save_step(run(ctx, "b", StepStatus.RUNNING, 1, 1),
                    [log(ctx, "b", "step.started", 1, attempt=1, agent_id="bot")])
    store.append_logs([
        log(ctx, "b", "agent.output", 1.2, LogLevel.DEBUG, event_kind="tool_call", text="ls -la", payload={"cmd": "ls"}),
        log(ctx, "b", "agent.permission", 1.3, message="bot execute rejected: rm -rf / (policy)",
            decision="reject", tool_kind="execute", command="rm -rf /"),
        log(ctx, "b", "step.rate_limited", 1.4, wait_seconds=0.5),
        log(ctx, "b", "step.retrying", 2.0, LogLevel.WARNING, attempt=1, delay_seconds=1.5,
            error_type="AgentFailed", error="boom"),
    ])
    view = build_run(store, store.get_execution(ctx.id), baton.configuration.global_.budget)
    assert [(s.id, s.status) for s in view.steps] == [("a", "cached"), ("b", "retrying"), ("c", "pending")]
    assert view.done == 1
    spans = [(b.step_id, b.kind, b.outcome, b.start, b.end) for b in view.bars]
    assert spans == [
        ("a", "cache", "ok", at(0), at(0.2)),
        ("b", "attempt", "failed", at(1), at(2.0)),
        ("b", "rate-wait", "", at(1.4), at(1.9)),
        ("b", "retry-wait", "", at(2.0), None),  # still waiting: open
    ]
    # attempt 2 succeeds; the retry wait closes when it starts
    store.save_step(run(ctx, "b", StepStatus.RUNNING, 2, 3.5),
                    [log(ctx, "b", "step.started", 3.5, attempt=2, agent_id="bot")])
    store.save_step(
        run(ctx, "b", StepStatus.COMPLETED, 2, 3.5, 4.0,
            output={"text": "fine", "json": {"k": 1}, "model": "echo-2", "cost_usd": 0.25,
                    "usage": {"input_tokens": 7, "output_tokens": 3}}),
        [log(ctx, "b", "step.completed", 4.0)],
        usage=UsageRecord(execution_id=ctx.id, step_id="b", agent_id="bot", model="echo-2", workflow_id="wf",
                          input_tokens=7, output_tokens=3, cost_usd=0.25, at=at(4.0)),
    )
    view = build_run(store, store.get_execution(ctx.id), baton.configuration.global_.budget)
    assert [(s.id, s.status) for s in view.steps] == [("a", "cached"), ("b", "completed"), ("c", "pending")]
    assert [(b.kind, b.outcome, b.end) for b in view.bars if b.step_id == "b"] == [
        ("attempt", "failed", at(2.0)), ("rate-wait", "", at(1.9)), ("retry-wait", "", at(3.5)),
        ("attempt", "ok", at(4.0)),
    ]
    assert (view.tokens, view.cost_usd, view.budget.max_cost_usd) == (10, 0.25, 2.0)
    panel = build_step(store, store.get_execution(ctx.id), "b", baton.root / ".baton" / "artifacts")
    assert [(a.number, a.outcome, a.error) for a in panel.attempts] == [
        (1, "failed", "AgentFailed: boom"), (2, "completed", None)]
    assert [(t.kind, t.text) for t in panel.transcript] == [
        ("tool_call", "ls -la"), ("permission reject", "bot execute rejected: rm -rf / (policy)")]
    assert panel.transcript[1].payload["command"] == "rm -rf /"
    assert (panel.output_json, panel.model, panel.cost_usd, panel.text) == ({"k": 1}, "echo-2", 0.25, "fine")

    # the runs list: totals per row, filters, cursor
    page = queries.list_runs(store.engine, queries.RunFilter(), cursor=None)
    row = page.rows[0]
    assert (row.id, row.status, row.steps_done, row.steps_total, row.tokens, row.cost_usd, row.trigger) == (
        ctx.id, "running", 2, 3, 10, 0.25, "MCP")
    assert row.waiting is False
    assert queries.list_runs(store.engine, queries.RunFilter(text="nomatch"), cursor=None).rows == []
    assert queries.list_runs(store.engine, queries.RunFilter(status=ExecutionStatus.FAILED), cursor=None).rows == []
    with pytest.raises(queries.InvalidCursor):
        queries.list_runs(store.engine, queries.RunFilter(), cursor="nope")



def test_a_step_waiting_for_its_agents_slot_shows_queued_with_why(baton: Baton) -> None:
    store = baton.store
    ctx = ExecutionContext(workflow_id="wf", workspace_dir=str(baton.root), start_time=T0)
    store.create_execution(ctx, workflow_snapshot=baton.workflow("wf").model_dump(mode="json"))
    store.set_execution_status(ctx.id, ExecutionStatus.RUNNING)
    why = "all 1 slots of agent bot's max_concurrency are in use (by process 42 on h)"
    # as the engine writes it: started, PENDING while it waits for the slot, RUNNING once it has it
    store.save_step(run(ctx, "a", StepStatus.RUNNING, 1, 0), [log(ctx, "a", "step.started", 0, attempt=1)])
    store.save_step(run(ctx, "a", StepStatus.PENDING, 1, 0),
                    [log(ctx, "a", "step.queued", 0.1, message=f"step a waits for a slot of bot: {why}",
                         reason=why, agent_id="bot")])
    view = build_run(store, store.get_execution(ctx.id), baton.configuration.global_.budget)
    assert [(s.id, s.status, s.note) for s in view.steps] == [
        ("a", "queued", why), ("b", "pending", ""), ("c", "pending", "")]
    assert [(b.kind, b.start, b.end) for b in view.bars] == [("attempt", at(0), None), ("slot-wait", at(0.1), None)]
    panel = build_step(store, store.get_execution(ctx.id), "a", baton.root / ".baton" / "artifacts")
    assert panel.attempts[0].notes == [f"step a waits for a slot of bot: {why}"]

    store.save_step(run(ctx, "a", StepStatus.RUNNING, 1, 0), [log(ctx, "a", "step.running", 2.0)])
    view = build_run(store, store.get_execution(ctx.id), baton.configuration.global_.budget)
    assert (view.steps[0].status, view.steps[0].note) == ("running", "")
    assert [(b.kind, b.end) for b in view.bars] == [("attempt", None), ("slot-wait", at(2.0))]

def test_diffs_are_split_per_file() -> None:
    text = (
        "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old\n+new\n"
        "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
    )
    first, second = split_diff(text.split("--- a/gone.txt")[0]), split_diff("--- a/gone.txt" + text.split("--- a/gone.txt")[1])
    assert [(d.path, d.added, d.removed) for d in first + second] == [("x.py", 1, 1), ("gone.txt", 0, 1)]


def test_pages_escape_and_redact_and_send_the_headers(baton: Baton, tmp_path: Path) -> None:
    from baton.observability.redact import register_secret

    register_secret("sk-dashboard-secret-123456")
    store = baton.store
    ctx = ExecutionContext(workflow_id="wf", workspace_dir=str(baton.root), start_time=T0)
    store.create_execution(ctx, workflow_snapshot=baton.workflow("wf").model_dump(mode="json"))
    store.save_step(run(ctx, "a", StepStatus.COMPLETED, 1, 0, 1,
                        output={"text": "<script>alert(1)</script> key=sk-dashboard-secret-123456"}),
                    [log(ctx, "a", "step.completed", 1, message="<img src=x onerror=alert(2)>")])
    gate = LocalGate("t")
    client = TestClient(create_local_app(baton, None, gate, 8000), base_url="http://127.0.0.1:8000")
    assert client.get("/?token=t").status_code == 200
    page = client.get(f"/runs/{ctx.id}?step=a")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text and "&lt;img src=x onerror=alert(2)&gt;" in page.text
    assert "sk-dashboard-secret-123456" not in page.text and "key=***" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    # the login token was single-use; a wrong Host is refused
    fresh = TestClient(client.app, base_url="http://127.0.0.1:8000")
    assert fresh.get("/?token=t", follow_redirects=False).headers["location"].startswith("/signin")
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 421


def test_sign_in_redirects_stay_on_the_site() -> None:
    from baton.ui.routes import _safe_next

    assert _safe_next("/runs/abc?step=x") == "/runs/abc?step=x"
    for bad in ("//evil.example", "/\\evil.example", "https://evil.example", "/x\\y", "/a\nLocation: x", ""):
        assert _safe_next(bad) == "/", bad


def test_usage_page_charts_usage_and_todays_quota_consumption(tmp_path: Path) -> None:
    cfg = Configuration.model_validate({
        "version": "1.0.0",
        "global": {"workspace_dir": str(tmp_path),
                   "quotas": {"agents": {"bot": {"max_cost_usd_per_day": 1.0, "max_tokens_per_day": 1000}},
                              "workflows": {"*": {"max_cost_usd_per_day": 5.0}}}},
        "agents": {"bot": {"provider": "scripted", "model": "echo", "capabilities": ["t"],
                           "config": {"script": [{"reply": "ok"}]}}},
        "workflows": {"wf": {"steps": [{"id": "a", "agent_id": "bot", "prompt_template": "a"}]}},
    })
    baton = Baton(cfg, open_store(None, base_dir=tmp_path), root=tmp_path)
    store = baton.store
    now = datetime.now(UTC)
    ctx = ExecutionContext(workflow_id="wf", workspace_dir=str(tmp_path), start_time=now)
    store.create_execution(ctx, workflow_snapshot=baton.workflow("wf").model_dump(mode="json"))
    for when, tokens, cost in ((now - timedelta(days=3), 500, 0.5), (now, 300, 0.25)):
        store.record_usage(UsageRecord(execution_id=ctx.id, step_id="a", agent_id="bot", model="echo-9",
                                       workflow_id="wf", input_tokens=tokens, output_tokens=0, cost_usd=cost,
                                       at=when))
    client = TestClient(create_local_app(baton, None, LocalGate("t"), 8000), base_url="http://127.0.0.1:8000")
    client.get("/?token=t")
    page = client.get("/usage?days=30").text
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 8
    assert "echo-9: $0.7500" in page and "echo-9: 800" in page  # by model, over 30 days
    # today's consumption against each quota (only today's record counts)
    bot = page.split('data-quota="agent:bot"')[1].split("</tr>")[0]
    assert "300 / 1,000" in bot and 'value="300"' in bot and "$0.2500 / $1.0000" in bot
    wf = page.split('data-quota="workflow:wf"')[1].split("</tr>")[0]
    assert "$0.2500 / $5.0000" in wf and 'class="tokens"' not in wf


def test_a_langgraph_loop_shows_its_iteration_count_in_the_graph() -> None:
    from baton.models import Workflow
    from baton.ui.charts import graph
    from baton.ui.views import StepView

    wf = Workflow.model_validate({
        "id": "loop", "name": "loop", "type": "langgraph",
        "steps": [
            {"id": "test", "agent_id": "sh", "prompt_template": "t",
             "next": [{"when": "'green' in outputs.test.text", "goto": "end"}, {"goto": "fix"}]},
            {"id": "fix", "agent_id": "bot", "prompt_template": "f", "next": "test"},
        ],
    })
    svg = str(graph(wf, [StepView("test", "sh", "running", 1, 3), StepView("fix", "bot", "completed", 1, 2)], None))
    assert '<g class="node st-running" data-id="test">' in svg
    assert '<g class="node st-completed" data-id="fix">' in svg
    assert "sh · iteration 3" in svg and "bot · iteration 2" in svg
