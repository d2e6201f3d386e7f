"""Fresh-venv install of Baton: wall and CPU time, phases and number of distributions.

Each measurement gets a new virtual environment (with the pip its Python bundles) and either
``pip install -e <tree>`` (the README's command) or ``pip install <tree>``, then the first and
second ``baton --version`` of the new install. pip's caches are used, as on a developer's
machine after a first install: the figure measures the build backend, resolution (reading the
index pages of every distribution), unpacking and .pyc compilation, not downloads.

The phases come from the timestamps of ``pip install -v`` lines: ``backend`` (the build
backend installed into an isolated environment, then the project's metadata), ``resolve``
(finding and fetching every other distribution), ``build`` (the project's wheel) and
``install`` (unpacking and compiling). ``cpu_s`` is user+sys of pip and its children.

With ``--base OLD_TREE`` the same measurements of another checkout (``git worktree add
/tmp/base <rev>``) are interleaved with this one's, run by run, so the machine's load falls
on both alike. Prints JSON: medians per tree, variant and mode, and every run.
Targets (issue 17): core <= 12 s and <= 60 distributions; first ``--version`` <= 0.3 s.

    .venv/bin/python benchmarks/install.py [--runs N] [--base OLD_TREE] [--modes editable,regular] [core] [service] ...
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# pip -v line -> the end of a phase (first match wins; lines of pip's own build-dependency
# install are indented, so "^" keeps them out)
MARKS = {
    "backend": re.compile(r"Preparing (editable )?metadata .*: finished"),
    "resolve": re.compile(r"^(Building wheels for collected packages|Installing collected packages)"),
    "build": re.compile(r"^Installing collected packages"),
}


def measure(tree: Path, extra: str, mode: str) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="baton-install-"))
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    before = _count(python)
    target = str(tree) if extra == "core" else f"{tree}[{extra}]"
    argv = [python, "-m", "pip", "install", "-v", "--disable-pip-version-check",
            *(["-e"] if mode == "editable" else []), target]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    marks: dict[str, float] = {}
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as pip:
        assert pip.stdout is not None
        for line in pip.stdout:
            for name, pattern in MARKS.items():
                if name not in marks and pattern.search(line.rstrip()):
                    marks[name] = time.perf_counter() - start
    seconds = time.perf_counter() - start
    if pip.returncode != 0:
        raise SystemExit(f"pip install failed: {' '.join(argv)}")
    cpu = _children_cpu() - cpu_before
    first, second = (_timed([str(venv / "bin" / "baton"), "--version"]) for _ in range(2))
    python_s = min(_timed([python, "-c", "pass"]) for _ in range(3))
    backend = marks.get("backend", 0.0)
    resolved = marks.get("resolve", backend)
    built = marks.get("build", resolved)
    result = {"install_s": round(seconds, 2), "cpu_s": round(cpu, 2),
              "phases_s": {"backend": round(backend, 2), "resolve": round(resolved - backend, 2),
                           "build": round(built - resolved, 2), "install": round(seconds - built, 2)},
              "distributions": _count(python) - before,
              "version_first_call_s": round(first, 3), "version_second_call_s": round(second, 3),
              "python_c_pass_s": round(python_s, 3)}
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _count(python: str) -> int:
    out = subprocess.run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         check=True, capture_output=True, text=True).stdout
    return len(json.loads(out))


def _median(runs: list[dict[str, object]]) -> dict[str, object]:
    def med(key: str, sub: str | None = None) -> float:
        values = [float(r[key][sub] if sub else r[key]) for r in runs]  # type: ignore[index]
        return round(statistics.median(values), 3)

    return {"install_s": med("install_s"), "cpu_s": med("cpu_s"),
            "phases_s": {p: med("phases_s", p) for p in ("backend", "resolve", "build", "install")},
            "distributions": runs[0]["distributions"],
            "version_first_call_s": med("version_first_call_s"),
            "version_second_call_s": med("version_second_call_s"),
            "python_c_pass_s": med("python_c_pass_s"), "runs": len(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=["core"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--base", type=Path, help="another checkout, measured interleaved with this one")
    parser.add_argument("--modes", default="editable,regular")
    args = parser.parse_args()
    trees = {"new": ROOT, **({"base": args.base.resolve()} if args.base else {})}
    modes = args.modes.split(",")
    runs: dict[str, list[dict[str, object]]] = {}
    for _ in range(args.runs):
        for variant in args.variants or ["core"]:
            for mode in modes:
                for label, tree in trees.items():
                    key = f"{label} {variant} {mode}"
                    runs.setdefault(key, []).append(measure(tree, variant, mode))
                    print(key, json.dumps(runs[key][-1]), file=sys.stderr, flush=True)
    print(json.dumps({"medians": {k: _median(v) for k, v in runs.items()}, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
