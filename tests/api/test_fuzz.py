"""The API fuzzed with schemathesis (`--checks all`, bounded examples): no 500, no undocumented
status or content type, no response that breaks its schema."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, serve


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the fuzzer (as admin) cancels, approves and checks at random."""
    yield from serve(tmp_path_factory)

MAX_EXAMPLES = os.environ.get("BATON_FUZZ_EXAMPLES", "15")
START = "POST /api/v1/executions"


def _schemathesis() -> str:
    found = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(found).exists():
        message = "schemathesis is not installed (pip install -e '.[dev]')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _fuzz(server: Server, *selection: str) -> None:
    argv = [
        _schemathesis(), "run", f"{server.url}/api/v1/openapi.json",
        "--checks", "all", *selection,
        "--max-examples", MAX_EXAMPLES,
        "--phases", "examples,coverage,fuzzing",
        "--header", f"Authorization: Bearer {server.tokens['admin']}",
        "--request-timeout", "60",
        "--max-response-time", "60",  # a loaded CI machine, not a slow API
        "--seed", "12",
        "--workers", "1",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL,
                         env={**os.environ, "NO_COLOR": "1"})
    assert out.returncode == 0, out.stdout[-20000:] + out.stderr[-3000:]



@pytest.mark.slow
def test_schemathesis_finds_no_violation(fuzzed: Server) -> None:
    _fuzz(fuzzed, "--exclude-name", START)


@pytest.mark.slow
def test_schemathesis_finds_no_violation_in_starting_an_execution(fuzzed: Server) -> None:
    # Starting an execution has rules no schema can state (the repository allow-list,
    # api.workspace_roots, the workflow's own parameters, the Idempotency-Key header agreeing
    # with the body): a schema-valid start may rightly be refused with 422, so only
    # positive_data_acceptance is left out, and only here.
    _fuzz(fuzzed, "--include-name", START, "--exclude-checks", "positive_data_acceptance")
