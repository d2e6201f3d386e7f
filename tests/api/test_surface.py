"""Probes, workflows, agents, OpenAPI, request size limits and the problem+json shape."""

from __future__ import annotations

import httpx

from tests.api.conftest import Server, start, wait_for

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def _problem(resp: httpx.Response, status: int, slug: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["type"] == f"urn:baton:problem:{slug}" and body["status"] == status
    assert body["instance"] == resp.request.url.path
    assert "\n" not in body["detail"] and "Traceback" not in body["detail"]
    return body


def test_problem_details_have_one_shape(server: Server, viewer: httpx.Client, operator: httpx.Client) -> None:
    _problem(httpx.get(f"{server.url}/api/v1/executions"), 401, "unauthenticated")
    _problem(viewer.post("/api/v1/executions", json={"workflow_id": "hello"}), 403, "forbidden")
    _problem(viewer.get("/api/v1/executions/0000"), 404, "execution-not-found")
    _problem(viewer.get("/api/v1/workflows/nope"), 404, "workflow-not-found")
    _problem(viewer.get("/api/v1/nothing-here"), 404, "not-found")
    _problem(viewer.delete("/api/v1/workflows"), 405, "method-not-allowed")
    body = _problem(operator.post("/api/v1/executions", json={"parameters": {}}), 422, "validation-error")
    assert body["errors"][0]["location"] == "body.workflow_id"
    _problem(
        operator.post(
            "/api/v1/executions", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "validation-error",
    )
    _problem(operator.get("/api/v1/executions", params={"limit": 0}), 422, "validation-error")


def test_request_body_limit_is_413(server: Server, operator: httpx.Client) -> None:
    big = {"workflow_id": "hello", "parameters": {"who": "x" * 70_000}}
    _problem(operator.post("/api/v1/executions", json=big), 413, "payload-too-large")

    def chunks():  # no Content-Length: the limit is counted while reading
        for _ in range(10):
            yield b"x" * 10_000

    resp = operator.post("/api/v1/executions", content=chunks(), headers={"content-type": "application/json"})
    _problem(resp, 413, "payload-too-large")


def test_probes(server: Server) -> None:
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = httpx.get(f"{server.url}/readyz")
    body = ready.json()
    assert ready.status_code == 200, body
    assert body["status"] == "ready"
    assert (
        body["checks"]["database"]["ok"] and body["checks"]["queue"]["ok"] and body["checks"]["agents"]["ok"]
    )
    metrics = httpx.get(f"{server.url}/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "baton_api_requests_total" in metrics.text
    assert "baton_api_request_duration_seconds_bucket" in metrics.text


def test_metrics_count_submissions(server: Server, operator: httpx.Client) -> None:
    def submitted() -> float:
        for line in httpx.get(f"{server.url}/metrics").text.splitlines():
            if line.startswith('baton_api_executions_submitted_total{workflow="hello"}'):
                return float(line.split()[-1])
        return 0.0

    before = submitted()
    wait_for(operator, start(operator, "hello"), {"completed"})
    assert submitted() == before + 1
    # the in-process worker's engine metrics are served on the same endpoint
    text = httpx.get(f"{server.url}/metrics").text
    assert "baton_executions_total{" in text and 'workflow="hello"' in text


def test_openapi_document_is_published_under_v1(server: Server) -> None:
    spec = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Baton API"
    paths = spec["paths"]
    for path in (
        "/api/v1/executions",
        "/api/v1/executions/{execution_id}",
        "/api/v1/executions/{execution_id}/events",
        "/api/v1/workflows/{workflow_id}",
        "/api/v1/agents/{agent_id}/check",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    create = paths["/api/v1/executions"]["post"]
    assert "202" in create["responses"]
    schema = spec["components"]["schemas"]["ExecutionCreate"]["properties"]
    assert schema["timeout_seconds"]["anyOf"][0]["minimum"] == 10
    assert schema["timeout_seconds"]["anyOf"][0]["maximum"] == 3600


def test_workflows_and_mermaid(viewer: httpx.Client) -> None:
    items = viewer.get("/api/v1/workflows").json()
    by_id = {w["id"]: w for w in items}
    assert {"hello", "slow", "release", "readme"} <= set(by_id)
    assert by_id["hello"]["steps"] == 2 and by_id["hello"]["parameters"]["who"]["default"] == "world"
    hello = viewer.get("/api/v1/workflows/hello").json()
    assert hello["mermaid"].startswith("flowchart TD") and "s_greet --> s_echo" in hello["mermaid"]
    assert [s["id"] for s in hello["definition"]["steps"]] == ["greet", "echo"]
    release = viewer.get("/api/v1/workflows/release").json()
    assert release["type"] == "langgraph" and "deploy" in release["mermaid"]


def test_agents_status_and_health_check(viewer: httpx.Client, admin: httpx.Client) -> None:
    checked = admin.post("/api/v1/agents/slowbot/check").json()
    assert checked["ok"] is True and checked["status"] == "active" and checked["checked_at"]
    agents = {a["id"]: a for a in viewer.get("/api/v1/agents").json()}
    assert set(agents) == {"bot", "slowbot", "sh"}
    assert agents["slowbot"]["status"] == "active"
    assert agents["slowbot"]["last_health_check"] == checked["checked_at"]
    assert agents["bot"]["available"] is True and agents["bot"]["capabilities"] == ["test"]
    missing = admin.post("/api/v1/agents/ghost/check")
    assert missing.status_code == 404 and missing.json()["type"] == "urn:baton:problem:agent-not-found"
