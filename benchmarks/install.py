"""Fresh-venv install of Baton: wall time and number of distributions, core and with extras.

Each variant gets a new virtual environment and ``pip install`` of this checkout (pip's wheel
cache is used, as on a developer's machine after a first install; the figure therefore measures
resolution, unpacking and the number of distributions, not downloads). Prints JSON.
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
    return {"install_s": round(seconds, 2), "distributions": _count(python) - before}


def _count(python: str) -> int:
    out = subprocess.run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         check=True, capture_output=True, text=True).stdout
    return len(json.loads(out))


if __name__ == "__main__":
    variants = sys.argv[1:] or ["core"]
    print(json.dumps({variant: measure(variant) for variant in variants}, indent=2))
