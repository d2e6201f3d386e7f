"""Wall time of common ``baton`` commands against Python's own start-up.

Each command runs in a fresh process (warm: the files are in the page cache after a first,
discarded call), interleaved with ``python -c pass``, in a project made by ``baton init`` with
one finished ``hello`` run. Prints JSON: per command the median and min wall time over N runs,
the median of ``python -c pass`` and the difference, and the same for CPU time (user + system
of the child: on a shared, loaded machine the steadier figure). Targets (issue 17): ``--version`` <= 0.15 s,
``status`` <= 0.25 s.

With ``--base OLD_TREE`` (a checkout: ``git worktree add /tmp/base <rev>``) every command also
runs from that tree's ``src`` (``PYTHONPATH``), interleaved run by run with this one, and its
figures appear under ``"base"``. ``"floor"`` is the CPU time of importing only the third-party
modules a read command cannot do without (Typer with the pydantic adapters it builds every
parameter with, Rich's console and table, PyYAML and python-dotenv to find the store, sqlite3).

    .venv/bin/python benchmarks/startup.py [N] [--base OLD_TREE]
"""

from __future__ import annotations

import argparse
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


FLOOR = "import typer, typer._adapters, rich.console, rich.table, rich.markup, yaml, dotenv, sqlite3"


def _figures(samples: dict[str, list[float]], cpu: dict[str, list[float]], python: float,
             python_cpu: float) -> dict[str, dict[str, float]]:
    return {
        name: {
            "median_s": round(statistics.median(values), 4),
            "min_s": round(min(values), 4),
            "over_python_s": round(statistics.median(values) - python, 4),
            "x_python": round(statistics.median(values) / python, 1),
            "cpu_median_s": round(statistics.median(cpu[name]), 4),
            "cpu_x_python": round(statistics.median(cpu[name]) / python_cpu, 1),
        }
        for name, values in samples.items()
    }


def main(repeats: int, base: Path | None = None) -> dict[str, object]:
    project = Path(tempfile.mkdtemp(prefix="baton-startup-"))
    # As after `pip install` (which compiles every module): let the first, discarded call write
    # the .pyc files of an editable checkout even where the shell sets PYTHONDONTWRITEBYTECODE.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"COLUMNS": "120"}
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    for argv in (["init"], ["run", "hello"]):
        subprocess.run(BATON + argv, cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
    trees = {"new": env, **({"base": env | {"PYTHONPATH": str(base.resolve() / "src")}} if base else {})}
    baseline: list[float] = []
    baseline_cpu: list[float] = []
    floor: list[float] = []
    samples: dict[str, dict[str, list[float]]] = {tree: {name: [] for name in COMMANDS} for tree in trees}
    cpu: dict[str, dict[str, list[float]]] = {tree: {name: [] for name in COMMANDS} for tree in trees}
    for tree_env in trees.values():  # warm the page cache and any parse cache
        for argv in COMMANDS.values():
            _wall(BATON + argv, project, tree_env)
    for _ in range(repeats):
        baseline.append(_wall([sys.executable, "-c", "pass"], project, env))
        baseline_cpu.append(_cpu([sys.executable, "-c", "pass"], project, env))
        floor.append(_cpu([sys.executable, "-c", FLOOR], project, env))
        for name, argv in COMMANDS.items():
            for tree, tree_env in trees.items():
                samples[tree][name].append(_wall(BATON + argv, project, tree_env))
                cpu[tree][name].append(_cpu(BATON + argv, project, tree_env))
    python, python_cpu = statistics.median(baseline), statistics.median(baseline_cpu)
    result: dict[str, object] = {
        "repeats": repeats,
        "python_c_pass_s": round(python, 4),
        "python_c_pass_cpu_s": round(python_cpu, 4),
        "floor_cpu_s": round(statistics.median(floor), 4),
        "commands": _figures(samples["new"], cpu["new"], python, python_cpu),
    }
    if base:
        result["base"] = {"tree": str(base), "commands": _figures(samples["base"], cpu["base"], python, python_cpu)}
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repeats", nargs="?", type=int, default=10)
    parser.add_argument("--base", type=Path, help="another checkout, measured interleaved with this one")
    args = parser.parse_args()
    print(json.dumps(main(args.repeats, args.base), indent=2))
