"""Integer inputs beyond what the store holds are refused as 422 problems, never a 500 or a broken stream;
the CLI refuses them with exit 2 and a message."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import Server
from tests.integration.userpath import Project

HUGE = "9223372036854775808"  # 2**63


def _an_execution(client: httpx.Client) -> str:
    started = client.post("/api/v1/executions", json={"workflow_id": "readme"})
    assert started.status_code == 202, started.text
    return str(started.json()["execution_id"])


def test_cursor_beyond_int64_is_422(server: Server) -> None:
    with server.client("operator") as client:
        execution_id = _an_execution(client)
        for path in (f"/api/v1/executions/{execution_id}/logs?cursor={HUGE}",
                     f"/api/v1/executions/{execution_id}/events?after={HUGE}",
                     f"/api/v1/audit?cursor={HUGE}"):
            answer = client.get(path)
            assert answer.status_code in (422, 403), (path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
        stream = client.get(f"/api/v1/executions/{execution_id}/events",
                            headers={"Last-Event-ID": HUGE})
        assert stream.status_code == 422, stream.text
        assert "Last-Event-ID" in stream.json()["detail"]


def test_openapi_documents_problems_404_and_409(server: Server) -> None:
    with server.client("viewer") as client:
        doc = client.get("/api/v1/openapi.json").json()
    get_one = doc["paths"]["/api/v1/executions/{execution_id}"]["get"]["responses"]
    for status in ("404", "409", "422"):
        assert "application/problem+json" in get_one[status]["content"], status
    logs = doc["paths"]["/api/v1/executions/{execution_id}/logs"]["get"]["parameters"]
    cursor = next(p for p in logs if p["name"] == "cursor")
    assert "9223372036854775807" in str(cursor["schema"])


def test_cli_limit_beyond_range_is_exit_2(tmp_path: Path) -> None:
    project = Project.init(tmp_path / "repo")
    out = project.baton("history", "--limit", HUGE)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "--limit" in out.stderr
