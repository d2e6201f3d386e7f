"""Shell templates are safe in any quoting context (issue 11, item 5).

Every payload below is substituted into every quoting context a script can put a
placeholder in, and run with bash: the script prints the payload's literal text (or, for
arithmetic, the render is refused unless the value is an integer), and no payload ever
runs: each one would create a marker file or print INJECTED-42 if it did.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from baton.engine.errors import TemplateRenderError
from baton.engine.templates import render_script
from baton.models import WorkflowStep

MARK = "/tmp/baton-injected-marker"

PAYLOADS = [
    "$(echo INJECTED-$((6*7)))",
    "`echo INJECTED-42`",
    f"$(touch {MARK})",
    f"`touch {MARK}`",
    f"; touch {MARK}",
    f"&& touch {MARK}",
    f"|| touch {MARK}",
    f"| touch {MARK}",
    f"& touch {MARK} &",
    f"\ntouch {MARK}\n",
    f"\r\ntouch {MARK}",
    f"'; touch {MARK}; echo '",
    f'"; touch {MARK}; echo "',
    f"'\"; touch {MARK}; #",
    f"\\'; touch {MARK}; #",
    f"\\\"; touch {MARK}; #",
    f"$'\\x27'; touch {MARK}",
    f"${{IFS}}touch${{IFS}}{MARK}",
    f"${{x:-$(touch {MARK})}}",
    f"${{x:=`touch {MARK}`}}",
    f"$((1+$(touch {MARK})))",
    f"a[$(touch {MARK})]",
    f"x[$(touch {MARK})]+1",
    f"1)); touch {MARK}; ((1",
    f")); touch {MARK}; echo $((1",
    f"EOF\ntouch {MARK}\nEOF",
    f"END\ntouch {MARK}\ncat <<END",
    f"`\ntouch {MARK}\n`",
    f") ; touch {MARK} ; (",
    f"$(\ntouch {MARK}\n)",
    f"<(touch {MARK})",
    f">(touch {MARK})",
    f"> {MARK}",
    f">> {MARK}",
    f"< /etc/passwd > {MARK}",
    f"{MARK}; touch {MARK}",
    "*",
    "/*",
    "~",
    "~root",
    "$HOME",
    "${HOME}",
    "$0 $1 $@ $* $# $? $$ $!",
    "!!",
    "!-1",
    f"{{a,b}} {{1..3}} $(touch {MARK})",
    "-n",
    "-e \\x41",
    "--help",
    "\\",
    "\\\\",
    "'",
    '"',
    "''",
    '""',
    f"\\$(touch {MARK})",
    f"\\`touch {MARK}\\`",
    f"$(( $(touch {MARK}) ))",
    f"# comment\ntouch {MARK}",
    f"\ttab\t$(touch {MARK})",
    f"ünï©ødé $(touch {MARK}) 😀",
    f"%s%n%x $(touch {MARK})",
    "   leading and trailing spaces   ",
    "a  b   c",
    f"$(printf '\\x74ouch {MARK}' | sh)",
    f"eval 'touch {MARK}'",
    f"$BASH_EXECUTION_STRING $(touch {MARK})",
    f"}}; touch {MARK}; : ${{",
    f"'$'\\''$(touch {MARK})'",
    "",
]

# (name, template, how the printed text relates to the value)
CONTEXTS = [
    ("bare", "printf '%s' {{ v }}", "words"),
    ("double", 'printf "%s" "PR title: {{ v }}"', "prefixed"),
    ("single", "printf '%s' 'PR title: {{ v }}'", "prefixed"),
    ("heredoc", "cat <<EOF\nPR title: {{ v }}\nEOF", "heredoc"),
    ("quoted heredoc", "cat <<'EOF'\nPR title: {{ v }}\nEOF", "heredoc"),
    ("backticks", "printf '%s' \"`printf '%s' {{ v }}`\"", "words-trimmed"),
    ("command substitution", 'printf "%s" "$(printf "%s" {{ v }})"', "words-trimmed"),
    ("substitution in quotes", 'printf "%s" "$(printf "%s" "PR title: {{ v }}")"', "prefixed-trimmed"),
    ("ansi-c", "printf '%s' $'PR title: {{ v }}'", "prefixed"),
    ("parameter default", 'printf "%s" "${UNSET_BATON_VAR:-PR title: {{ v }}}"', "prefixed"),
    ("assignment", 'x={{ v }}; printf "%s" "$x"', "words-joined"),
    ("comment", "# {{ v }}\nprintf '%s' done", "done"),
    # a '#' right after an expansion is a letter, not a comment
    ("after a parameter", "printf '%s' ${UNSET_BATON_VAR}#{{ v }}", "hashed"),
    ("after arithmetic", "printf '%s' $((1))#{{ v }}", "one-hashed"),
    ("arithmetic", "echo $(( {{ v }} + 1 ))", "arith"),
    ("arithmetic command", "(( n = {{ v }} )); echo $n", "arith-command"),
]


def _step(template: str) -> WorkflowStep:
    return WorkflowStep.model_validate({"id": "s", "agent_id": "sh", "prompt_template": template})


def _run(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(cwd), **env}
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=full, capture_output=True,
                          timeout=10, stdin=subprocess.DEVNULL)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(),
                                       done.stderr.decode())


def _expected(kind: str, value: str) -> str | None:
    if kind == "prefixed":
        return "PR title: " + value
    if kind == "prefixed-trimmed":
        return ("PR title: " + value).rstrip("\n")
    if kind == "heredoc":
        return "PR title: " + value + "\n"
    if kind in ("words", "words-joined"):
        return value
    if kind == "words-trimmed":
        return value.rstrip("\n")
    if kind == "hashed":
        return "#" + value
    if kind == "one-hashed":
        return "1#" + value
    if kind == "done":
        return "done"
    return None


@pytest.fixture(autouse=True)
def _no_marker() -> None:
    if os.path.exists(MARK):
        os.remove(MARK)


@pytest.mark.parametrize(("name", "template", "kind"), CONTEXTS, ids=[c[0] for c in CONTEXTS])
def test_no_payload_runs_in_any_quoting_context(name: str, template: str, kind: str, tmp_path: Path) -> None:
    assert len(PAYLOADS) >= 50
    refused = 0
    for value in PAYLOADS:
        try:
            script, env = render_script(_step(template), {"v": value})
        except TemplateRenderError as exc:
            # only where bash would evaluate the text as code, and only for non-integers
            assert kind.startswith("arith") or (name == "quoted heredoc" and "EOF" in value), (name, value)
            assert "integer" in str(exc) or "would end it" in str(exc)
            refused += 1
            continue
        done = _run(script, env, tmp_path)
        assert not os.path.exists(MARK), f"{name}: {value!r} ran: {script!r}"
        assert "INJECTED-42" not in done.stdout.replace(value, ""), (name, value, done.stdout)
        expected = _expected(kind, value)
        if expected is not None:
            assert done.returncode == 0, (name, value, done.stderr)
            assert done.stdout == expected, (name, value, script, done.stdout)
    if kind.startswith("arith"):
        assert refused == len(PAYLOADS)


@pytest.mark.parametrize("value", ["41", " 41 ", "-3"])
def test_integers_work_in_arithmetic(value: str, tmp_path: Path) -> None:
    script, env = render_script(_step("echo $(( {{ v }} + 1 ))"), {"v": value})
    assert _run(script, env, tmp_path).stdout == f"{int(value) + 1}\n"


def test_the_readme_example_prints_the_literal_title(tmp_path: Path) -> None:
    script, env = render_script(_step('echo "PR title: {{ params.title }}"'),
                                {"params": {"title": "$(echo INJECTED-$((6*7)))"}})
    assert script == 'echo "PR title: ${BATON_VALUE_1}"'
    assert _run(script, env, tmp_path).stdout == "PR title: $(echo INJECTED-$((6*7)))\n"


def test_raw_opts_out_and_values_outside_placeholders_are_untouched(tmp_path: Path) -> None:
    script, env = render_script(_step("{{ cmd | raw }} {{ arg }}; echo '$HOME' \"$((2+3))\""),
                                {"cmd": "echo", "arg": "a b"})
    assert _run(script, env, tmp_path).stdout == "a b\n$HOME 5\n"


def test_from_the_users_path(tmp_path: Path) -> None:
    from .project import baton_json, configure, new_project

    repo = new_project(tmp_path / "project")
    configure(repo, {}, {"title": {"parameters": {"title": {"type": "string"}},
                                   "steps": [{"id": "show", "agent_id": "sh",
                                              "prompt_template": 'echo "PR title: {{ params.title }}"'}]}})
    result = baton_json(repo, "run", "title", "-p", "title=$(echo INJECTED-$((6*7)))")
    assert result["outputs"]["show"]["text"] == "PR title: $(echo INJECTED-$((6*7)))\n"


LARGE_CONTEXTS = [c for c in CONTEXTS if not c[2].startswith("arith") and c[0] != "quoted heredoc"]


@pytest.mark.parametrize(("name", "template", "kind"), LARGE_CONTEXTS, ids=[c[0] for c in LARGE_CONTEXTS])
async def test_large_values_stay_data_through_the_shell_agent(name: str, template: str, kind: str,
                                                              tmp_path: Path) -> None:
    """A value over what the environment holds reaches the script as data, trailing newlines kept.

    Such values are read from a file into an unexported variable, so the commands the script
    runs (``printf`` is a builtin, the ``cat`` after each template is not) still start.
    """
    from baton.agents.base import AgentRequest, discard_events
    from baton.agents.shell import ShellAgent
    from baton.models import Agent

    agent = ShellAgent(Agent.model_validate({"id": "sh", "provider": "shell", "model": "bash",
                                             "capabilities": ["command"]}))
    for payload in PAYLOADS[:8]:
        value = payload + " " + "A" * 200_000 + " " + payload + "\n\n"
        script, env = render_script(_step(template + "\ncat /dev/null"), {"v": value})
        result = await agent.run(AgentRequest(prompt=script, workspace_dir=tmp_path, timeout_seconds=30,
                                              environment=env), discard_events)
        assert not os.path.exists(MARK), f"{name}: {payload!r} ran"
        expected = _expected(kind, value)
        if expected is not None:
            assert result.text == expected, (name, payload, result.text[:200], result.text[-200:])
