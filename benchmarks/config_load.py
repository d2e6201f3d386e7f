"""Benchmark: load a 50-agent / 200-workflow baton.yaml (parse + interpolate + validate).

Prints one JSON object. ``median_ms`` and ``p95_ms`` are over ``--runs`` loads in one
process, the state of every load after the first: the parse cache holds the file (see
``baton.config.parsecache``) and template compilation is cached per source string.
``uncached_parse_*`` is the same with the parse cache disabled (PyYAML parses every time).
``cold_process_ms`` is a first load in a fresh interpreter with the parse cache filled (what
a one-shot ``baton config validate`` pays after the file was loaded once), and
``cold_process_first_parse_ms`` the same with an empty cache (the first load after an edit).
``cold_process_no_parse_cache_ms`` is the first load in a fresh interpreter with the parse
cache disabled (median of 5, wall and ``_cpu_ms`` CPU of the process; ``..._with_imports_ms``
includes importing the loader and the models): the full validation of
``baton config validate``. ``cold_process_run_load_ms`` is the same first load as
``baton run`` does it (``lazy=True``: only the templates of the one workflow it runs are
checked); ``..._cached_ms`` with the parse cache filled. ``python_c_pass_ms`` gives the
machine's speed. Target (issue 17): <= 100 ms.

    .venv/bin/python benchmarks/config_load.py [--runs 50] [--agents 50] [--workflows 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_MS = 100.0

_PROVIDERS = [
    ("anthropic", "cli", "claude-sonnet-4-5", None),
    ("anthropic", "api", "claude-opus-4-1", "${ANTHROPIC_API_KEY}"),
    ("openai", "cli", "gpt-5.5", None),
    ("openai", "api", "gpt-5-mini", "${OPENAI_API_KEY}"),
    ("github", "cli", "gpt-5.4", None),
    ("google", "cli", "gemini-2.5-pro", None),
    ("openai-compatible", "api", "qwen2.5-coder:7b", None),
    ("shell", "cli", "bash", None),
]
_CAPS = ["code_review", "task_planning", "coding", "testing", "documentation", "security"]
_PROMPTS = [
    "Review the following diff for {topic} problems and list each finding with a file and "
    "line:\n{{{{ diff }}}}\nBase branch: {{{{ params.base }}}}",
    "Plan the work for issue #{{{{ params.issue }}}} ({topic}).\n{{% for f in files %}}- "
    "{{{{ f }}}}\n{{% endfor %}}Answer as JSON.",
    "Summarise {topic} findings:\n{{{{ outputs.{prev}.text | default('none') }}}}",
    "{{% if params.strict %}}Be strict about {topic}.{{% else %}}Be pragmatic about "
    "{topic}.{{% endif %}} Changes:\n{{{{ diff | truncate(4000) }}}}",
]
_SHELL = [
    "git diff {{{{ params.base }}}}...HEAD -- {topic}",
    "pytest -q tests/{topic} --maxfail={{{{ params.maxfail }}}}",
    "ruff check src/{topic} && echo ok",
]
_TOPICS = ["security", "style", "performance", "api", "docs", "tests", "types", "deps"]


def generate(agents: int, workflows: int, seed: int = 7) -> str:
    """A realistic baton.yaml: mixed providers, 3-6 steps per workflow, DAG dependencies."""
    rnd = random.Random(seed)
    out: list[str] = [
        'version: "2.3.1"',
        "global:",
        "  workspace_dir: .",
        "  max_concurrent_executions: ${BATON_BENCH_CONCURRENCY:-8}",
        "  default_timeout_seconds: 600",
        "  cache: {enabled: true, ttl_seconds: 86400}",
        "  budget: {max_cost_usd: 25.0}",
        "observability: {log_level: info, tracing: {enabled: true, exporter: file}}",
        "agents:",
    ]
    agent_ids: list[str] = []
    shell_ids: list[str] = []
    for i in range(agents):
        provider, interface, model, key = _PROVIDERS[i % len(_PROVIDERS)]
        aid = f"agent-{i:02d}"
        agent_ids.append(aid)
        caps = ", ".join(rnd.sample(_CAPS, rnd.randint(1, 3))) if provider != "shell" else "command"
        if provider == "shell":
            shell_ids.append(aid)
        out += [
            f"  {aid}:",
            f"    name: Agent {i} ({provider})",
            f"    provider: {provider}",
            f"    model: {model}",
            f"    interface: {interface}",
            f"    capabilities: [{caps}]",
            f"    max_concurrency: {rnd.randint(1, 8)}",
        ]
        config: list[str] = []
        if key:
            config.append(f'api_key: "{key}"')
        if provider == "openai-compatible":
            config.append('base_url: "${LOCAL_LLM_URL:-http://127.0.0.1:11434/v1}"')
        if provider in ("anthropic", "openai") and interface == "cli":
            config.append(f"extra_args: [--max-turns, '{rnd.randint(5, 30)}']")
        if config:
            out.append("    config: {" + ", ".join(config) + "}")
    out.append("workflows:")
    for w in range(workflows):
        wid = f"wf-{w:03d}"
        topic = rnd.choice(_TOPICS)
        out += [
            f"  {wid}:",
            f"    name: {topic.title()} workflow {w}",
            f"    description: Multi-agent {topic} pass number {w}.",
            "    type: simple",
            "    metadata: {tags: [generated, " + topic + "], owner: team-" + str(w % 7) + "}",
            "    parameters:",
            "      base: {type: string, default: main}",
            "      issue: {type: integer, default: 1}",
            "      strict: {type: boolean, default: false}",
            "      maxfail: {type: integer, default: 3}",
            "    steps:",
        ]
        steps = rnd.randint(3, 6)
        ids = [f"s{j}-{topic}" for j in range(steps)]
        for j, sid in enumerate(ids):
            shell = j == 0 or rnd.random() < 0.2
            agent = rnd.choice(shell_ids) if shell else rnd.choice(agent_ids)
            prev = ids[j - 1].replace("-", "_") if j else "none"
            template = (rnd.choice(_SHELL) if shell else rnd.choice(_PROMPTS)).format(topic=topic, prev=prev)
            # Real workflows rarely share a prompt word for word.
            template += f"\n# {wid}/{sid}" if shell else f"\n(step {sid} of {wid})"
            out += [
                f"      - id: {sid}",
                f"        name: Step {j} of {wid}",
                f"        agent_id: {agent}",
                f"        prompt_template: {json.dumps(template)}",
                f"        timeout_seconds: {rnd.choice([60, 120, 300, 600, 1800])}",
            ]
            if j:
                deps = sorted(set(rnd.sample(ids[:j], rnd.randint(1, min(2, j)))))
                out.append(f"        dependencies: [{', '.join(deps)}]")
                out.append(
                    "        input_mappings: {diff: outputs."
                    + ids[0].replace("-", "_")
                    + ".text, files: params.base}"
                )
            if rnd.random() < 0.5:
                out.append(
                    "        condition: \"succeeded('"
                    + ids[max(0, j - 1)]
                    + "') and params.strict is not none\""
                )
            if not shell:
                fallback = rnd.choice(agent_ids)
                out += [
                    "        retry_policy:",
                    f"          max_attempts: {rnd.randint(1, 4)}",
                    f"          backoff_seconds: {rnd.choice([0.5, 1, 2, 5])}",
                    "          retry_on: [timeout, rate_limited]",
                    f"          fallback_agents: [{fallback}]",
                ]
            if rnd.random() < 0.1:
                out.append(
                    "        output_schema: {type: object, properties: {findings: {type: array}},"
                    " required: [findings]}"
                )
    return "\n".join(out) + "\n"


_ENV = {
    "ANTHROPIC_API_KEY": "sk-ant-bench",
    "OPENAI_API_KEY": "sk-bench",
    "BATON_USER_CONFIG": "/nonexistent/baton-bench-user.yaml",
}


def _cold(path: Path, env: dict[str, str], with_imports: bool = False, lazy: bool = False) -> float:
    return _cold_wall_cpu(path, env, with_imports, lazy)[0]


def _cold_wall_cpu(
    path: Path, env: dict[str, str], with_imports: bool = False, lazy: bool = False
) -> tuple[float, float]:
    """Milliseconds of the first load in a fresh interpreter: imports of the loader and the
    models excluded, or (``with_imports``) included. ``lazy``: the load ``baton run`` does
    (templates of the one workflow it runs checked, see ``load_configuration(lazy=True)``)."""
    code = (
        "import sys, time; from pathlib import Path;"
        + ("t = time.perf_counter(); c = time.process_time();" if with_imports else "")
        + "from baton.config.loader import load_configuration; import baton.models.configuration;"
        f"env = {env!r};"
        + ("" if with_imports else "t = time.perf_counter(); c = time.process_time();")
        + (f"loaded = load_configuration(Path(sys.argv[1]), env=env, lazy={lazy});")
        + ("loaded.workflow(loaded.workflow_ids[-1]);" if lazy else "")
        + "print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def _median_cold(path: Path, env: dict[str, str], lazy: bool) -> tuple[float, float]:
    """Median wall and CPU milliseconds of 5 first loads in fresh interpreters."""
    runs = [_cold_wall_cpu(path, env, lazy=lazy) for _ in range(5)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _python_ms() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - start) * 1000


def _time(path: Path, env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median and p95 milliseconds of ``runs`` loads in this process."""
    from baton.config import load_configuration

    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        load_configuration(path, env=env)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return round(statistics.median(times), 2), round(p95, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--workflows", type=int, default=200)
    args = parser.parse_args()

    from baton.config import load_configuration

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "baton.yaml"
        path.write_text(generate(args.agents, args.workflows), encoding="utf-8")
        cached_env = {**_ENV, "BATON_CACHE_DIR": str(Path(tmp) / "cache")}
        uncached_env = {**_ENV, "BATON_CACHE_DIR": ""}
        cold_no_cache_ms, cold_no_cache_cpu_ms = _median_cold(path, uncached_env, lazy=False)
        cold_no_cache_imports_ms = statistics.median(_cold(path, uncached_env, True) for _ in range(5))
        cold_run_ms, cold_run_cpu_ms = _median_cold(path, uncached_env, lazy=True)
        python_ms = statistics.median(_python_ms() for _ in range(5))
        cold_first_ms = _cold(path, cached_env)  # fresh process, empty parse cache
        cold_ms = _cold(path, cached_env)  # fresh process, parse cache filled
        cold_run_cached_ms, cold_run_cached_cpu_ms = _median_cold(path, cached_env, lazy=True)
        cfg = load_configuration(path, env=cached_env).configuration
        assert len(cfg.agents) == args.agents and len(cfg.workflows) == args.workflows
        steps = sum(len(wf.steps) for wf in cfg.workflows.values())
        median, p95 = _time(path, cached_env, args.runs)
        uncached_median, uncached_p95 = _time(path, uncached_env, max(5, args.runs // 5))
        print(
            json.dumps(
                {
                    "agents": len(cfg.agents),
                    "workflows": len(cfg.workflows),
                    "steps": steps,
                    "file_bytes": path.stat().st_size,
                    "runs": args.runs,
                    "median_ms": median,
                    "p95_ms": p95,
                    "budget_ms": BUDGET_MS,
                    "uncached_parse_median_ms": uncached_median,
                    "uncached_parse_p95_ms": uncached_p95,
                    "cold_process_ms": cold_ms,
                    "cold_process_first_parse_ms": cold_first_ms,
                    "cold_process_no_parse_cache_ms": round(cold_no_cache_ms, 1),
                    "cold_process_no_parse_cache_cpu_ms": round(cold_no_cache_cpu_ms, 1),
                    "cold_process_no_parse_cache_with_imports_ms": round(cold_no_cache_imports_ms, 1),
                    "cold_process_run_load_ms": round(cold_run_ms, 1),
                    "cold_process_run_load_cpu_ms": round(cold_run_cpu_ms, 1),
                    "cold_process_run_load_cached_ms": round(cold_run_cached_ms, 1),
                    "cold_process_run_load_cached_cpu_ms": round(cold_run_cached_cpu_ms, 1),
                    "python_c_pass_ms": round(python_ms, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
