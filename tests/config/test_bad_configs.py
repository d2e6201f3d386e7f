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


# -- the user's path: `baton init` in a fresh git repository, then an edit ------------------------------
# Whatever `config validate` accepts, `baton run` must not crash on (issue 12, item 13).

HELLO = '  hello:\n'
WORKFLOW_FILE = ".baton/workflows/x.yaml"
STEP = "steps:\n  - {id: a, agent_id: sh, prompt_template: \"echo hi\"}\n"


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.integration.userpath import Project

    return Project.init(tmp_path_factory.mktemp("user") / "repo").root


@pytest.fixture
def user(initialised: Path, tmp_path: Path) -> Any:
    import shutil

    from tests.integration.userpath import Project

    root = tmp_path / "repo"
    shutil.copytree(initialised, root, symlinks=True)
    return Project(root)


def _edit(project: Any, baton_yaml: tuple[str, str] | None, workflow: str | None) -> None:
    if baton_yaml is not None:
        text = project.config_path.read_text()
        old, new = baton_yaml
        assert old in text, old
        project.config_path.write_text(text.replace(old, new, 1))
    if workflow is not None:
        path = project.root / WORKFLOW_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(workflow)


DIGITS = "9" * 5000
DEEP_BLOCK = "metadata:\n" + "".join("  " * (i + 1) + "k:\n" for i in range(299)) + "  " * 300 + "k: v\n"

USER_CASES: list[tuple[str, tuple[str, str] | None, str | None, str, str]] = [
    # id, edit of baton.yaml, .baton/workflows/x.yaml, expected "file:line field", message fragment
    ("unknown-step-in-failed", None,
     STEP + "  - {id: b, agent_id: sh, condition: \"failed('nope')\", prompt_template: \"echo\"}\n",
     f"{WORKFLOW_FILE}:3 workflows.x.steps[1].condition", "failed('nope') names no step"),
    ("unknown-step-in-succeeded", None,
     STEP + "  - {id: b, agent_id: sh, prompt_template: \"{% if succeeded('z') %}x{% endif %}\"}\n",
     f"{WORKFLOW_FILE}:3 workflows.x.steps[1].prompt_template", "succeeded('z') names no step"),
    ("unknown-output", None,
     STEP + "  - {id: b, agent_id: sh, prompt_template: \"echo {{ outputs.nope.text }}\"}\n",
     f"{WORKFLOW_FILE}:3 workflows.x.steps[1].prompt_template", "no step has output key 'nope'"),
    ("unknown-output-in-mapping", None,
     STEP + "  - id: b\n    agent_id: sh\n    input_mappings: {v: outputs.zz.text}\n"
            "    prompt_template: \"echo {{ v }}\"\n",
     f"{WORKFLOW_FILE}:5 workflows.x.steps[1].input_mappings.v", "no step has output key 'zz'"),
    ("include", None, "steps:\n  - {id: a, agent_id: sh, prompt_template: \"{% include 'x.j2' %}\"}\n",
     f"{WORKFLOW_FILE}:2 workflows.x.steps[0].prompt_template", "{% include %} is not supported"),
    ("import", None, "steps:\n  - {id: a, agent_id: sh, prompt_template: \"{% import 'x.j2' as m %}\"}\n",
     f"{WORKFLOW_FILE}:2 workflows.x.steps[0].prompt_template", "{% import %} is not supported"),
    ("constant-too-large", None, "steps:\n  - {id: a, agent_id: sh, prompt_template: \"{{ 'a' * 10**10 }}\"}\n",
     f"{WORKFLOW_FILE}:2 workflows.x.steps[0].prompt_template", "10,000,000,000 characters"),
    ("constant-range", None,
     "steps:\n  - {id: a, agent_id: sh, prompt_template: \"{% for i in range(10**9) %}.{% endfor %}\"}\n",
     f"{WORKFLOW_FILE}:2 workflows.x.steps[0].prompt_template", "range of 1,000,000,000 numbers"),
    ("default-wrong-type", None, "parameters:\n  n: {type: integer, default: five}\n" + STEP,
     f"{WORKFLOW_FILE}:2 workflows.x.parameters.n.default", "'five' is not of type integer"),
    ("default-outside-enum", None, "parameters:\n  n: {type: string, default: c, enum: [a, b]}\n" + STEP,
     f"{WORKFLOW_FILE}:2 workflows.x.parameters.n.default", "not one of the enum values"),
    ("metadata-300-deep-block", None, STEP + DEEP_BLOCK, f"{WORKFLOW_FILE}:", "nested more than 32 levels"),
    ("timeout-5000-digits", None,
     f"steps:\n  - {{id: a, agent_id: sh, prompt_template: \"echo\", timeout_seconds: {DIGITS}}}\n",
     f"{WORKFLOW_FILE}:2 steps[0].timeout_seconds", "5,000 digits"),
    ("artifacts-etc", ("  workspace_dir: .", "  artifacts_dir: /etc\n  workspace_dir: ."), None,
     "baton.yaml:13 global.artifacts_dir", "system directory /etc"),
    ("artifacts-proc-self", ("  workspace_dir: .", "  artifacts_dir: /proc/self\n  workspace_dir: ."), None,
     "baton.yaml:13 global.artifacts_dir", "system directory /proc"),
    ("artifacts-climbing-out", ("  workspace_dir: .", "  artifacts_dir: ../../../../../../../etc\n"
                                "  workspace_dir: ."), None,
     "baton.yaml:13 global.artifacts_dir", "system directory /etc"),
    ("version-newline", ('version: "1.0.0"', 'version: "1.0.0\\n"'), None,
     "baton.yaml:10 version", "not a semantic version"),
    ("name-newline", (HELLO, HELLO + '    name: "hello\\nworld"\n'), None,
     "baton.yaml:", "without control characters"),
    ("base-url-file", ("    model: bash\n", "    model: bash\n    config: {base_url: \"file:///etc/passwd\"}\n"),
     None, "baton.yaml:", "must start with http:// or https://"),
    ("base-url-javascript", ("    model: bash\n", "    model: bash\n    config: {base_url: \"javascript:alert(1)\"}\n"),
     None, "baton.yaml:", "must start with http:// or https://"),
    ("base-url-ftp", ("    model: bash\n", "    model: bash\n    config: {base_url: \"ftp://example.com/\"}\n"),
     None, "baton.yaml:", "must start with http:// or https://"),
    # was read as the default (1) without a word
    ("cli-retries-word", ("    model: bash\n", "    model: bash\n    config: {cli_retries: lots}\n"),
     None, "baton.yaml:", "must be a whole number from 0 to 9, got 'lots'"),
    ("cli-retries-over", ("    model: bash\n", "    model: bash\n    config: {cli_retries: 50}\n"),
     None, "baton.yaml:", "must be a whole number from 0 to 9, got 50"),
]


@pytest.mark.parametrize(("edit", "workflow", "where", "fragment"), [c[1:] for c in USER_CASES],
                         ids=[c[0] for c in USER_CASES])
def test_validate_refuses_what_run_cannot_run(user: Any, edit: tuple[str, str] | None, workflow: str | None,
                                              where: str, fragment: str) -> None:
    _edit(user, edit, workflow)
    for command in (("config", "validate"), ("workflows", "validate")):
        out = user.baton(*command, env={"COLUMNS": "1000"})
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        assert "Traceback" not in out.stdout + out.stderr
        line = out.stderr.strip().splitlines()[-1]
        assert fragment in line, line
        located = re.match(r"^(?:error: )?(?P<file>\S+?):(?P<line>\d+):\d+ (?P<field>\S+): ", line)
        assert located, line
        file_line, _, field = where.partition(" ")
        assert f"{located['file']}:{located['line']}".startswith(file_line), line
        if field:
            assert located["field"] == field, line


def test_the_user_can_keep_artifacts_in_a_directory_of_their_own(user: Any, tmp_path: Path) -> None:
    mine = tmp_path / "my-artifacts"
    _edit(user, ("  workspace_dir: .", f"  artifacts_dir: {mine}\n  workspace_dir: ."), None)
    assert user.baton("config", "validate").returncode == 0
    ran = user.baton("run", "hello", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json_of(ran.stdout)["artifacts_dir"].startswith(str(mine))


def json_of(text: str) -> Any:
    import json

    return json.loads(text)


BOMBS = [  # params.n is 1: nothing here is constant, so validate cannot tell
    ("repeat", "echo {{ 'a' * params.n * 10**9 }}", "'*' would make a string"),
    ("range", "{% for i in range(params.n * 10**9) %}.{% endfor %}", "range of"),
    ("recursive-macro", "{% macro m(k) %}{{ m(k + 1) }}{% endmacro %}{{ m(params.n) }}", "nest more than"),
    ("format-width", "echo {{ ('{:>' ~ (params.n * 10**9) ~ '}').format('a') }}", "str.format"),
    ("nested-loops", "{% for i in range(params.n * 100000) %}{% for j in range(100000) %}{% endfor %}"
                     "{% endfor %}", "loop passes and calls"),
    ("doubling", "{% macro d(s, k) %}{{ d(s ~ s, k - 1) if k else s }}{% endmacro %}"
                 "{{ d('ab' * params.n, 64) }}", "would make a string"),
    # each padded string is within bounds; map keeps all of them (a terabyte unbounded)
    ("mapped-padding", "echo {{ range(params.n * 100000)|map('string')|map('center', 10**7)|list|length }}",
     "builds more than 64 MiB"),
]


@pytest.mark.parametrize(("template", "fragment"), [b[1:] for b in BOMBS], ids=[b[0] for b in BOMBS])
def test_a_template_over_the_sandbox_bounds_fails_its_step_located(user: Any, template: str,
                                                                    fragment: str) -> None:
    steps = {"parameters": {"n": {"type": "integer", "default": 1}},
             "steps": [{"id": "first", "agent_id": "sh", "prompt_template": "echo ok"},
                       {"id": "bomb", "agent_id": "sh", "prompt_template": template}]}
    _edit(user, None, yaml.safe_dump(steps, sort_keys=False))
    assert user.baton("config", "validate").returncode == 0  # not constant: only the run can tell
    ran = user.baton("run", "x", "--json", timeout=120)
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    result = json_of(ran.stdout)
    assert result["status"] == "failed"
    steps_by_id = {s["step_id"]: s for s in result["steps"]}
    assert steps_by_id["first"]["status"] == "completed"
    error = result["outputs"]["bomb"]["error"]
    where = (user.root / WORKFLOW_FILE).read_text().splitlines().index("- id: bomb") + 3
    assert error.startswith(f"{WORKFLOW_FILE}:{where}:"), error
    assert "step bomb: prompt_template:" in error and fragment in error, error
    status = user.baton("status", "--json")
    assert "Traceback" not in status.stderr and json_of(status.stdout)["status"] == "failed"
