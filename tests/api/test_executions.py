"""Executions through real HTTP: start, inspect, list, cancel, approve, logs, idempotency."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.api.conftest import Server, start, wait_for


def test_start_returns_202_at_once_and_the_worker_runs_it(operator: httpx.Client) -> None:
    t0 = time.monotonic()
    resp = operator.post("/api/v1/executions", json={"workflow_id": "hello", "parameters": {"who": "ada"}})
    assert resp.status_code == 202, resp.text
    assert time.monotonic() - t0 < 2
    body = resp.json()
    assert body["status"] == "pending" and body["workflow_id"] == "hello"
    assert resp.headers["location"] == f"/api/v1/executions/{body['execution_id']}"
    assert body["links"]["events"].endswith("/events")

    done = wait_for(operator, body["execution_id"], {"completed", "failed"})
    assert done["status"] == "completed", done
    assert done["progress"] == 1.0 and done["current_steps"] == []
    assert [s["step_id"] for s in done["steps"]] == ["greet", "echo"]
    assert done["steps"][1]["output"]["text"] == "again hello ada"
    assert set(done["usage"]) >= {"input_tokens", "output_tokens"}
    assert done["cost_usd"] == 0.0 and done["error"] is None
    assert done["submitted_by"] == "operator" and done["priority"] == 5
    assert done["owner"]  # the in-process worker claimed it
    assert len(done["config_hash"]) == 64 and done["config_version"] is None  # never applied
    assert done["trigger"] == "api"  # submitted here, run by the worker: still the API's
    listed = operator.get("/api/v1/executions", params={"limit": 50}).json()["items"]
    item = next(i for i in listed if i["execution_id"] == body["execution_id"])
    assert item["config_hash"] == done["config_hash"] and item["trigger"] == "api"


def test_progress_and_current_steps_of_a_running_execution(operator: httpx.Client) -> None:
    # A step's start is stored with its end when it ends within 0.1 s, else as RUNNING at
    # 0.1 s (docs/architecture.md); so a poll may land in that window and see no current step.
    execution_id = start(operator, "slow")
    seen_partial = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        data = operator.get(f"/api/v1/executions/{execution_id}").json()
        if data["status"] == "running" and 0 < data["progress"] < 1 and data["current_steps"]:
            done = round(data["progress"] * 6)
            assert data["current_steps"] == [f"s{done + 1}"], data
            seen_partial = True
            break
        time.sleep(0.05)
    assert seen_partial
    assert wait_for(operator, execution_id, {"completed"})["progress"] == 1.0


def test_list_filters_and_cursor_pagination(operator: httpx.Client) -> None:
    ids = [start(operator, "hello", parameters={"who": f"p{i}"}) for i in range(5)]
    for execution_id in ids:
        wait_for(operator, execution_id, {"completed"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"workflow_id": "hello", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = operator.get("/api/v1/executions", params=params).json()
        assert len(page["items"]) <= 2
        seen += [item["execution_id"] for item in page["items"]]
        assert all(item["workflow_id"] == "hello" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert seen[:5] == list(reversed(ids))  # newest first
    completed = operator.get("/api/v1/executions", params={"status": "completed", "limit": 200}).json()
    assert set(ids) <= {i["execution_id"] for i in completed["items"]}
    failed = operator.get("/api/v1/executions", params={"status": "failed", "limit": 200}).json()["items"]
    assert all(item["status"] == "failed" for item in failed) and not set(ids) & {
        i["execution_id"] for i in failed
    }
    bad = operator.get("/api/v1/executions", params={"cursor": "nope"})
    assert bad.status_code == 404 and bad.json()["type"] == "urn:baton:problem:invalid-cursor"


def test_cancel_stops_a_running_execution(operator: httpx.Client) -> None:
    execution_id = start(operator, "forever")
    wait_for(operator, execution_id, {"running"})
    time.sleep(0.5)
    resp = operator.post(f"/api/v1/executions/{execution_id}/cancel")
    assert resp.status_code == 200, resp.text
    data = wait_for(operator, execution_id, {"cancelled"}, timeout=15)
    assert "cancelled by operator" in (data["error"] or "")
    deadline = time.monotonic() + 10
    while any(s["status"] == "running" for s in data["steps"]) and time.monotonic() < deadline:
        time.sleep(0.1)
        data = operator.get(f"/api/v1/executions/{execution_id}").json()
    assert not any(s["status"] == "running" for s in data["steps"])
    again = operator.post(f"/api/v1/executions/{execution_id}/cancel")
    assert again.status_code == 409 and again.json()["type"] == "urn:baton:problem:illegal-transition"


def test_approve_continues_a_paused_langgraph_execution(operator: httpx.Client) -> None:
    execution_id = start(operator, "release")
    paused = wait_for(operator, execution_id, {"pending"}, timeout=20)
    deadline = time.monotonic() + 20
    while not any(s["status"] == "waiting" for s in paused["steps"]) and time.monotonic() < deadline:
        time.sleep(0.1)
        paused = operator.get(f"/api/v1/executions/{execution_id}").json()
    assert paused["current_steps"] == ["deploy"], paused
    wrong = operator.post(f"/api/v1/executions/{execution_id}/approve", json={"step": "announce"})
    assert wrong.status_code == 409 and wrong.json()["type"] == "urn:baton:problem:not-waiting"
    resp = operator.post(
        f"/api/v1/executions/{execution_id}/approve", json={"step": "deploy", "reason": "green build"}
    )
    assert resp.status_code == 202, resp.text
    done = wait_for(operator, execution_id, {"completed", "failed"}, timeout=30)
    assert done["status"] == "completed", done
    logs = operator.get(f"/api/v1/executions/{execution_id}/logs", params={"limit": 1000}).json()["items"]
    approved = [row for row in logs if row["metadata"]["event"] == "step.approved"]
    assert approved and approved[0]["metadata"]["by"] == "operator"


def test_logs_filter_by_level_and_step_with_a_cursor(operator: httpx.Client) -> None:
    execution_id = start(operator, "hello")
    wait_for(operator, execution_id, {"completed"})
    everything = operator.get(f"/api/v1/executions/{execution_id}/logs", params={"limit": 1000}).json()
    rows = everything["items"]
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    assert any(r["level"] == "debug" for r in rows)
    info = operator.get(f"/api/v1/executions/{execution_id}/logs", params={"level": "info"}).json()["items"]
    assert info and all(r["level"] != "debug" for r in info)
    greet = operator.get(f"/api/v1/executions/{execution_id}/logs", params={"step": "greet"}).json()["items"]
    assert greet and all(r["step_id"] == "greet" for r in greet)
    paged: list[int] = []
    cursor = None
    while True:
        page = operator.get(
            f"/api/v1/executions/{execution_id}/logs",
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
        ).json()
        paged += [r["seq"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == [r["seq"] for r in rows]


def test_idempotency_key_never_starts_a_second_execution(server: Server, operator: httpx.Client) -> None:
    body = {"workflow_id": "hello", "parameters": {"who": "idem"}, "idempotency_key": "k-1"}
    first = operator.post("/api/v1/executions", json=body)
    second = operator.post("/api/v1/executions", json=body)
    assert first.status_code == second.status_code == 202
    assert first.json()["execution_id"] == second.json()["execution_id"]
    assert first.json()["idempotent_replay"] is False and second.json()["idempotent_replay"] is True
    assert second.headers["idempotent-replayed"] == "true"
    header = operator.post(
        "/api/v1/executions",
        json={k: v for k, v in body.items() if k != "idempotency_key"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert header.json()["execution_id"] == first.json()["execution_id"]
    other = operator.post("/api/v1/executions", json={**body, "parameters": {"who": "else"}})
    assert other.status_code == 422
    assert other.json()["type"] == "urn:baton:problem:idempotency-key-reused"

    # the same key sent by 12 clients at once, three times over: one execution per key
    for round_ in range(3):
        racing = {
            "workflow_id": "hello",
            "parameters": {"who": "race"},
            "idempotency_key": f"k-race-{round_}",
        }
        barrier = threading.Barrier(12)

        def post(_: int, racing: dict = racing, barrier: threading.Barrier = barrier) -> httpx.Response:
            with server.client("operator") as client:
                barrier.wait()
                return client.post("/api/v1/executions", json=racing)

        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(post, range(12)))
        assert {r.status_code for r in responses} == {202}, [r.text for r in responses]
        assert len({r.json()["execution_id"] for r in responses}) == 1
        assert sum(not r.json()["idempotent_replay"] for r in responses) == 1
        execution_id = responses[0].json()["execution_id"]
        wait_for(operator, execution_id, {"completed"})
        calls = [json.loads(line) for line in server.record.read_text().splitlines()]
        assert len([c for c in calls if c["execution"] == execution_id and c["step"] == "greet"]) == 1

    # keys are per token: the admin's "k-1" is a different key
    with server.client("admin") as admin:
        mine = admin.post("/api/v1/executions", json=body)
    assert mine.status_code == 202 and mine.json()["execution_id"] != first.json()["execution_id"]


def test_invalid_requests_are_problems_and_start_nothing(operator: httpx.Client) -> None:
    before = len(operator.get("/api/v1/executions", params={"limit": 200}).json()["items"])
    cases = [
        ({"workflow_id": "nope"}, 404, "workflow-not-found"),
        ({"workflow_id": "hello", "parameters": {"bogus": 1}}, 422, "invalid-parameters"),
        ({"workflow_id": "hello", "timeout_seconds": 5}, 422, "validation-error"),
        ({"workflow_id": "hello", "priority": 0}, 422, "validation-error"),
        ({"workflow_id": "hello", "workspace_dir": "/etc"}, 422, "workspace-not-allowed"),
        ({"workflow_id": "hello", "repo": "/etc"}, 422, "repo-not-allowed"),
        ({"workflow_id": "hello", "surprise": True}, 422, "validation-error"),
    ]
    for body, status, slug in cases:
        resp = operator.post("/api/v1/executions", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["type"] == f"urn:baton:problem:{slug}", resp.text
    after = len(operator.get("/api/v1/executions", params={"limit": 200}).json()["items"])
    assert after == before


def test_repo_is_cloned_into_a_fresh_workspace(server: Server, operator: httpx.Client) -> None:
    repo = server.root / "upstream"
    repo.mkdir()
    (repo / "README.md").write_text("cloned by baton\n")
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "."],
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"],
    ):
        subprocess.run(argv, cwd=repo, check=True)
    execution_id = start(operator, "readme", repo=str(repo), ref="main")
    done = wait_for(operator, execution_id, {"completed", "failed"}, timeout=30)
    assert done["status"] == "completed", done
    assert done["steps"][0]["output"]["text"].strip() == "cloned by baton"
    assert done["workspace_dir"] != str(repo) and done["workspace_dir"].endswith(execution_id)


def test_timeout_seconds_fails_an_execution_that_runs_too_long(operator: httpx.Client) -> None:
    execution_id = start(operator, "forever", timeout_seconds=10)
    data = wait_for(operator, execution_id, {"failed", "completed", "cancelled"}, timeout=30)
    assert data["status"] == "failed"
    assert "timed out after 10s" in data["error"]


def test_an_execution_is_found_by_a_unique_prefix_of_its_id(operator: httpx.Client) -> None:
    first, second = start(operator, "hello"), start(operator, "hello")
    wait_for(operator, second, {"completed", "failed"})
    got = operator.get(f"/api/v1/executions/{second[:-4]}")
    assert got.status_code == 200 and got.json()["execution_id"] == second
    logs = operator.get(f"/api/v1/executions/{second[:-4]}/logs")
    assert logs.status_code == 200 and logs.json()["items"]
    common = next(i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b)
    ambiguous = operator.get(f"/api/v1/executions/{second[:common]}")
    assert ambiguous.status_code == 409, ambiguous.text
    assert ambiguous.json()["type"].endswith("ambiguous-execution-id")
