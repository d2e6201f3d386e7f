"""Auth and roles on every route (no token / viewer / operator / admin), issued tokens,
rate limits and the audit trail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.api.conftest import ROLES, Server, start, wait_for

RANK = {None: -1, "viewer": 0, "operator": 1, "admin": 2}

# (method, path, least role or None for public probes, JSON body); {done} is a finished execution
ROUTES = [
    ("GET", "/api/v1/executions", "viewer", None),
    ("POST", "/api/v1/executions", "operator", {"workflow_id": "hello"}),
    ("GET", "/api/v1/executions/{done}", "viewer", None),
    ("POST", "/api/v1/executions/{done}/cancel", "operator", None),
    ("POST", "/api/v1/executions/{done}/approve", "operator", {}),
    ("GET", "/api/v1/executions/{done}/logs", "viewer", None),
    ("GET", "/api/v1/executions/{done}/events", "viewer", None),
    ("GET", "/api/v1/workflows", "viewer", None),
    ("GET", "/api/v1/workflows/{workflow_id}", "viewer", None),
    ("GET", "/api/v1/agents", "viewer", None),
    ("POST", "/api/v1/agents/{agent_id}/check", "admin", None),
    ("GET", "/api/v1/audit", "admin", None),
    ("GET", "/api/v1/export", "admin", None),
    ("GET", "/healthz", None, None),
    ("GET", "/readyz", None, None),
    ("GET", "/metrics", None, None),
    ("GET", "/api/v1/openapi.json", None, None),
]


@pytest.fixture(scope="module")
def done(server: Server) -> str:
    with server.client("operator") as operator:
        execution_id = start(operator, "hello")
        wait_for(operator, execution_id, {"completed"})
    return execution_id


def test_the_matrix_covers_every_route_of_the_openapi_document(server: Server) -> None:
    spec = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    covered = {(m, p.replace("{done}", "{execution_id}")) for m, p, _, _ in ROUTES}
    assert documented <= covered, f"routes missing from the auth matrix: {documented - covered}"


@pytest.mark.parametrize("caller", [None, *ROLES], ids=["anonymous", *ROLES])
@pytest.mark.parametrize(
    ("method", "path", "needs", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
def test_auth_matrix(
    server: Server,
    done: str,
    caller: str | None,
    method: str,
    path: str,
    needs: str | None,
    body: dict | None,
) -> None:
    url = path.format(done=done, workflow_id="hello", agent_id="bot")
    headers = {"Authorization": f"Bearer {server.tokens[caller]}"} if caller else {}
    resp = httpx.request(method, f"{server.url}{url}", json=body, headers=headers, timeout=30)
    if needs is None:
        assert resp.status_code in (200, 503), resp.text
        return
    if caller is None:
        assert resp.status_code == 401, resp.text
        assert resp.headers["www-authenticate"].startswith("Bearer")
        assert resp.json()["type"] == "urn:baton:problem:unauthenticated"
    elif RANK[caller] < RANK[needs]:
        assert resp.status_code == 403, resp.text
        problem = resp.json()
        assert problem["type"] == "urn:baton:problem:forbidden"
        assert needs in problem["detail"] and caller in problem["detail"]
    else:
        assert resp.status_code not in (401, 403) and resp.status_code < 500, resp.text


def test_unknown_malformed_and_revoked_tokens_are_401(server: Server) -> None:
    for header in ("Bearer nope-nope-nope", "Basic dXNlcjpwYXNz", "Bearer", "Token abc"):
        resp = httpx.get(f"{server.url}/api/v1/workflows", headers={"Authorization": header})
        assert resp.status_code == 401, header

    def baton(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "baton", *args],
            cwd=server.root,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **server.env},
        )

    created = baton("tokens", "create", "--role", "operator", "--name", "ci-bot", "--json")
    assert created.returncode == 0, created.stderr
    issued = json.loads(created.stdout)
    assert issued["token"].startswith(f"bt_{issued['id']}_")
    listed = baton("tokens", "list", "--json")
    assert issued["token"] not in listed.stdout and issued["id"] in listed.stdout
    stored = (server.root / ".baton" / "baton.db").read_bytes()
    assert issued["token"].encode() not in stored, "only the hash is stored"

    headers = {"Authorization": f"Bearer {issued['token']}"}
    ok = httpx.post(f"{server.url}/api/v1/executions", json={"workflow_id": "hello"}, headers=headers)
    assert ok.status_code == 202, ok.text
    forbidden = httpx.post(f"{server.url}/api/v1/agents/bot/check", headers=headers)
    assert forbidden.status_code == 403

    revoked = baton("tokens", "revoke", issued["id"])
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 10
    status = 200
    while time.monotonic() < deadline:
        status = httpx.get(f"{server.url}/api/v1/workflows", headers=headers).status_code
        if status == 401:
            break
        time.sleep(0.5)
    assert status == 401, "a revoked token stops working within the cache time"
    again = baton("tokens", "revoke", issued["id"])
    assert again.returncode != 0 and "not found" in again.stderr and "Traceback" not in again.stderr


def test_rate_limit_answers_429_with_retry_after(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.tokens['slowpoke']}"}
    statuses = []
    retry_after = None
    for _ in range(4):
        resp = httpx.get(f"{server.url}/api/v1/workflows", headers=headers)
        statuses.append(resp.status_code)
        if resp.status_code == 429:
            retry_after = resp.headers["retry-after"]
            assert resp.json()["type"] == "urn:baton:problem:rate-limited"
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    assert retry_after is not None and int(retry_after) >= 1
    # other tokens are not affected
    assert (
        httpx.get(
            f"{server.url}/api/v1/workflows", headers={"Authorization": f"Bearer {server.tokens['viewer']}"}
        ).status_code
        == 200
    )


def test_every_write_leaves_an_audit_row(server: Server) -> None:
    with (
        server.client("operator") as operator,
        server.client("viewer") as viewer,
        server.client("admin") as admin,
    ):
        execution_id = start(operator, "hello", idempotency_key="audit-1")
        denied = viewer.post("/api/v1/executions", json={"workflow_id": "hello"})
        assert denied.status_code == 403
        failed = operator.post(f"/api/v1/executions/{execution_id}/approve", json={})
        assert failed.status_code == 409
        checked = admin.post("/api/v1/agents/bot/check")
        assert checked.status_code == 200 and checked.json()["status"] == "active"
        rows = admin.get("/api/v1/audit", params={"limit": 500}).json()["items"]

    def find(actor: str, path: str, status: int) -> dict:
        matches = [
            r for r in rows if r["actor"] == actor and r["path"] == path and r["status_code"] == status
        ]
        assert matches, f"no audit row for {actor} {path} {status}"
        return matches[0]

    created = find("operator", "/api/v1/executions", 202)
    assert any(
        r["target"] == execution_id and r["detail"].get("idempotency_key") == "audit-1"
        for r in rows
        if r["actor"] == "operator"
    )
    assert created["method"] == "POST" and created["role"] == "operator" and created["request_id"]
    find("viewer", "/api/v1/executions", 403)
    assert find("operator", f"/api/v1/executions/{execution_id}/approve", 409)["target"] == execution_id
    assert find("admin", "/api/v1/agents/bot/check", 200)["target"] == "bot"
    assert all(r["method"] not in ("GET", "HEAD") for r in rows), "reads are not audited"
