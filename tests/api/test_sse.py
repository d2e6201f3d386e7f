"""Server-Sent Events of a running execution, and reconnection with Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from tests.api.conftest import Server, start, wait_for


def _events(resp: httpx.Response) -> Iterator[dict[str, str]]:
    """Parse an SSE byte stream into events (id, event, data); comments are skipped."""
    event: dict[str, str] = {}
    for line in resp.iter_lines():
        if line == "":
            if event:
                yield event
            event = {}
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        event[field] = event[field] + "\n" + value if field in event else value


def test_events_stream_a_running_execution_and_resume_by_last_event_id(server: Server) -> None:
    with server.client("viewer") as viewer, server.client("operator") as operator:
        execution_id = start(operator, "slow")
        received: list[dict[str, str]] = []
        url = f"/api/v1/executions/{execution_id}/events"
        with viewer.stream("GET", url) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            for event in _events(resp):
                if "id" in event:
                    received.append(event)
                if any(e.get("event") == "step.completed" for e in received):
                    break  # drop the connection mid-run
        status = operator.get(f"/api/v1/executions/{execution_id}").json()["status"]
        assert status in ("pending", "running"), "the first connection must end while the execution runs"
        last_id = received[-1]["id"]

        resumed: list[dict[str, str]] = []
        ended: dict[str, str] | None = None
        with viewer.stream("GET", url, headers={"Last-Event-ID": last_id}) as resp:
            for event in _events(resp):
                if event.get("event") == "execution.end":
                    ended = event
                    break
                if "id" in event:
                    resumed.append(event)
                else:
                    assert event == {"retry": "2000"}
        assert ended is not None and json.loads(ended["data"])["status"] == "completed"

        ids = [int(e["id"]) for e in received + resumed]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), "no event twice, in order"
        assert int(resumed[0]["id"]) == int(last_id) + 1
        logs = operator.get(f"/api/v1/executions/{execution_id}/logs", params={"limit": 1000}).json()["items"]
        assert ids == [row["seq"] for row in logs], (
            "every log row arrived exactly once over the two connections"
        )
        kinds = [e["event"] for e in received + resumed]
        assert kinds[0] == "execution.started" and kinds[-1] == "execution.completed"
        assert kinds.count("step.completed") == 6
        first = json.loads(received[0]["data"])
        assert first["seq"] == int(received[0]["id"]) and first["metadata"]["event"] == "execution.started"


def test_events_of_a_finished_execution_replay_and_end(server: Server) -> None:
    with server.client("viewer") as viewer, server.client("operator") as operator:
        execution_id = start(operator, "hello")
        wait_for(operator, execution_id, {"completed"})
        with viewer.stream("GET", f"/api/v1/executions/{execution_id}/events", params={"after": 2}) as resp:
            events = list(_events(resp))
        assert events[-1]["event"] == "execution.end"
        assert int(events[1]["id"]) == 3  # events[0] is the retry hint
        bad = viewer.get(f"/api/v1/executions/{execution_id}/events", headers={"Last-Event-ID": "x"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        missing = viewer.get("/api/v1/executions/nope/events")
        assert missing.status_code == 404
        assert missing.json()["type"] == "urn:baton:problem:execution-not-found"
