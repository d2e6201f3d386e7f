"""Wall time of common ``baton`` commands against Python's own start-up.

Each command runs in a fresh process (warm: the files are in the page cache after a first,
discarded call), interleaved with ``python -c pass``, in a project made by ``baton init`` with
one finished ``hello`` run. Prints JSON: per command the median and min wall time over N runs,
the median of ``python -c pass`` and the difference, and the same for CPU time (user + system
of the child: on a shared, loaded machine the steadier figure). Targets (issue 17): ``--version`` <= 0.15 s,
``status`` <= 0.25 s.

    .venv/bin/python benchmarks/startup.py [N]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATON = [sys.executable, "-m", "baton"]
COMMANDS: dict[str, list[str]] = {
    "--version": ["--version"],
    "--help": ["--help"],
    "status": ["status"],
    "history": ["history"],
    "logs": ["logs"],
    "config validate": ["config", "validate"],
    "workflows list": ["workflows", "list"],
}


def _wall(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _cpu(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one run: far less sensitive than wall time to other
    processes on a loaded machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(repeats: int) -> dict[str, object]:
    project = Path(tempfile.mkdtemp(prefix="baton-startup-"))
    # As after `pip install` (which compiles every module): let the first, discarded call write
    # the .pyc files of an editable checkout even where the shell sets PYTHONDONTWRITEBYTECODE.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"COLUMNS": "120"}
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    for argv in (["init"], ["run", "hello"]):
        subprocess.run(BATON + argv, cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
    baseline: list[float] = []
    baseline_cpu: list[float] = []
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():  # warm the page cache and any parse cache
        _wall(BATON + argv, project, env)
    for _ in range(repeats):
        baseline.append(_wall([sys.executable, "-c", "pass"], project, env))
        baseline_cpu.append(_cpu([sys.executable, "-c", "pass"], project, env))
        for name, argv in COMMANDS.items():
            samples[name].append(_wall(BATON + argv, project, env))
            cpu[name].append(_cpu(BATON + argv, project, env))
    python = statistics.median(baseline)
    return {
        "repeats": repeats,
        "python_c_pass_s": round(python, 4),
        "python_c_pass_cpu_s": round(statistics.median(baseline_cpu), 4),
        "commands": {
            name: {
                "median_s": round(statistics.median(values), 4),
                "min_s": round(min(values), 4),
                "over_python_s": round(statistics.median(values) - python, 4),
                "x_python": round(statistics.median(values) / python, 1),
                "cpu_median_s": round(statistics.median(cpu[name]), 4),
                "cpu_x_python": round(statistics.median(cpu[name]) / statistics.median(baseline_cpu), 1),
            }
            for name, values in samples.items()
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10), indent=2))
