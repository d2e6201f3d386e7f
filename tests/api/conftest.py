"""One real `baton serve` (SQLite, in-process worker) for the API tests, on a free port."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.serverproc import Proc, free_port, start_server

ROLES = ("viewer", "operator", "admin")

CONFIG = """
version: "1.0.0"
global: {{cache: {{enabled: false}}, workspace_dir: ws}}
deployment: {{heartbeat_seconds: 0.5, dead_after_seconds: 5}}
observability: {{metrics: true}}
api:
  max_body_bytes: 65536
  rate_limit: {{requests_per_second: 1000, burst: 1000}}
  workspace_roots: ["{root}"]
  tokens:
    - {{name: viewer, role: viewer, token: "${{T_VIEWER}}"}}
    - {{name: operator, role: operator, token: "${{T_OPERATOR}}"}}
    - {{name: admin, role: admin, token: "${{T_ADMIN}}"}}
    - {{name: slowpoke, role: operator, token: "${{T_SLOW}}",
        rate_limit: {{requests_per_second: 0.2, burst: 2}}}}
agents:
  bot:
    provider: scripted
    model: echo
    capabilities: [test]
    config: {{record: "{record}", script: [{{echo: true}}]}}
  slowbot:
    provider: scripted
    model: echo
    capabilities: [test]
    config: {{script: [{{echo: true, delay: 0.4}}]}}
  sh: {{provider: shell, model: bash, capabilities: [command]}}
workflows:
  hello:
    description: two quick steps
    parameters: {{who: {{type: string, default: world}}}}
    steps:
      - {{id: greet, agent_id: bot, prompt_template: "hello {{{{ params.who }}}}"}}
      - {{id: echo, agent_id: bot, prompt_template: "again {{{{ outputs.greet.text }}}}"}}
  slow:
    steps:
      - {{id: s1, agent_id: slowbot, prompt_template: "s1"}}
      - {{id: s2, agent_id: slowbot, prompt_template: "s2"}}
      - {{id: s3, agent_id: slowbot, prompt_template: "s3"}}
      - {{id: s4, agent_id: slowbot, prompt_template: "s4"}}
      - {{id: s5, agent_id: slowbot, prompt_template: "s5"}}
      - {{id: s6, agent_id: slowbot, prompt_template: "s6"}}
  forever:
    steps:
      - {{id: wait, agent_id: sh, prompt_template: "sleep 600", timeout_seconds: 3600}}
  release:
    type: langgraph
    steps:
      - {{id: build, agent_id: bot, prompt_template: "build"}}
      - id: deploy
        agent_id: bot
        prompt_template: "deploy {{{{ outputs.build.text }}}}"
        approval: {{message: "Ship it?"}}
      - {{id: announce, agent_id: bot, prompt_template: "announce"}}
  readme:
    steps:
      - {{id: show, agent_id: sh, prompt_template: "cat README.md"}}
"""


@dataclass
class Server:
    """The running server, its project directory and one token per role."""

    url: str
    root: Path
    tokens: dict[str, str]
    proc: Proc
    record: Path
    env: dict[str, str]

    def client(self, role: str | None = None, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(tmp_path_factory)


def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Start a server of its own (a test that changes what others rely on needs one)."""
    root = tmp_path_factory.mktemp("service")
    (root / "ws").mkdir()
    record = root / "calls.jsonl"
    (root / "baton.yaml").write_text(CONFIG.format(root=root, record=record))
    tokens = {role: f"{role}-{secrets.token_hex(12)}" for role in (*ROLES, "slowpoke")}
    env = {f"T_{role.upper()}": token for role, token in tokens.items()}
    env["T_SLOW"] = tokens["slowpoke"]
    port = free_port()
    proc = start_server(root, port, env=env)
    try:
        yield Server(f"http://127.0.0.1:{port}", root, tokens, proc, record, env)
    finally:
        proc.stop()


@pytest.fixture
def operator(server: Server) -> Iterator[httpx.Client]:
    with server.client("operator") as c:
        yield c


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.client("admin") as c:
        yield c


@pytest.fixture
def viewer(server: Server) -> Iterator[httpx.Client]:
    with server.client("viewer") as c:
        yield c


def wait_for(client: httpx.Client, execution_id: str, statuses: set[str], timeout: float = 30.0) -> dict:
    """Poll GET /executions/{id} until its status is one of ``statuses``."""
    import time

    deadline = time.monotonic() + timeout
    data: dict = {}
    while time.monotonic() < deadline:
        resp = client.get(f"/api/v1/executions/{execution_id}")
        assert resp.status_code == 200, resp.text
        data = resp.json()
        if data["status"] in statuses:
            return data
        time.sleep(0.1)
    raise AssertionError(f"execution {execution_id} stayed {data.get('status')}: {data}")


def start(client: httpx.Client, workflow_id: str, **body: object) -> str:
    resp = client.post("/api/v1/executions", json={"workflow_id": workflow_id, **body})
    assert resp.status_code == 202, resp.text
    return str(resp.json()["execution_id"])
