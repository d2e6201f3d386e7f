"""The GitHub Action's entry point: from the event to a workflow run, its results posted.

:func:`plan_for_event` reads the event (``GITHUB_EVENT_NAME`` + the payload at
``GITHUB_EVENT_PATH``) and picks the workflow and its parameters:

==========================  ====================================================
``pull_request`` opened,    ``code-review`` of the pull request; ``synchronize``
reopened, synchronize,      reviews only what changed since Baton's last review
ready_for_review            (``pull_request_target`` is handled the same way)
``issue_comment``           ``/baton review`` on a pull request → ``code-review``;
                            ``/baton fix`` → ``pr-fix``; ``/baton implement`` on an
                            issue → ``issue-to-pr``. Only from the repository's
                            owners, members and collaborators.
``workflow_dispatch``       the ``workflow`` input (or the Action's), with the
                            other inputs as parameters
==========================  ====================================================

A pull request from a fork gets a **read-only run** unless the repository opts in
(``allow-forks``): the agents' API keys are removed from the environment before the
configuration is read, nothing is written to GitHub, and the results go to the job
summary only. With the opt-in, the configuration is read from the base branch (contents
API), never from the fork's head.

:func:`run_action` runs the workflow, posts the results (review + sticky comment, or the
pull request, or the replies), writes ``GITHUB_STEP_SUMMARY``, a check run and the
outputs ``verdict``, ``execution-id`` and ``cost-usd`` (``GITHUB_OUTPUT``), and returns
the exit code ``fail-on`` asks for.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.errors import BatonError
from baton.integrations.git_credentials import scrub_persisted_credentials
from baton.integrations.github import TOKEN_VARIABLES, GitHubClient, GitHubError, GitHubSettings
from baton.integrations.github_review import post_review, upsert_sticky
from baton.integrations.hooks import NOTHING_TO_DO, prepare, publish
from baton.models import Trigger
from baton.models.configuration import TRUSTED_ASSOCIATIONS as DEFAULT_TRUSTED
from baton.wording import counted

TRUSTED_ASSOCIATIONS = frozenset(DEFAULT_TRUSTED)
PR_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})
COMMANDS = {"review": "code-review", "fix": "pr-fix", "implement": "issue-to-pr"}
FAIL_ON = ("never", "error", "request_changes", "comment")
SECRET_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "COPILOT_GITHUB_TOKEN",
    "BATON_GITHUB_APP_PRIVATE_KEY",
)
# agent id -> (provider, model, capabilities, variable holding its API key)
DEFAULT_AGENTS: dict[str, tuple[str, str, list[str], str]] = {
    "claude": (
        "anthropic",
        "claude-sonnet-4-5",
        ["code_review", "task_planning", "coding"],
        "ANTHROPIC_API_KEY",
    ),
    "codex": ("openai", "gpt-5.5", ["code_review", "coding"], "OPENAI_API_KEY"),
    "gemini": ("google", "gemini-2.5-pro", ["code_review", "coding"], "GEMINI_API_KEY"),
    "copilot": ("github", "gpt-5.4", ["code_review", "coding"], "COPILOT_GITHUB_TOKEN"),
}


class ActionError(BatonError):
    """The Action cannot run as configured (exit 2)."""

    cli_exit_code = 2


@dataclass
class ActionPlan:
    """What the event asks for."""

    workflow: str | None
    params: dict[str, Any] = field(default_factory=dict)
    pr: int | None = None
    head_sha: str = ""
    base_ref: str = ""
    fork: bool = False
    skip: str | None = None


@dataclass
class ActionOptions:
    """The Action's inputs."""

    workflow: str = ""
    config: str = ""
    agents: str = ""
    fail_on: str = "request_changes"
    allow_forks: bool = False
    allow_approve: bool = False
    check_run: bool = True


@dataclass
class ActionOutcome:
    """How the Action's run ended."""

    exit_code: int
    verdict: str
    execution_id: str = ""
    cost_usd: float = 0.0
    summary: str = ""
    notes: list[str] = field(default_factory=list)


def _command(body: str) -> tuple[str, str] | None:
    words = body.strip().split()
    if len(words) >= 2 and words[0] == "/baton" and words[1] in COMMANDS:
        return COMMANDS[words[1]], " ".join(words[2:])
    return None


def plan_for_event(event_name: str, event: Mapping[str, Any], options: ActionOptions) -> ActionPlan:
    """Which workflow the event runs, with which parameters (see the module doc)."""
    repo_full = str((event.get("repository") or {}).get("full_name") or "")
    if event_name in ("pull_request", "pull_request_target"):
        pull = event.get("pull_request") or {}
        action = str(event.get("action") or "")
        if action not in PR_ACTIONS:
            return ActionPlan(None, skip=f"{event_name} {action or '?'}: nothing to do")
        if pull.get("draft") and action != "ready_for_review":
            return ActionPlan(None, skip="draft pull request: reviewed once it is ready for review")
        head = pull.get("head") or {}
        base = pull.get("base") or {}
        fork = str((head.get("repo") or {}).get("full_name") or "") != str(
            (base.get("repo") or {}).get("full_name") or repo_full
        )
        workflow = options.workflow or "code-review"
        params: dict[str, Any] = {"pr": str(pull.get("number")), "base": str(base.get("ref") or "")}
        if workflow == "code-review":
            login = str((pull.get("user") or {}).get("login") or "unknown")
            params["pr_author"] = f"{login} ({str(pull.get('author_association') or 'NONE').upper()})"
            if action == "synchronize":
                params["incremental"] = "true"
        return ActionPlan(
            workflow,
            params,
            pr=int(pull["number"]),
            head_sha=str(head.get("sha") or ""),
            base_ref=str(base.get("ref") or ""),
            fork=fork,
        )
    if event_name == "issue_comment":
        if event.get("action") != "created":
            return ActionPlan(None, skip="issue_comment: only new comments are commands")
        comment = event.get("comment") or {}
        found = _command(str(comment.get("body") or ""))
        if found is None:
            return ActionPlan(None, skip="comment is not a /baton command")
        if str(comment.get("author_association") or "") not in TRUSTED_ASSOCIATIONS:
            return ActionPlan(
                None,
                skip=f"/baton commands are only taken from owners, members and "
                f"collaborators, not {comment.get('author_association')}",
            )
        workflow, rest = found
        issue = event.get("issue") or {}
        number = int(issue["number"])
        on_pull = "pull_request" in issue
        if workflow == "issue-to-pr":
            if on_pull:
                return ActionPlan(None, skip="/baton implement works on issues, not pull requests")
            return ActionPlan(workflow, {"repo": ".", "issue": str(number)})
        if not on_pull:
            return ActionPlan(None, skip=f"/baton {rest or ''} needs a pull request".replace("  ", " "))
        params = {"pr": str(number)}
        if workflow == "code-review" and rest.strip() == "--incremental":
            params["incremental"] = "true"
        return ActionPlan(workflow, params, pr=number)
    if event_name == "workflow_dispatch":
        inputs = {str(k): v for k, v in (event.get("inputs") or {}).items() if v not in (None, "")}
        workflow = str(inputs.pop("workflow", "") or options.workflow)
        if not workflow:
            return ActionPlan(None, skip="workflow_dispatch without a workflow input")
        for key in ("config", "agents", "fail-on", "fail_on"):
            inputs.pop(key, None)
        pr = str(inputs.get("pr") or "").lstrip("#")
        params = {k.replace("-", "_"): v for k, v in inputs.items()}
        if workflow == "issue-to-pr":
            params.setdefault("repo", ".")  # the checkout
        return ActionPlan(workflow, params, pr=int(pr) if pr.isdigit() else None)
    return ActionPlan(
        None, skip=f"event {event_name!r} is not handled (pull_request, issue_comment, workflow_dispatch are)"
    )


def scrub_secrets(env: MutableMapping[str, str]) -> list[str]:
    """Remove the agents' API keys from ``env``; returns the names removed."""
    removed = [name for name in SECRET_VARIABLES if env.pop(name, None) is not None]
    return removed


def hold_credentials(env: MutableMapping[str, str], workspace: Path) -> list[str]:
    """Make Baton the only holder of the GitHub token, before any configuration or agent.

    The token variables leave Baton's environment (nothing started later can inherit them,
    and ``${GITHUB_TOKEN}`` in a configuration resolves to nothing), and credentials
    ``actions/checkout`` persisted in the checkout's ``.git/config`` are removed.
    """
    notes: list[str] = []
    held = [name for name in TOKEN_VARIABLES if env.pop(name, None) is not None]
    if held:
        notes.append(f"GitHub token held by Baton only ({', '.join(held)} removed from the environment)")
    removed = scrub_persisted_credentials(workspace)
    if removed:
        notes.append(
            f"removed credentials persisted in the checkout's .git/config ({', '.join(removed)}); "
            "use persist-credentials: false"
        )
    return notes


def generated_config(agents: str, workspace: Path, env: Mapping[str, str]) -> str:
    """A ``baton.yaml`` for the ``agents`` input (``claude,codex``): a shell agent plus those CLIs."""
    lines = [
        'version: "1.0.0"',
        "global:",
        f"  workspace_dir: {json.dumps(str(workspace))}",
        "agents:",
        "  sh: {provider: shell, model: bash, capabilities: [command]}",
    ]
    for name in [a.strip() for a in agents.split(",") if a.strip()]:
        if name not in DEFAULT_AGENTS:
            raise ActionError(
                f"agents: unknown agent {name!r} (known: {', '.join(DEFAULT_AGENTS)}); "
                "use the config input for anything else"
            )
        provider, model, caps, key = DEFAULT_AGENTS[name]
        lines.append(f"  {name}:")
        lines.append(f"    provider: {provider}")
        lines.append(f"    model: {model}")
        lines.append(f"    capabilities: [{', '.join(caps)}]")
        if env.get(key):
            lines.append(f'    config: {{api_key: "${{{key}}}"}}')
    return "\n".join(lines) + "\n"


def write_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for key, value in values.items():
            fh.write(f"{key}={value}\n")


def write_summary(env: Mapping[str, str], text: str) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if path and text:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text.rstrip() + "\n")


def exit_code(fail_on: str, status_ok: bool, verdict: str) -> int:
    """1 when ``fail-on`` says this outcome fails the job, else 0."""
    if fail_on == "never":
        return 0
    if not status_ok:
        return 1
    if fail_on == "request_changes":
        return 1 if verdict == "request_changes" else 0
    if fail_on == "comment":
        return 1 if verdict in ("request_changes", "comment") else 0
    return 0


def _conclusion(verdict: str, failed: bool) -> str:
    if failed:
        return "failure"
    return {"approve": "success", "comment": "neutral", "request_changes": "failure"}.get(verdict, "neutral")


async def _config_path(
    options: ActionOptions,
    plan: ActionPlan,
    env: Mapping[str, str],
    workspace: Path,
    client: GitHubClient | None,
    tmp: Path,
) -> Path:
    if options.config:
        candidate = Path(options.config)
        if plan.fork and options.allow_forks and client is not None and plan.base_ref:
            # a fork may have changed its copy: take the base branch's
            text = await client.file_text(options.config, plan.base_ref)
            if text is None:
                raise ActionError(f"config {options.config} does not exist on {plan.base_ref}")
            target = tmp / "baton.yaml"
            target.write_text(text, encoding="utf-8")
            return target
        return candidate if candidate.is_absolute() else workspace / candidate
    target = tmp / "baton.yaml"
    target.write_text(generated_config(options.agents or "claude", workspace, env), encoding="utf-8")
    return target


async def _answer(client: GitHubClient, pr: int, workflow_id: str, text: str, notes: list[str]) -> None:
    """Say on the pull request why Baton did nothing, in its one sticky comment (edited in place)."""
    try:
        await upsert_sticky(client, pr, workflow_id, text, {"verdict": NOTHING_TO_DO})
    except GitHubError as exc:
        notes.append(f"no comment on #{pr}: {exc}")


async def _nothing_to_do(
    env: MutableMapping[str, str],
    plan: ActionPlan,
    workflow_id: str,
    client: GitHubClient | None,
    message: str,
    notes: list[str],
    log: Callable[[str], None],
) -> ActionOutcome:
    """No run: the job summary, the outputs and the sticky comment say why; exit 0."""
    if client is not None and plan.pr:
        await _answer(client, plan.pr, workflow_id, message, notes)
    summary = f"## Baton {workflow_id}: nothing to do\n\n{message}\n" + "\n".join(f"- {n}" for n in notes)
    write_summary(env, summary)
    write_outputs(env, {"verdict": NOTHING_TO_DO, "execution-id": "", "cost-usd": "0"})
    for line in [message, *notes]:
        log(line)
    return ActionOutcome(0, NOTHING_TO_DO, summary=summary, notes=notes)


async def run_action(
    options: ActionOptions, env: MutableMapping[str, str] | None = None, log: Callable[[str], None] = print
) -> ActionOutcome:
    """Run the Action for the current event (see the module doc)."""
    env = os.environ if env is None else env
    if options.fail_on not in FAIL_ON:
        raise ActionError(f"fail-on {options.fail_on!r} must be one of {', '.join(FAIL_ON)}")
    event_name = env.get("GITHUB_EVENT_NAME", "")
    path = env.get("GITHUB_EVENT_PATH", "")
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError) as exc:
        raise ActionError(f"cannot read the event payload {path}: {exc}") from None
    plan = plan_for_event(event_name, event, options)
    if plan.workflow is None:
        note = f"Baton: skipped — {plan.skip}"
        write_summary(env, note)
        write_outputs(env, {"verdict": "skipped", "execution-id": "", "cost-usd": "0"})
        log(note)
        return ActionOutcome(0, "skipped", summary=note)
    read_only = plan.fork and not options.allow_forks
    notes: list[str] = []
    if read_only:
        removed = scrub_secrets(env)
        notes.append(
            "pull request from a fork: read-only run (no secrets, nothing written to GitHub)"
            + (f"; removed {', '.join(removed)}" if removed else "")
        )
    settings = GitHubSettings.from_env(env)
    client = GitHubClient(settings) if settings.has_credentials else None
    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    notes += hold_credentials(env, workspace)
    with tempfile.TemporaryDirectory(prefix="baton-action-") as tmp:
        config = await _config_path(options, plan, env, workspace, client, Path(tmp))
        return await _run(options, plan, env, workspace, config, None if read_only else client, notes, log)


async def _run(
    options: ActionOptions,
    plan: ActionPlan,
    env: MutableMapping[str, str],
    workspace: Path,
    config: Path,
    client: GitHubClient | None,
    notes: list[str],
    log: Callable[[str], None],
) -> ActionOutcome:
    from baton.engine import Baton
    from baton.models import ExecutionStatus

    assert plan.workflow is not None
    # the workspace is the checkout, wherever the configuration came from
    baton = Baton.from_config(
        config, env=env, cwd=workspace, overrides={"global.workspace_dir": str(workspace)}
    )
    try:
        workflow = baton.workflow(plan.workflow)
        params = {k: (str(workspace) if k == "repo" and v == "." else v) for k, v in plan.params.items()}
        prepared = await prepare(baton, workflow, params, workspace, env, client)
        notes += prepared.notes
        if prepared.nothing_to_do:
            return await _nothing_to_do(env, plan, workflow.id, client, prepared.nothing_to_do, notes, log)
        handle = baton.run(plan.workflow, prepared.params, workspace_dir=prepared.workspace_dir or workspace,
                           trigger=Trigger.ACTION)
        result = await handle.wait()
        ok = result.status is ExecutionStatus.COMPLETED
        published = await publish(baton, workflow, result, env=env, client=client, post=client is not None)
        notes += published.notes
        verdict = published.verdict or ("completed" if ok else "failed")
        if verdict == NOTHING_TO_DO and client is not None and plan.pr:
            await _answer(client, plan.pr, workflow.id, published.text, notes)
        if client is not None and ok and workflow.config.get("publish") == "review" and plan.pr:
            posted = await post_review(
                client,
                plan.pr,
                published.data,
                workflow_id=workflow.id,
                allow_approve=options.allow_approve,
                execution_id=result.execution_id,
            )
            notes.append(
                f"posted a {posted.event} review with {counted(posted.inline, 'inline comment')} on "
                f"#{plan.pr}; {counted(posted.outside, 'finding')} outside the diff"
            )
        head_sha = plan.head_sha or str(published.data.get("head") or "")
        if client is not None and options.check_run and head_sha:
            try:
                await client.create_check_run(
                    name=f"Baton {workflow.id}",
                    head_sha=head_sha,
                    conclusion=_conclusion(verdict, not ok),
                    title=f"{workflow.id}: {verdict.replace('_', ' ')}",
                    summary=published.text or (result.error or verdict),
                )
            except GitHubError as exc:
                notes.append(f"no check run: {exc}")
        lines = [published.text or f"## Baton {workflow.id}: {result.status.value}"]
        if result.error:
            lines.append(f"**Error:** {result.error}")
        lines += [f"- {n}" for n in notes]
        lines.append(f"\nExecution `{result.execution_id}` · cost ${result.cost_usd:.4f}")
        summary = "\n\n".join(lines[:2]) + "\n" + "\n".join(lines[2:])
        write_summary(env, summary)
        write_outputs(
            env,
            {"verdict": verdict, "execution-id": result.execution_id, "cost-usd": f"{result.cost_usd:.6f}"},
        )
        for note in notes:
            log(note)
        code = exit_code(options.fail_on, ok or (plan.fork and not options.allow_forks), verdict)
        return ActionOutcome(code, verdict, result.execution_id, result.cost_usd, summary, notes)
    finally:
        baton.close()


__all__ = [
    "ActionError",
    "ActionOptions",
    "ActionOutcome",
    "ActionPlan",
    "exit_code",
    "generated_config",
    "hold_credentials",
    "plan_for_event",
    "run_action",
    "scrub_secrets",
]
