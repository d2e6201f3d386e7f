"""Two worker processes and the API on one real PostgreSQL; kill -9 one worker mid-run.

Every one of 200 executions must complete exactly once, none lost, and no step that had
completed may run again (the scripted agent's record file counts every agent call, in
every process).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.api.serverproc import Proc, free_port, start_server
from tests.store.conftest import PostgresDatabases, postgres_base_url

EXECUTIONS = 200
STEPS = ("plan", "build", "check")
CONCURRENCY = 8  # per worker; the limits in baton.yaml hold for both workers together

CONFIG = """
version: "1.0.0"
global: {{cache: {{enabled: false}}, workspace_dir: ws, database_url: "{url}",
          max_concurrent_executions: {total}}}
deployment: {{heartbeat_seconds: 0.5, dead_after_seconds: 3}}
api:
  rate_limit: {{requests_per_second: 100000, burst: 100000}}
  tokens: [{{name: ops, role: operator, token: "${{T_OPS}}"}}]
agents:
  bot:
    provider: scripted
    model: echo
    capabilities: [test]
    max_concurrency: {total}
    config: {{record: "{record}", script: [{{echo: true, delay: 0.15}}]}}
workflows:
  chain:
    parameters: {{n: {{type: integer}}}}
    steps:
      - {{id: plan, agent_id: bot, prompt_template: "plan {{{{ params.n }}}}"}}
      - {{id: build, agent_id: bot, prompt_template: "build {{{{ outputs.plan.text }}}}"}}
      - {{id: check, agent_id: bot, prompt_template: "check {{{{ outputs.build.text }}}}"}}
"""


@pytest.fixture
def pg_url() -> Iterator[str]:
    dbs = PostgresDatabases(postgres_base_url())
    try:
        yield dbs.new()
    finally:
        dbs.drop_all()


def _calls(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


@pytest.mark.postgres
@pytest.mark.slow
def test_kill_9_of_a_worker_loses_nothing_and_reruns_no_completed_step(tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "ws").mkdir()
    record = tmp_path / "calls.jsonl"
    (tmp_path / "baton.yaml").write_text(CONFIG.format(url=pg_url, record=record, total=2 * CONCURRENCY))
    token = secrets.token_hex(16)
    env = {"T_OPS": token}
    engine = create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
        if pg_url.startswith("postgresql://")
        else pg_url
    )
    port = free_port()
    api = start_server(tmp_path, port, "--workers", "0", env=env)
    workers = {
        name: Proc(
            ["worker", "--worker-id", name, "--concurrency", str(CONCURRENCY)],
            tmp_path,
            tmp_path / f"{name}.log",
            env,
        )
        for name in ("w1", "w2")
    }
    try:
        deadline = time.monotonic() + 60
        alive = 0
        while time.monotonic() < deadline:
            for name, proc in workers.items():
                assert proc.alive(), f"{name} exited:\n{proc.output()}"
            with engine.connect() as conn:
                alive = (
                    conn.execute(text("SELECT count(*) FROM workers WHERE status = 'alive'")).scalar() or 0
                )
            if alive == 2:
                break
            time.sleep(0.2)
        assert alive == 2, "both workers registered"

        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:

            def submit(n: int) -> str:
                resp = client.post(
                    "/api/v1/executions", json={"workflow_id": "chain", "parameters": {"n": n}}
                )
                assert resp.status_code == 202, resp.text
                return str(resp.json()["execution_id"])

            with ThreadPoolExecutor(8) as pool:
                ids = list(pool.map(submit, range(EXECUTIONS)))
        assert len(set(ids)) == EXECUTIONS

        # kill w1 while it is in the middle of executions (some steps done, one running)
        victim = workers["w1"]
        deadline = time.monotonic() + 60
        in_flight = 0
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.execute(
                    text("SELECT count(*) FROM executions WHERE status = 'completed'")
                ).scalar()
                in_flight = (
                    conn.execute(
                        text(
                            "SELECT count(*) FROM step_runs s JOIN executions e ON e.id = s.execution_id "
                            "WHERE e.owner = 'w1' AND e.status = 'running' AND s.status = 'running'"
                        )
                    ).scalar()
                    or 0
                )
            if (done or 0) >= EXECUTIONS // 4 and in_flight >= 2:
                break
            time.sleep(0.05)
        assert in_flight >= 2, "w1 was running steps when killed"
        victim.kill9()
        killed_at = time.time()

        deadline = time.monotonic() + 90
        statuses: dict[str, int] = {}
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                statuses = dict(
                    conn.execute(text("SELECT status, count(*) FROM executions GROUP BY status")).all()
                )
            if statuses.get("completed", 0) == EXECUTIONS:
                break
            assert workers["w2"].alive(), workers["w2"].output()
            time.sleep(0.25)
        assert statuses == {"completed": EXECUTIONS}, f"lost or stuck executions: {statuses}"
        recovered_in = time.time() - killed_at

        with engine.connect() as conn:
            completed_events = conn.execute(
                text(
                    "SELECT execution_id, step_id, count(*) FROM execution_logs "
                    "WHERE metadata->>'event' = 'step.completed' GROUP BY execution_id, step_id"
                )
            ).all()
            finals = conn.execute(
                text(
                    "SELECT execution_id, count(*) FROM execution_logs WHERE metadata->>'event' = 'execution.completed' "
                    "AND metadata->>'status' = 'completed' GROUP BY execution_id"
                )
            ).all()
            dead = conn.execute(text("SELECT status, recovered_by FROM workers WHERE id = 'w1'")).one()
            jobs = dict(
                conn.execute(text("SELECT status, count(*) FROM dbos.workflow_status GROUP BY status")).all()
            )

        # every execution completed exactly once (the state machine allows one COMPLETED
        # transition; no second "execution.completed" row), every step completed exactly once
        final_rows = dict(finals)
        assert all(n == 1 for n in final_rows.values()), {e: n for e, n in final_rows.items() if n != 1}
        # the terminal status and the final row are one transaction: none can be missing
        assert sorted(set(ids) - set(final_rows)) == []
        per_step = {(e, s): n for e, s, n in completed_events}
        assert len(per_step) == EXECUTIONS * len(STEPS)
        assert set(per_step.values()) == {1}, "a completed step completed again"
        assert dead.status == "dead" and dead.recovered_by == "w2"
        assert jobs == {"SUCCESS": EXECUTIONS}, jobs

        # agent calls: both workers worked; only steps running on w1 at the kill ran twice
        calls = _calls(record)
        by_pid = Counter(c["pid"] for c in calls)
        assert by_pid[victim.pid] > 0 and by_pid[workers["w2"].pid] > 0, by_pid
        runs: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for call in calls:
            runs[(call["execution"], call["step"])].append(call)
        assert set(runs) == set(per_step), "every step was called"
        repeated = {key: rs for key, rs in runs.items() if len(rs) > 1}
        for key, rs in repeated.items():
            assert len(rs) == 2, (key, rs)
            first, second = sorted(rs, key=lambda c: c["at"])
            assert first["pid"] == victim.pid and first["at"] <= killed_at, (key, rs)
            assert second["pid"] == workers["w2"].pid, (key, rs)
        assert 1 <= len(repeated) <= CONCURRENCY, "exactly the steps in flight on the killed worker ran again"
        print(
            f"\n{EXECUTIONS} executions; agent calls by pid {dict(by_pid)}; {len(repeated)} interrupted "
            f"step(s) re-run; all done {recovered_in:.1f}s after the kill"
        )
    finally:
        for proc in workers.values():
            proc.stop()
        api.stop()
        engine.dispose()
