"""Graph rules are checked when the configuration loads: each error names the file, line,
workflow step and field."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from baton.config import ConfigError, load_configuration

HEAD = """\
version: "1.0.0"
agents:
  bot: {provider: scripted, model: echo, capabilities: [test]}
workflows:
  wf:
    type: langgraph
"""


def _load(tmp_path: Path, body: str) -> str:
    (tmp_path / "baton.yaml").write_text(HEAD + textwrap.indent(textwrap.dedent(body), "    "))
    with pytest.raises(ConfigError) as info:
        load_configuration(tmp_path / "baton.yaml", env={})
    return str(info.value)


CASES = {
    "unknown route target": (
        """
        steps:
          - {id: test, agent_id: bot, prompt_template: t, next: [{when: "true", goto: fixx}, {goto: end}]}
        """,
        "baton.yaml:9:",
        "workflows.wf.steps[0].next[0].goto",
        "step 'test': route 1 goes to 'fixx', which is not a step (steps: test; or end)",
    ),
    "unknown next": (
        """
        steps:
          - {id: a, agent_id: bot, prompt_template: a, next: nowhere}
        """,
        "baton.yaml:9:",
        "workflows.wf.steps[0].next",
        "step 'a': next 'nowhere' is not a step",
    ),
    "no fallback route": (
        """
        steps:
          - id: test
            agent_id: bot
            prompt_template: t
            next:
              - {when: "outputs.test.text == 'green'", goto: end}
        """,
        "baton.yaml:13:",
        "workflows.wf.steps[0].next[0].when",
        "step 'test': the last route needs no `when`",
    ),
    "unconditional route before others": (
        """
        steps:
          - id: test
            agent_id: bot
            prompt_template: t
            next: [{goto: end}, {when: "true", goto: test}, {goto: end}]
        """,
        "baton.yaml:12:",
        "workflows.wf.steps[0].next[0]",
        "routes after it are never taken",
    ),
    "unreachable step": (
        """
        steps:
          - {id: a, agent_id: bot, prompt_template: a, next: [{when: "true", goto: end}, {goto: end}]}
          - {id: orphan, agent_id: bot, prompt_template: o}
        """,
        "baton.yaml:10:",
        "workflows.wf.steps[1].id",
        "step 'orphan' is never reached",
    ),
    "loop without a way out": (
        """
        steps:
          - {id: start, agent_id: bot, prompt_template: s}
          - {id: a, agent_id: bot, prompt_template: a, next: b}
          - {id: b, agent_id: bot, prompt_template: b, next: [{when: "true", goto: a}, {goto: a}]}
        """,
        "baton.yaml:10:",
        "workflows.wf.steps[1].next",
        "loop a -> b -> a has no way out",
    ),
    "dependency on a routing step": (
        """
        steps:
          - {id: a, agent_id: bot, prompt_template: a, next: [{when: "true", goto: b}, {goto: end}]}
          - {id: b, agent_id: bot, prompt_template: b, dependencies: [a]}
        """,
        "baton.yaml:10:",
        "workflows.wf.steps[1].dependencies",
        "step 'b' depends on 'a', which routes with `next`; list 'b' among 'a''s routes instead",
    ),
    "route expression that does not parse": (
        """
        steps:
          - {id: a, agent_id: bot, prompt_template: a, next: [{when: "outputs.a.text ==", goto: end}, {goto: end}]}
        """,
        "baton.yaml:9:",
        "workflows.wf.steps[0].next[0].when",
        "expression does not parse",
    ),
    "no step budget": (
        """
        config: {max_steps: 0}
        steps:
          - {id: a, agent_id: bot, prompt_template: a}
        """,
        "baton.yaml:8:",
        "workflows.wf.config.max_steps",
        "max_steps must be a whole number",
    ),
    "approval message that does not parse": (
        """
        steps:
          - {id: a, agent_id: bot, prompt_template: a, approval: {message: "Ship {{ x }?"}}
        """,
        "baton.yaml:9:",
        "workflows.wf.steps[0].approval.message",
        "approval message is not a valid",
    ),
    "a step named end": (
        """
        steps:
          - {id: end, agent_id: bot, prompt_template: e}
        """,
        "baton.yaml:9:",
        "workflows.wf.steps[0].id",
        "step id 'end' is reserved",
    ),
    "python graph that is not module:function": (
        """
        graph: "pkg/mod.py"
        steps: []
        """,
        "baton.yaml:8:",
        "workflows.wf.graph",
        "is not 'package.module:function'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_graph_rule_errors_are_located(tmp_path: Path, case: str) -> None:
    body, where, field, message = CASES[case]
    error = _load(tmp_path, body)
    assert error.startswith(f"{tmp_path / where}"), error
    assert f" {field}: " in error, error
    assert message in error, error
    assert "\n" not in error


def test_a_good_graph_loads(tmp_path: Path) -> None:
    (tmp_path / "baton.yaml").write_text(
        HEAD
        + textwrap.indent(
            textwrap.dedent("""
        steps:
          - {id: implement, agent_id: bot, prompt_template: i}
          - {id: test, agent_id: bot, prompt_template: t, next: [{when: "failed('test')", goto: fix}, {goto: end}]}
          - {id: fix, agent_id: bot, prompt_template: f, next: test, max_iterations: 3}
        """),
            "    ",
        )
    )
    loaded = load_configuration(tmp_path / "baton.yaml", env={})
    assert loaded.configuration.workflows["wf"].steps[2].max_iterations == 3


def test_config_validate_reports_graph_errors(tmp_path: Path) -> None:
    body, where, field, _message = CASES["unknown route target"]
    (tmp_path / "baton.yaml").write_text(HEAD + textwrap.indent(textwrap.dedent(body), "    "))
    out = subprocess.run(
        [sys.executable, "-m", "baton", "config", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2
    assert where in out.stderr and field in out.stderr and "'fixx'" in out.stderr
    assert "Traceback" not in out.stderr


def test_graph_needs_type_langgraph(tmp_path: Path) -> None:
    (tmp_path / "baton.yaml").write_text(
        HEAD.replace("type: langgraph", "type: simple")
        + textwrap.indent(
            textwrap.dedent("""
        graph: "pkg.mod:build"
        steps:
          - {id: a, agent_id: bot, prompt_template: a}
        """),
            "    ",
        )
    )
    with pytest.raises(ConfigError, match=r"workflows\.wf\.graph: 'graph' needs type: langgraph"):
        load_configuration(tmp_path / "baton.yaml", env={})
