"""The Function Compute image for real: `docker build` of deploy/fc/Dockerfile, then the
container serving a workflow end to end against PostgreSQL — what docs/deploy-fc.md's
"Check the image locally" section tells a user to do.

The build starts FROM the local base images of .ci/docker.sh (no registry here) and reuses
its cached `agents` and `deps` stages; the last stage (Baton itself) is built each time.
The container uses host networking to reach the CI PostgreSQL on the loopback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.serverproc import free_port
from tests.fixtures.real_tools import docker_client, image, tool
from tests.store.conftest import PostgresDatabases, postgres_base_url

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
TAG = "baton-fc:test"


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([tool("docker"), *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:2])} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def fc_image() -> str:
    docker_client().close()
    build_args = {
        "BASE_IMAGE": image("BATON_TEST_BASE_IMAGE"),
        "NODE_IMAGE": image("BATON_TEST_NODE_IMAGE"),
        "AGENT_CLIS": os.environ.get("BATON_TEST_AGENT_CLIS", ""),
        "EXTRA_CA_CERTS": Path(os.environ["BATON_TEST_EXTRA_CA_CERTS"]).read_text().rstrip("\n")
        if os.environ.get("BATON_TEST_EXTRA_CA_CERTS")
        else "",
    }
    args = ["build", "--network", "host", "-f", "deploy/fc/Dockerfile", "-t", TAG]
    for name, value in build_args.items():
        if value:
            args += ["--build-arg", f"{name}={value}"]
    for cached in ("BATON_TEST_AGENT_IMAGE", "BATON_TEST_DEPS_IMAGE"):
        args += ["--cache-from", image(cached)]
    built = subprocess.run(
        [tool("docker"), *args, "."], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return TAG


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def database() -> Iterator[str]:
    dbs = PostgresDatabases(postgres_base_url())
    try:
        yield dbs.new()
    finally:
        dbs.drop_all()


def test_the_fc_image_serves_a_shell_workflow_end_to_end(fc_image: str, database: str) -> None:
    # The image's port is 9000; on a shared host network another process may hold it.
    port = 9000 if port_free(9000) else free_port()
    admin, operator = f"adm-{uuid.uuid4().hex}", f"op-{uuid.uuid4().hex}"
    name = f"baton-fc-{uuid.uuid4().hex[:8]}"
    docker(
        "run", "-d", "--name", name, "--network", "host",
        "-e", f"FC_SERVER_PORT={port}",
        "-e", f"BATON_DATABASE_URL={database}",
        "-e", f"BATON_ADMIN_TOKEN={admin}",
        "-e", f"BATON_OPERATOR_TOKEN={operator}",
        fc_image,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        ready = None
        while time.monotonic() < deadline:
            try:
                # liveness: /readyz also wants every agent usable, and the sample's claude
                # has no ANTHROPIC_API_KEY here (its steps are not run)
                ready = httpx.get(f"{base}/healthz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
                break
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, docker("logs", name).stderr[-3000:]

        # A token issued inside the container, stored in PostgreSQL, printed once.
        issued = docker("exec", name, "baton", "tokens", "create", "--role", "operator", "--name", "ci", "--json")
        token = json.loads(issued.stdout)["token"]
        headers = {"Authorization": f"Bearer {token}"}

        created = httpx.post(
            f"{base}/api/v1/executions", headers=headers, json={"workflow_id": "smoke"}, timeout=30
        )
        assert created.status_code == 202, created.text
        execution_id = created.json()["execution_id"]
        status = None
        while time.monotonic() < deadline + 120:
            status = httpx.get(f"{base}/api/v1/executions/{execution_id}", headers=headers, timeout=10).json()
            if status["status"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.5)
        assert status is not None and status["status"] == "completed", status

        logs = httpx.get(f"{base}/api/v1/executions/{execution_id}/logs", headers=headers, timeout=10)
        assert logs.status_code == 200
        text = logs.text
        for carried in ("git version", "v22.", "Claude Code", "codex-cli"):
            assert carried in text, f"{carried!r} not in the smoke step's output: {text[-2000:]}"

        metrics = httpx.get(f"{base}/metrics", timeout=10)
        assert metrics.status_code == 200
        assert 'baton_executions_total{status="completed",workflow="smoke"} 1.0' in metrics.text
    finally:
        docker("rm", "-f", name, check=False)
