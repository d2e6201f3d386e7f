"""Every malformed configuration exits 2 with one located line, through the real CLI.

The corpus lives in ``tests/fixtures/bad_configs`` (written by its ``generate.py``); each
file's first line says where the error must point. More cases are generated here: files
too large to commit, and hypothesis mutations of a valid configuration.
"""

from __future__ import annotations

import copy
import itertools
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from baton.cli.main import app
from baton.config.yamlio import format_path

CORPUS_DIR = Path(__file__).parent.parent / "fixtures" / "bad_configs"
CORPUS = sorted(CORPUS_DIR.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (?P<spec>.+?) \| (?P<fragment>.+)$")
LOCATED = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+) ")

ENV = {"BATON_USER_CONFIG": "/nonexistent/baton-user.yaml", "BATON_CACHE_DIR": ""}


def validate(path: Path, runner: CliRunner) -> tuple[int, str, str]:
    result = runner.invoke(app, ["config", "validate", "-c", path.name], env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


def one_line(stderr: str) -> str:
    assert stderr.endswith("\n") and stderr.count("\n") == 1, repr(stderr)
    assert "Traceback" not in stderr
    return stderr.rstrip("\n")


def test_corpus_has_at_least_100_files() -> None:
    assert len(CORPUS) >= 100


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_bad_config(path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    header = path.read_bytes().split(b"\n", 1)[0].decode()
    expect = EXPECT.match(header)
    assert expect, f"{path.name}: first line must be '# expect: ... | ...'"
    spec, fragment = expect["spec"], expect["fragment"]
    monkeypatch.chdir(path.parent)

    code, stdout, stderr = validate(path, runner)

    assert code == 2, stderr
    assert stdout == ""
    line = one_line(stderr)
    assert fragment in line, line
    if spec == "file":
        assert line.startswith(f"{path.name}: ")
    elif spec == "yaml":
        located = LOCATED.match(line)
        assert located and located["file"] == path.name, line
        assert 1 <= int(located["line"]) <= path.read_bytes().count(b"\n") + 1
    else:
        where, _, field = spec.partition(" ")
        prefix = f"{path.name}:{where} {field}: " if field else f"{path.name}:{where} "
        assert line.startswith(prefix), f"expected {prefix!r}, got {line!r}"


def test_file_over_one_mib(tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.yaml"
    steps = "".join(
        f"      - {{id: s{i}, agent_id: sh, prompt_template: 'echo {i}'}}\n" for i in range(25_000)
    )
    path.write_text(
        'version: "1.0.0"\nagents:\n  sh: {provider: shell, model: bash, capabilities: [c]}\n'
        "workflows:\n  w:\n    steps:\n" + steps
    )
    size = path.stat().st_size
    assert size > 1024 * 1024
    monkeypatch.chdir(tmp_path)
    code, _, stderr = validate(path, runner)
    assert code == 2
    assert one_line(stderr) == (
        f"huge.yaml: file is {size:,} bytes, over the 1 MiB (1,048,576 bytes) limit; "
        "split workflows into .baton/workflows/*.yaml"
    )


def test_entry_point_prints_the_same_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    source = CORPUS_DIR / "timeout_too_low.yaml"
    (tmp_path / "baton.yaml").write_bytes(source.read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "baton", "config", "validate"],
        cwd=tmp_path,
        env={**ENV, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "baton.yaml:8:51 workflows.w.steps[0].timeout_seconds: must be between 10 and 3600\n"
    )


# -- generated with hypothesis ---------------------------------------------------------------------------
BASE: dict[str, Any] = {
    "version": "1.2.3",
    "global": {
        "max_concurrent_executions": 4,
        "cache": {"enabled": True, "ttl_seconds": 60},
        "budget": {"max_cost_usd": 2.5},
    },
    "observability": {"log_level": "info", "tracing": {"enabled": False, "exporter": "file"}},
    "deployment": {"mode": "local", "port": 8080},
    "agents": {
        "sh": {"provider": "shell", "model": "bash", "capabilities": ["command"]},
        "claude": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "interface": "cli",
            "capabilities": ["code_review", "task_planning"],
            "max_concurrency": 2,
        },
    },
    "workflows": {
        "review": {
            "description": "review a diff",
            "type": "simple",
            "parameters": {"base": {"type": "string", "default": "main"}},
            "steps": [
                {
                    "id": "diff",
                    "agent_id": "sh",
                    "prompt_template": "git diff {{ params.base }}",
                    "output_key": "diff",
                    "timeout_seconds": 60,
                },
                {
                    "id": "security",
                    "agent_id": "claude",
                    "prompt_template": "Review {{ diff }}",
                    "input_mappings": {"diff": "outputs.diff.text"},
                    "dependencies": ["diff"],
                    "condition": "succeeded('diff')",
                    "allow_failure": False,
                    "retry_policy": {
                        "max_attempts": 3,
                        "backoff_seconds": 2,
                        "retry_on": ["timeout", "rate_limited"],
                        "fallback_agents": ["sh"],
                    },
                },
                {
                    "id": "style",
                    "agent_id": "claude",
                    "prompt_template": "Style of {{ diff }}",
                    "dependencies": ["diff"],
                },
            ],
        }
    },
}
# Values under these keys may be anything, so a mutation there can stay valid.
FREE_FORM = {"config", "metadata", "default", "enum", "output_schema"}


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in FREE_FORM:
                out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*path, i))
    return out


VALUE_PATHS = _paths(BASE)


def _wrong_values(value: Any) -> list[Any]:
    """Values of a type the schema can never accept where ``value`` is."""
    if isinstance(value, bool):
        return ["maybe", [1], {"x": 1}]
    if isinstance(value, (int, float)):
        return ["not-a-number", [1], {"x": 1}]
    if isinstance(value, str):
        return [[1, 2], {"x": 1}]
    if isinstance(value, list):
        return [42, "just-a-string", {"x": 1}]
    return [42, "just-a-string", [1]]


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for seg in path:
        data = data[seg]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _run(data: Any, runner: CliRunner) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "baton.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        result = runner.invoke(app, ["config", "validate", "-c", str(path)], env=ENV)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        assert result.exit_code == 2, (result.stdout, result.stderr, yaml.safe_dump(data))
        line = one_line(result.stderr)
        located = LOCATED.match(line)
        assert located and located["file"] == str(path), line
        assert 1 <= int(located["line"]) <= path.read_text().count("\n") + 1
        return line[located.end() :]


def test_base_config_is_valid(runner: CliRunner) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "baton.yaml"
        path.write_text(yaml.safe_dump(BASE, sort_keys=False))
        result = runner.invoke(app, ["config", "validate", "-c", str(path)], env=ENV)
        assert result.exit_code == 0, result.stderr


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_wrong_type_anywhere_is_located(data: st.DataObject, runner: CliRunner) -> None:
    path = data.draw(st.sampled_from(VALUE_PATHS), label="path")
    wrong = data.draw(st.sampled_from(_wrong_values(_get(BASE, path))), label="value")
    mutated = copy.deepcopy(BASE)
    _set(mutated, path, wrong)
    rest = _run(mutated, runner)
    assert rest.startswith(format_path(path)), (path, rest)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_unknown_key_anywhere_is_located(data: st.DataObject, runner: CliRunner) -> None:
    mappings = [p for p in [(), *VALUE_PATHS] if isinstance(_get(BASE, p), dict)]
    path = data.draw(st.sampled_from(mappings), label="mapping")
    key = data.draw(st.from_regex(r"zz[a-z_]{1,8}", fullmatch=True), label="key")
    mutated = copy.deepcopy(BASE)
    _get(mutated, path)[key] = 1
    rest = _run(mutated, runner)
    assert rest.startswith(format_path((*path, key)) + ": "), rest


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_dependency_cycles_are_found(data: st.DataObject, runner: CliRunner) -> None:
    n = data.draw(st.integers(2, 7), label="steps")
    ids = [f"s{i}" for i in range(n)]
    ring = data.draw(st.permutations(ids), label="order")[: data.draw(st.integers(2, n), label="len")]
    deps: dict[str, set[str]] = {sid: set() for sid in ids}
    for a, b in zip(ring, [*ring[1:], ring[0]], strict=True):
        deps[a].add(b)
    extra = data.draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=6))
    for a, b in extra:
        if a != b:
            deps[a].add(b)
    steps = [
        {"id": sid, "agent_id": "sh", "prompt_template": "echo " + sid, "dependencies": sorted(deps[sid])}
        for sid in ids
    ]
    config = copy.deepcopy(BASE)
    config["workflows"] = {"loop": {"steps": steps}}
    rest = _run(config, runner)
    found = re.match(r"workflows\.loop\.steps\[(\d+)\]\.dependencies: dependency cycle: (.+)$", rest)
    assert found, rest
    cycle = found[2].split(" -> ")
    assert cycle[0] == cycle[-1] and ids[int(found[1])] == cycle[0]
    for a, b in itertools.pairwise(cycle):
        assert b in deps[a], f"{a} does not depend on {b}"
