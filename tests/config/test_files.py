"""Workflow files, @prompts/ includes, and the YAML safety guards (size, duplicates, aliases)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from baton.config import ConfigFileError, IncludeError
from baton.config.parsecache import ParseCache
from baton.config.yamlio import MAX_FILE_BYTES
from tests.config.conftest import VALID, Project, unmark

HEAD = 'version: "1.0.0"\nagents:\n  sh: {provider: shell, model: bash, capabilities: [command]}\n'


# -- .baton/workflows/*.yaml -------------------------------------------------------------------------
def test_workflow_file_id_from_key_or_stem(project: Project) -> None:
    project.write(".baton/workflows/lint.yaml", "steps:\n  - {id: a, agent_id: sh, prompt_template: ruff}\n")
    project.write(
        ".baton/workflows/other.yml",
        "id: release\ndescription: ship it\nsteps:\n  - {id: a, agent_id: sh, prompt_template: x}\n",
    )
    loaded = project.load(VALID)
    assert loaded.workflow_ids == ["w", "lint", "release"]
    assert loaded.workflow("release").description == "ship it"


def test_error_in_workflow_file_is_located_in_that_file(project: Project) -> None:
    text, line, col = unmark(
        "description: x\nsteps:\n  - id: a\n    agent_id: sh\n    prompt_template: x\n"
        "    ⟦timeout_seconds: 4000\n"
    )
    project.write(".baton/workflows/review.yaml", text)
    err = project.error(HEAD)
    assert (err.file, err.line, err.column) == (".baton/workflows/review.yaml", line, col)
    assert err.field_path == "workflows.review.steps[0].timeout_seconds"
    assert str(err) == (
        f".baton/workflows/review.yaml:{line}:{col} "
        "workflows.review.steps[0].timeout_seconds: must be between 10 and 3600"
    )


def test_unknown_agent_in_workflow_file(project: Project) -> None:
    text, line, col = unmark("steps:\n  - id: a\n    ⟦agent_id: ghost\n    prompt_template: x\n")
    project.write(".baton/workflows/w2.yaml", text)
    err = project.error(HEAD)
    assert (err.file, err.line, err.column, err.field_path) == (
        ".baton/workflows/w2.yaml",
        line,
        col,
        "workflows.w2.steps[0].agent_id",
    )


def test_workflow_file_bad_id(project: Project) -> None:
    project.write(".baton/workflows/x.yaml", "id: Bad Id\nsteps: []\n")
    err = project.error(HEAD)
    assert str(err).startswith(".baton/workflows/x.yaml:1:1 ")
    assert "must match" in err.message
    project.write(".baton/workflows/x.yaml", "steps: []\n")
    os.rename(project.root / ".baton/workflows/x.yaml", project.root / ".baton/workflows/Bad.yaml")
    assert "from its file name" in project.error(HEAD).message


def test_workflow_defined_twice(project: Project) -> None:
    project.write(".baton/workflows/w.yaml", "steps:\n  - {id: a, agent_id: sh, prompt_template: x}\n")
    err = project.error(VALID)
    assert err.file == ".baton/workflows/w.yaml"
    assert "already defined in baton.yaml:5:3" in err.message


def test_workflow_file_must_be_a_mapping(project: Project) -> None:
    project.write(".baton/workflows/w2.yaml", "- a\n- b\n")
    err = project.error(VALID)
    assert str(err).startswith(".baton/workflows/w2.yaml:1:1 ")
    assert "must be a mapping" in err.message


def test_workflow_file_interpolation(project: Project) -> None:
    project.write(
        ".baton/workflows/w2.yaml",
        "description: 'team ${TEAM:-none}'\nsteps:\n  - {id: a, agent_id: sh, prompt_template: 'echo ${X}'}\n",
    )
    wf = project.load(VALID).workflow("w2")
    assert wf.description == "team none"
    assert wf.steps[0].prompt_template == "echo ${X}"


# -- @prompts/ includes ---------------------------------------------------------------------------------
def test_prompt_include_replaces_the_template(project: Project) -> None:
    project.write(".baton/prompts/review.j2", "Review {{ diff }}\nbe terse\n")
    loaded = project.load(
        HEAD + "workflows:\n  w:\n    steps:\n"
        "      - {id: a, agent_id: sh, prompt_template: '@prompts/review.j2'}\n"
    )
    assert loaded.workflow("w").steps[0].prompt_template == "Review {{ diff }}\nbe terse\n"
    assert project.root / ".baton/prompts/review.j2" in loaded.sources


def test_prompt_include_from_workflow_file(project: Project) -> None:
    project.write(".baton/prompts/sub/plan.j2", "Plan {{ params.issue }}")
    project.write(
        ".baton/workflows/plan.yaml",
        "steps:\n  - {id: a, agent_id: sh, prompt_template: '@prompts/sub/plan.j2'}\n",
    )
    assert project.load(HEAD).workflow("plan").steps[0].prompt_template == "Plan {{ params.issue }}"


def test_included_template_is_validated(project: Project) -> None:
    project.write(".baton/prompts/bad.j2", "{% if x %}never closed")
    text, line, col = unmark(
        HEAD + "workflows:\n  w:\n    steps:\n      - id: a\n        agent_id: sh\n"
        "        ⟦prompt_template: '@prompts/bad.j2'\n"
    )
    err = project.error(text)
    assert (err.line, err.column, err.field_path) == (line, col, "workflows.w.steps[0].prompt_template")
    assert "not a valid Jinja2 template" in err.message


@pytest.mark.parametrize(
    "reference",
    ["@prompts/../baton.yaml", "@prompts/../../etc/passwd", "@prompts//etc/passwd", "@prompts/a/../../x.j2"],
)
def test_prompt_traversal_is_refused(project: Project, reference: str) -> None:
    project.write(".baton/prompts/a/ok.j2", "x")
    text, line, col = unmark(
        HEAD
        + f"workflows:\n  w:\n    steps:\n      - {{id: a, agent_id: sh, prompt_template: ⟦'{reference}'}}\n"
    )
    err = project.error(text)
    assert isinstance(err, IncludeError)
    assert (err.file, err.line, err.column) == ("baton.yaml", line, col)
    assert "escapes .baton/prompts" in err.message


def test_prompt_symlink_out_of_the_folder_is_refused(project: Project) -> None:
    secret = project.write("secret.txt", "token")
    (project.root / ".baton/prompts").mkdir(parents=True)
    (project.root / ".baton/prompts/link.j2").symlink_to(secret)
    err = project.error(
        HEAD
        + "workflows:\n  w:\n    steps:\n      - {id: a, agent_id: sh, prompt_template: '@prompts/link.j2'}\n"
    )
    assert "escapes .baton/prompts" in err.message


def test_missing_prompt_file(project: Project) -> None:
    err = project.error(
        HEAD
        + "workflows:\n  w:\n    steps:\n      - {id: a, agent_id: sh, prompt_template: '@prompts/no.j2'}\n"
    )
    assert "no such prompt file .baton/prompts/no.j2" in err.message


# -- file guards ------------------------------------------------------------------------------------------
def test_huge_file_is_refused_with_its_size(project: Project) -> None:
    filler = "# " + "x" * 98 + "\n"
    project.write("baton.yaml", VALID + filler * (MAX_FILE_BYTES // len(filler) + 10))
    err = project.error()
    assert isinstance(err, ConfigFileError)
    assert err.line is None
    size = (project.root / "baton.yaml").stat().st_size
    assert str(err).startswith(f"baton.yaml: file is {size:,} bytes, over the 1 MiB (1,048,576 bytes) limit")


def test_huge_prompt_file_is_refused(project: Project) -> None:
    project.write(".baton/prompts/big.j2", "x" * (MAX_FILE_BYTES + 1))
    err = project.error(
        HEAD
        + "workflows:\n  w:\n    steps:\n      - {id: a, agent_id: sh, prompt_template: '@prompts/big.j2'}\n"
    )
    assert "over the 1 MiB (1,048,576 bytes) limit" in err.message


def test_duplicate_keys_are_refused(project: Project) -> None:
    text, line, col = unmark(HEAD + "  ⟦sh: {provider: shell, model: sh, capabilities: [x]}\n")
    err = project.error(text)
    assert (err.line, err.column, err.field_path) == (line, col, "agents.sh")
    assert "duplicate key 'sh' (first defined at line 3)" in err.message


def test_merge_keys_are_not_duplicates(project: Project) -> None:
    cfg = project.load(
        HEAD + "workflows:\n  w:\n    steps:\n"
        "      - id: a\n        agent_id: sh\n        prompt_template: x\n"
        "        retry_policy: &retry {max_attempts: 3, backoff_seconds: 1}\n"
        "      - id: b\n        agent_id: sh\n        prompt_template: y\n"
        "        retry_policy:\n          <<: *retry\n          max_attempts: 5\n"
    ).configuration
    steps = cfg.workflows["w"].steps
    assert (steps[0].retry_policy.max_attempts, steps[1].retry_policy.max_attempts) == (3, 5)
    assert steps[1].retry_policy.backoff_seconds == 1


def test_billion_laughs_is_refused_quickly(project: Project) -> None:
    lines = ['version: "1.0.0"', 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    err = project.error("\n".join(lines) + "\n")
    assert "alias bomb" in err.message
    assert err.field_path == "l9"
    assert err.line == 11


def test_moderate_alias_use_is_fine(project: Project) -> None:
    steps = "".join(
        f"      - {{id: s{i}, agent_id: sh, prompt_template: x, retry_policy: *r}}\n" for i in range(50)
    )
    cfg = project.load(
        HEAD + "workflows:\n  w:\n    steps:\n"
        "      - {id: a, agent_id: sh, prompt_template: x, retry_policy: &r {max_attempts: 2}}\n" + steps
    ).configuration
    assert all(s.retry_policy.max_attempts == 2 for s in cfg.workflows["w"].steps)


def test_deep_flow_nesting_is_refused_before_libyaml_sees_it(project: Project) -> None:
    err = project.error('version: "1.0.0"\nx: ' + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested more than 200 levels" in err.message
    assert (err.line, err.column) == (2, 204)


def test_brackets_inside_a_string_are_not_nesting(project: Project) -> None:
    template = "echo '" + "[" * 300 + "'"
    cfg = project.load(
        HEAD + "workflows:\n  w:\n    steps:\n"
        f"      - {{id: a, agent_id: sh, prompt_template: \"{template}\"}}\n"
    ).configuration
    assert cfg.workflows["w"].steps[0].prompt_template == template


def test_yaml_syntax_error_is_located(project: Project) -> None:
    err = project.error('version: "1.0.0"\nagents:\n  sh: {provider: shell\n')
    assert err.file == "baton.yaml" and err.line is not None and err.line >= 3
    assert err.message.startswith("invalid YAML: ")


def test_unsafe_tags_are_refused(project: Project) -> None:
    err = project.error('version: "1.0.0"\nx: !!python/object/apply:os.system ["touch pwned"]\n')
    assert (err.line, err.column) == (2, 4)
    assert not (project.root / "pwned").exists()


# -- the fast path (events) and the careful path (nodes) agree -----------------------------------------------
_PLAIN_DOCUMENTS = [
    "",
    "---\n",
    "# only a comment\n",
    "plain",
    "[1, {a: [2, 3]}, []]",
    "a: 1\nb: [-2, +3, 0x1f, 0o17, 012, 1_000, 1.5, .inf, -.nan, 6.02e+23]\n",
    "a: [yes, No, on, OFF, true, ~, null, '', '1', \"2\", 2026-12-07, 2026-12-07 09:00:00]\n",
    "{1: a, 1.5: b, null: c, x: {y: [z]}}\n",
    "a: ! 1\nb: |\n  block\n  text\nc: >-\n  folded\n  text\n",
    "? complex\n: value\n",
    "x: 12345678901234567890123\n",
]


@pytest.mark.parametrize("text", _PLAIN_DOCUMENTS)
def test_the_event_builder_gives_what_the_node_builder_gives(text: str) -> None:
    from baton.config.yamlio import _careful_parse, _fast_parse

    assert _fast_parse(text)[0] == _careful_parse(text, "x.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "$HOME",
        "a: ${X}\n${key}: 1\nb: [x, '$y', {c: [[1, $z]], $k: plain}]\nd: {e: {f: a$b}}\n$g: [$h]\n",
        "- ${A}\n- ['${B}', {c: '${C}'}]\n",
        "{a: 1, b: '$$', c: [$]}",
    ],
)
def test_the_event_builder_notes_the_strings_interpolation_visits(text: str) -> None:
    from baton.config.interpolate import dollar_paths
    from baton.config.yamlio import _fast_parse

    data, noted = _fast_parse(text)
    assert noted == dollar_paths(data)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x {b: 1}\nc: *x\n",  # anchors and aliases
        "a: !!str 1\n",  # explicit tag
        "<<: {a: 1}\nb: 2\n",  # merge key
        "a: 1\na: 2\n",  # duplicate key
        "{1: a, true: b}\n",  # 1 == True: a duplicate too
        "? [1]\n: 2\n",  # unhashable key
        "a: 1\n---\nb: 2\n",  # two documents
        "a: b: c\n",  # syntax error
    ],
)
def test_what_the_event_builder_does_not_take_goes_the_careful_way(text: str) -> None:
    from baton.config.yamlio import _careful_parse, _fast_parse, parse

    with pytest.raises(Exception):  # noqa: B017 - _NotPlain or libyaml's own error
        _fast_parse(text)
    try:
        expected: object = _careful_parse(text, "x.yaml")
    except ConfigFileError as exc:
        with pytest.raises(ConfigFileError) as got:
            parse(text, "x.yaml")
        assert str(got.value) == str(exc)
    else:
        assert parse(text, "x.yaml") == expected


def test_the_benchmark_config_takes_the_fast_path() -> None:
    import sys

    from baton.config.yamlio import _careful_parse, _fast_parse

    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    try:
        from config_load import generate
    finally:
        sys.path.pop(0)
    text = generate(8, 20)
    assert _fast_parse(text)[0] == _careful_parse(text, "x.yaml")


# -- parse cache ---------------------------------------------------------------------------------------------
def _big_config(steps: int) -> str:
    body = "".join(
        f"      - {{id: s{i}, agent_id: sh, prompt_template: 'echo {i} ${{HOME}}', timeout_seconds: 60}}\n"
        for i in range(steps)
    )
    return HEAD + "global: {database_url: '${DB:-sqlite:///x.db}'}\nworkflows:\n  w:\n    steps:\n" + body


def test_parse_cache_round_trips(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache", min_bytes=0)
    text = _big_config(20)
    first = cache.parse(text, "baton.yaml")
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1
    second = cache.parse(text, "baton.yaml")
    assert second.data == first.data
    assert second.dollar_paths == first.dollar_paths
    assert ("global", "database_url") in (second.dollar_paths or [])


def test_loads_with_and_without_the_cache_agree(project: Project) -> None:
    project.write("baton.yaml", _big_config(400))
    assert (project.root / "baton.yaml").stat().st_size > 32 * 1024
    cache_dir = project.root / "cache"
    env_cached = project.env(BATON_CACHE_DIR=str(cache_dir), DB="pg://h/db")
    env_plain = project.env(DB="pg://h/db")
    plain = project.load(env=env_plain).configuration
    first = project.load(env=env_cached).configuration
    second = project.load(env=env_cached).configuration
    assert plain == first == second
    assert second.global_.database_url == "pg://h/db"
    assert len(list((cache_dir / "config").glob("*.json"))) == 1


def test_corrupt_cache_entry_falls_back_to_parsing(project: Project) -> None:
    project.write("baton.yaml", _big_config(400))
    cache_dir = project.root / "cache"
    env = project.env(BATON_CACHE_DIR=str(cache_dir))
    project.load(env=env)
    (entry,) = (cache_dir / "config").glob("*.json")
    entry.write_text("{not json")
    assert len(project.load(env=env).configuration.workflows["w"].steps) == 400


def test_invalid_files_are_not_cached(project: Project) -> None:
    project.write("baton.yaml", _big_config(400) + "agents: {}\n")  # duplicate top-level key
    cache_dir = project.root / "cache"
    err = project.error(env=project.env(BATON_CACHE_DIR=str(cache_dir)))
    assert "duplicate key 'agents'" in err.message
    assert not list(cache_dir.rglob("*.json"))
