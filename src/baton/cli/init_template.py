"""The commented ``baton.yaml`` that ``baton init`` writes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentCli:
    """A coding-agent CLI that ``baton init`` looks for on PATH."""

    agent_id: str
    program: str
    title: str
    provider: str
    model: str
    capabilities: tuple[str, ...]


AGENT_CLIS: tuple[AgentCli, ...] = (
    AgentCli(
        "claude",
        "claude",
        "Claude Code",
        "anthropic",
        "claude-sonnet-4-5",
        ("code_review", "task_planning", "coding"),
    ),
    AgentCli("codex", "codex", "OpenAI Codex CLI", "openai", "gpt-5.5", ("code_review", "coding")),
    AgentCli("copilot", "copilot", "GitHub Copilot CLI", "github", "gpt-5.4", ("code_review", "coding")),
    AgentCli("gemini", "gemini", "Gemini CLI", "google", "gemini-2.5-pro", ("code_review", "coding")),
)


def detect_agent_clis(which: Callable[[str], str | None] = shutil.which) -> dict[str, str | None]:
    """``{agent_id: path or None}`` for each known agent CLI."""
    return {cli.agent_id: which(cli.program) for cli in AGENT_CLIS}


_HEADER = """\
# Baton configuration. Check it with `baton config validate`; see the merged result
# (user file, this file, .baton/workflows/*.yaml, BATON_* variables) with `baton config show`.
#
# String values may use ${VAR} or ${VAR:-default}, read from the environment or from a
# .env file next to this file; write $${ for a literal ${. Prompt templates are Jinja2
# ({{ params.name }}, {{ outputs.step.text }}) and are never ${}-interpolated.

# Semantic version of this configuration. `baton config apply` records it; bump it
# whenever you change the file and apply again.
version: "1.0.0"

global:
  workspace_dir: .                 # where steps run, relative to this file
  max_concurrent_executions: 10
  default_timeout_seconds: 300     # per step; each step may set timeout_seconds (10..3600)
  # database_url: postgresql://baton@localhost/baton   # default: .baton/baton.db (SQLite)
  # artifacts_dir: .baton/artifacts  # prompts, transcripts, traces; inside the project, or an
  #                                  # absolute directory outside the system's (/etc, /proc, /usr...)
  cache:
    enabled: true                  # identical prompts to the same agent reuse the answer
  # budget:
  #   max_cost_usd: 5.0            # stop an execution that would spend more

agents:
  # Runs a step's rendered prompt as a bash script; substituted values never become code.
  sh:
    provider: shell
    model: bash
    capabilities: [command]
"""

_WORKFLOWS = """
workflows:
  # Try it: baton run hello -p name=Ada
  hello:
    description: Greets, then lists files and prints the date in parallel, then sums up.
    parameters:
      name: {type: string, default: world, description: Who to greet}
    steps:
      - id: greet
        agent_id: sh
        prompt_template: "echo Hello, {{ params.name }}"
      # `files` and `when` both depend only on `greet`, so they run in parallel.
      - id: files
        agent_id: sh
        dependencies: [greet]
        prompt_template: "ls -1A"
      - id: when
        agent_id: sh
        dependencies: [greet]
        prompt_template: "date -u +%Y-%m-%dT%H:%M:%SZ"
      # `summary` waits for both.
      - id: summary
        agent_id: sh
        dependencies: [files, when]
        input_mappings:
          greeting: outputs.greet.text
          listing: outputs.files.text
          now: outputs.when.text
        prompt_template: |
          printf '%s\\n' {{ greeting }}
          printf '%s entries here at %s\\n' "$(printf '%s\\n' {{ listing }} | grep -c .)" {{ now }}
"""


def _agent_block(cli: AgentCli, path: str | None) -> str:
    caps = ", ".join(cli.capabilities)
    body = [
        f"{cli.agent_id}:",
        f"  provider: {cli.provider}",
        f"  model: {cli.model}",
        "  interface: cli                # uses the CLI's own login; no key needed here",
        "  # interface: acp              # the same agent over ACP, Baton deciding its permissions",
        f"  capabilities: [{caps}]",
    ]
    if path is not None:
        lines = [f"  # {cli.title} (`{cli.program}`), found at {path}"]
        lines += [f"  {line}" for line in body]
    else:
        lines = [f"  # {cli.title} (`{cli.program}`) was not found on PATH; install it, then uncomment:"]
        lines += [f"  # {line}" for line in body]
    return "\n".join(lines) + "\n"


def render_config(found: dict[str, str | None]) -> str:
    """The ``baton.yaml`` text, with agents enabled for the CLIs in ``found``."""
    agents = "".join(_agent_block(cli, found.get(cli.agent_id)) for cli in AGENT_CLIS)
    return _HEADER + agents + _WORKFLOWS
