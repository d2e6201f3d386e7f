"""Fresh-venv install of Baton: wall time and number of distributions, core and with extras.

Each variant gets a new virtual environment and ``pip install`` of this checkout (pip's wheel
cache is used, as on a developer's machine after a first install; the figure therefore measures
resolution, unpacking and the number of distributions, not downloads), then the first and
second ``baton --version`` of the new install. Prints JSON.
Targets (issue 17): core <= 12 s and <= 60 distributions.

    .venv/bin/python benchmarks/install.py [core] [service] [dev] ...
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(extra: str) -> dict[str, object]:
    venv = Path(tempfile.mkdtemp(prefix="baton-install-")) / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    before = _count(python)
    target = str(ROOT) if extra == "core" else f"{ROOT}[{extra}]"
    start = time.perf_counter()
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", target],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    first, second = (_timed([str(venv / "bin" / "baton"), "--version"]) for _ in range(2))
    python_s = min(_timed([python, "-c", "pass"]) for _ in range(3))
    return {"install_s": round(seconds, 2), "distributions": _count(python) - before,
            "version_first_call_s": round(first, 3), "version_second_call_s": round(second, 3),
            "python_c_pass_s": round(python_s, 3), "venv": str(venv)}


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _count(python: str) -> int:
    out = subprocess.run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         check=True, capture_output=True, text=True).stdout
    return len(json.loads(out))


if __name__ == "__main__":
    variants = sys.argv[1:] or ["core"]
    print(json.dumps({variant: measure(variant) for variant in variants}, indent=2))
