"""The house style as tests: ruff-clean code, mypy --strict on src/, arrows pointing down."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run pip install -e '.[dev]'")
    return found


def test_ruff_is_clean() -> None:
    done = subprocess.run([_tool("ruff"), "check", "src", "tests", "benchmarks"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_arrows_point_down() -> None:
    # the contracts are in pyproject.toml ([tool.importlinter]); indirect imports count too
    done = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "0 broken" in done.stdout, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)  # a cold mypy cache on a busy 2-core machine takes minutes
def test_mypy_strict_on_src() -> None:
    done = subprocess.run([_tool("mypy"), "src"], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
