"""What front ends do around a built-in workflow's run: prepare it, then publish its results.

A workflow opts in through its ``config``:

- ``workspace_from: PARAM`` — the workspace is the repository named by parameter
  ``PARAM``: a local path, or a URL cloned (or fetched, when already cloned) under
  ``.baton/repos/`` of the project.
- ``publish: review | pull_request | pr_fix`` — after the run, :func:`publish` prints the
  merged review, or pushes the commit the workflow made ready and opens the pull request,
  or pushes and replies to the review comments a fix addressed. Baton does these writes
  itself (:func:`~baton.integrations.git_credentials.push_branch` for the push) with its own
  GitHub credentials, after validating what the agents produced; the agents never see the
  token.

:func:`prepare` also fills in what only Baton may fetch: the text of an issue given by
number, what ``pr-fix`` acts on (:mod:`baton.integrations.pr_context`: unresolved review
threads, review bodies, conversation comments, failing checks and their logs; when there
is nothing to fix, :attr:`Prepared.nothing_to_do` says why and no run starts), and for
``--incremental`` reviews the commit Baton reviewed last. Before pushing a fix,
:func:`publish` reads the pull request again (:func:`recheck_pull`). Text fetched for a *writing*
workflow is tagged with its author and ``author_association`` and kept only when
``github`` in the configuration trusts it (OWNER, MEMBER, COLLABORATOR or a listed login);
what was left out is listed in the run's notes (the Action's job summary).

Every front end goes through these two hooks, so a built-in workflow behaves the same
whichever way it is started: ``baton run`` and the MCP and ACP servers call :func:`start`
(prepare, then run in this process) and :func:`finish` (wait, then publish); the API
prepares in :meth:`~baton.api.service.ApiService.submit` (its workspace comes from the
request's ``repo``) and refuses with 422 what cannot be prepared, and the worker that runs
the execution publishes it. Nothing is skipped silently.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baton.errors import BatonError
from baton.integrations.git_credentials import DEFAULT_SERVER_URL, PushError, fetch_refs, push_branch
from baton.integrations.github import (
    GitHubClient,
    GitHubError,
    GitHubNotConfigured,
    GitHubSettings,
    repository_from_remote,
)
from baton.integrations.github_review import (
    find_sticky,
    sanitize,
    sticky_meta,
    upsert_sticky,
    validate_review,
)
from baton.integrations.pr_context import ADDRESSED_MARKER, read_pull_state, rest_author
from baton.models import ExecutionStatus, Trigger, Workflow
from baton.models.configuration import GitHubConfig
from baton.wording import counted
from baton.workspace.remote import RepoNotAllowed, fetch_args, parse_repo, transport_args

if TYPE_CHECKING:
    from baton.engine import Baton, ExecutionResult
    from baton.engine.core import ExecutionHandle

_BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
MAX_TITLE = 200
MAX_PR_BODY = 60_000


class HookError(BatonError):
    """A workflow cannot be prepared or its results cannot be published (exit 2)."""

    cli_exit_code = 2


@dataclass
class Prepared:
    """The parameters and workspace a run starts with."""

    params: dict[str, Any]
    workspace_dir: Path | None
    notes: list[str] = field(default_factory=list)
    # set when there is nothing to do (pr-fix on a green pull request): no run starts
    nothing_to_do: str | None = None


class NothingToDo(BatonError):
    """The workflow has nothing to act on; front ends say so and exit 0 without a run."""

    cli_exit_code = 0


# The verdict of a review that had nothing to review: neutral, never an approval.
NOTHING_TO_REVIEW = "nothing_to_review"
# The verdict of a pr-fix that found nothing to fix (checks green, no thread waiting).
NOTHING_TO_DO = "nothing_to_do"


@dataclass
class Published:
    """What :func:`publish` did, for the terminal, the job summary and the Action outputs."""

    text: str = ""
    verdict: str | None = None
    url: str | None = None
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    if proc.returncode != 0:
        raise HookError(f"git {' '.join(args[:2])} failed in {cwd}: {proc.stderr.strip()[:300]}")
    return proc.stdout


def checkout(repo: str, cache_dir: Path) -> Path:
    """The local repository for ``repo``: the path itself, or a clone of the URL (fetched if present).

    ``repo`` must pass :func:`~baton.workspace.remote.parse_repo`; git runs with only the
    https, ssh and (for local repositories) file transports allowed.
    """
    try:
        source = parse_repo(repo)
    except RepoNotAllowed as exc:
        raise HookError(f"--repo {repo}: not a git repository or an accepted URL: {exc}") from None
    if source.local is not None and not repo.startswith("file://"):
        path = source.local
        if not (path / ".git").exists():
            raise HookError(f"--repo {repo}: not a git repository (give a path to one, or a clone URL)")
        if "origin" in _git(path, "remote").split():
            _git(path, *fetch_args(path, "origin"), "fetch", "-q", "origin")
        return path
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", re.sub(r"^[a-z+]+://|\.git$", "", repo)).strip("_")[:120]
    target = cache_dir / name
    if (target / ".git").exists():
        _git(target, *fetch_args(target, "origin"), "fetch", "-q", "origin")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _git(cache_dir, *transport_args(local=source.is_local), "clone", "-q", "--", source.url, str(target))
    return target


def github_client(env: Mapping[str, str], repository: str | None = None) -> GitHubClient | None:
    """A client when credentials and a repository are known, else None."""
    try:
        settings = GitHubSettings.from_env(env, repository)
    except GitHubNotConfigured:
        return None
    return GitHubClient(settings) if settings.has_credentials else None


def github_missing(env: Mapping[str, str], repository: str | None) -> str:
    """What to set so that :func:`github_client` finds GitHub, as one instruction."""
    try:
        GitHubSettings.from_env(env, repository)
    except GitHubNotConfigured:
        return ("Baton cannot tell which GitHub repository this is: set GITHUB_REPOSITORY=OWNER/NAME, "
                "pass --github-repo OWNER/NAME, or add a GitHub remote named origin")
    return ("no GitHub credentials: set GITHUB_TOKEN, or BATON_GITHUB_APP_ID and "
            "BATON_GITHUB_APP_PRIVATE_KEY for a GitHub App")


def repository_for(
    params: Mapping[str, Any], workspace: Path | None, env: Mapping[str, str], remote: str | None = None
) -> str | None:
    if params.get("github_repo"):
        return str(params["github_repo"])
    if env.get("GITHUB_REPOSITORY"):
        return env["GITHUB_REPOSITORY"]
    if remote:
        return repository_from_remote(remote)
    if workspace is not None:
        try:
            return repository_from_remote(_git(workspace, "remote", "get-url", "origin").strip())
        except HookError:
            return None
    return None


async def prepare(
    baton: Baton,
    workflow: Workflow,
    params: Mapping[str, Any],
    workspace_dir: Path | None,
    env: Mapping[str, str] | None = None,
    client: GitHubClient | None = None,
    *,
    remote: str | None = None,
) -> Prepared:
    """Parameters and workspace for a run of ``workflow`` (see the module doc).

    ``remote`` is the repository the workspace will be cloned from later (the API's request
    ``repo``): ``workspace_from`` is then not checked out here, and the GitHub repository is
    read from that URL when nothing else names it.
    """
    env = os.environ if env is None else env
    out = Prepared(params=dict(params), workspace_dir=workspace_dir)
    source = workflow.config.get("workspace_from")
    if source and out.params.get(source) and remote is None:
        repo = str(out.params[source])
        out.workspace_dir = await asyncio.to_thread(checkout, repo, baton.root / ".baton" / "repos")
    publish_kind = workflow.config.get("publish")
    missing = ""
    if client is None and publish_kind in ("pull_request", "pr_fix", "review"):
        name = repository_for(out.params, out.workspace_dir or Path.cwd(), env, remote)
        client = github_client(env, name)
        missing = "" if client is not None else github_missing(env, name)
    if client is not None and publish_kind in ("pull_request", "pr_fix", "review"):
        await _prefetch(out, publish_kind, client, env)
    trust = baton.configuration.github
    if publish_kind == "pull_request":
        await _issue_text(out, client, trust, missing)
    elif publish_kind == "pr_fix":
        await _pr_context(out, client, trust, missing)
    elif publish_kind == "review":
        await _pr_author(out, client)
        if _truthy(out.params.get("incremental")):
            await _since_last_review(baton, workflow, out, client)
    return out


def has_hooks(workflow: Workflow) -> bool:
    """Whether ``workflow`` is prepared or published by Baton (a built-in with GitHub hooks)."""
    return bool(workflow.config.get("publish") or workflow.config.get("workspace_from"))


async def start(
    baton: Baton,
    workflow_id: str,
    params: Mapping[str, Any],
    workspace_dir: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    no_cache: bool = False,
    trigger: Trigger = Trigger.PYTHON,
) -> tuple[ExecutionHandle, Prepared]:
    """Prepare ``workflow_id`` (when it has hooks) and start it in this process; raises
    :class:`NothingToDo` when the preparation found nothing to act on."""
    workflow = baton.workflow(workflow_id)
    prepared = (
        await prepare(baton, workflow, params, workspace_dir, env)
        if has_hooks(workflow)
        else Prepared(params=dict(params), workspace_dir=workspace_dir)
    )
    if prepared.nothing_to_do:
        raise NothingToDo(prepared.nothing_to_do)
    handle = baton.run(workflow_id, prepared.params, workspace_dir=prepared.workspace_dir, no_cache=no_cache,
                       trigger=trigger)
    return handle, prepared


async def finish(
    baton: Baton, handle: ExecutionHandle, *, env: Mapping[str, str] | None = None
) -> tuple[ExecutionResult, Published | None]:
    """Wait for a started execution, then publish its results when its workflow publishes."""
    result = await handle.wait()
    if not handle.workflow.config.get("publish"):
        return result, None
    return result, await publish(baton, handle.workflow, result, env=env)


async def _pr_author(out: Prepared, client: GitHubClient | None) -> None:
    """Tag a reviewed pull request's diff with its author: the reviewers read it as untrusted data."""
    number = str(out.params.get("pr") or "").strip().lstrip("#")
    if client is None or not number.isdigit() or out.params.get("pr_author"):
        return
    try:
        pull = await client.pull(int(number))
    except GitHubError:
        return
    login, association = rest_author(pull)
    out.params["pr_author"] = f"{login} ({association})"


async def _prefetch(out: Prepared, kind: str, client: GitHubClient, env: Mapping[str, str]) -> None:
    """Fetch what the steps will need with Baton's credential (a private repository's branches and
    pull request head), so that no step needs one; the steps' own fetches then may fail quietly."""
    workspace = out.workspace_dir or Path.cwd()
    if not (workspace / ".git").exists():
        return
    refspecs = ["+refs/heads/*:refs/remotes/origin/*"]
    pr = str(out.params.get("pr") or "").strip().lstrip("#")
    if pr.isdigit() and kind in ("review", "pr_fix"):
        refspecs.append(f"+refs/pull/{pr}/head:refs/remotes/origin/pr/{pr}")
    try:
        token = await client.git_token()
        fetched = await asyncio.to_thread(
            fetch_refs,
            workspace,
            refspecs,
            token=token,
            server_url=env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL,
        )
    except (PushError, GitHubError):
        fetched = False
    if not fetched:
        out.notes.append("Baton could not fetch from origin before the run; steps fetch without credentials")


def _left_out(out: Prepared, items: list[str], trust: GitHubConfig) -> None:
    if items:
        allowed = ", ".join(trust.trusted_associations) + (
            f", or {', '.join(trust.trusted_authors)}" if trust.trusted_authors else ""
        )
        out.notes.append(
            f"left out as untrusted (only text from {allowed} steers this workflow): " + "; ".join(items)
        )


async def _issue_text(out: Prepared, client: GitHubClient | None, trust: GitHubConfig, missing: str) -> None:
    issue = str(out.params.get("issue") or "").strip().lstrip("#")
    if not issue.isdigit() or out.params.get("issue_title"):
        return
    if client is None:
        raise HookError(
            f"issue {issue} is a number: issue-to-pr needs GitHub to read it; {missing}. "
            "Or pass the issue's text instead: --issue \"...\""
        )
    data = await client.issue(int(issue))
    login, association = rest_author(data)
    if not trust.trusts(login, association):
        raise HookError(
            f"issue #{issue} was opened by {login} ({association}); issue-to-pr acts only on text "
            f"from {', '.join(trust.trusted_associations)} or github.trusted_authors. To implement "
            "it anyway, pass the task in your own words: --issue \"...\""
        )
    out.notes.append(f"issue #{issue} by {login} ({association})")
    out.params["issue_title"] = str(data.get("title") or f"#{issue}")[:MAX_TITLE]
    out.params["issue_body"] = str(data.get("body") or "")[:20_000]


async def _pr_context(out: Prepared, client: GitHubClient | None, trust: GitHubConfig, missing: str) -> None:
    number = str(out.params.get("pr") or "").strip().lstrip("#")
    if not number.isdigit():
        raise HookError("pr-fix needs --pr NUMBER")
    if client is None:
        raise HookError(
            "pr-fix needs GitHub: it reads the pull request's review comments and checks from GitHub; "
            f"{missing}"
        )
    state = await read_pull_state(client, int(number), trust)
    if state.head_repo != client.settings.repository:
        raise HookError(
            f"pull request #{number} comes from a fork; pr-fix only pushes to branches of "
            f"{client.settings.repository}"
        )
    _left_out(out, state.left_out, trust)
    out.params.update(
        head_ref=state.head_ref,
        head_sha=state.head_sha,
        comments=json.dumps(state.threads),
        conversation=json.dumps(state.conversation),
        checks=state.checks_text(),
    )
    if not state.needs_work:
        out.nothing_to_do = state.nothing_to_do()


async def _since_last_review(
    baton: Baton, workflow: Workflow, out: Prepared, client: GitHubClient | None
) -> None:
    if out.params.get("since"):
        return
    pr = str(out.params.get("pr") or "").strip().lstrip("#")
    if not pr.isdigit():
        raise HookError(
            "--incremental needs --pr NUMBER (it reviews what changed since Baton's last review of it)"
        )
    head = ""
    if client is not None:
        head = str(sticky_meta(await find_sticky(client, int(pr), workflow.id)).get("head") or "")
    if not head:
        head = last_reviewed_head(baton, workflow.id, pr)
    if head:
        out.params["since"] = head
        out.notes.append(f"incremental: reviewing the changes since {head[:12]}")
    else:
        out.notes.append("incremental: no earlier review of this pull request; reviewing all of it")


def last_reviewed_head(baton: Baton, workflow_id: str, pr: str) -> str:
    """The head commit of the latest completed local review of pull request ``pr``."""
    for record in baton.store.list_executions(
        status=ExecutionStatus.COMPLETED, workflow_id=workflow_id, limit=100
    ):
        if str(record.parameters.get("pr") or "").lstrip("#") != pr:
            continue
        for run in baton.store.list_steps(record.id):
            data = (run.output or {}).get("json") if run.step_id == "merge" else None
            if isinstance(data, dict) and data.get("head"):
                return str(data["head"])
    return ""


# -- after the run -------------------------------------------------------------------------------
async def publish(
    baton: Baton,
    workflow: Workflow,
    result: ExecutionResult,
    *,
    env: Mapping[str, str] | None = None,
    client: GitHubClient | None = None,
    post: bool = True,
) -> Published:
    """Publish the results of a finished run (see the module doc); ``post=False`` writes nothing."""
    env = os.environ if env is None else env
    kind = workflow.config.get("publish")
    if kind == "review":
        return _review_text(result)
    if result.status is not ExecutionStatus.COMPLETED:
        return Published()
    params = _params(baton, result)
    workspace = Path(result.workspace_dir) if result.workspace_dir else None
    if client is None and post:
        client = github_client(env, repository_for(params, workspace, env))
    if kind not in ("pull_request", "pr_fix"):
        return Published()
    if not post:
        out = Published(notes=["read-only run: nothing pushed or posted"])
        out.text = f"Baton did not push (read-only run); the change is in {result.workspace_dir}"
        return out
    if kind == "pr_fix" and client is not None:
        idle = await recheck_pull(baton, result, params, client)
        if idle is not None:
            return idle
    token = await client.git_token() if client is not None else None
    await asyncio.to_thread(push_result, result, token, env)
    if kind == "pull_request":
        return await open_pull_request(baton, result, params, client)
    return await reply_to_comments(result, params, client)


async def recheck_pull(
    baton: Baton, result: ExecutionResult, params: Mapping[str, Any], client: GitHubClient
) -> Published | None:
    """Re-read the pull request right before pushing a fix: HookError when its head moved
    since the run read it, a neutral result (nothing pushed) when there is no longer anything
    to fix, None to go on."""
    number = int(str(params.get("pr") or "0").lstrip("#") or 0)
    setup = (result.outputs.get("setup") or {}).get("json") or {}
    read = str(params.get("head_sha") or setup.get("head") or "")
    state = await read_pull_state(client, number, baton.configuration.github, logs=False)
    if read and state.head_sha != read:
        raise HookError(
            f"pull request #{number} moved while Baton worked: its head is now {state.head_sha[:12]}, "
            f"the fix was made on {read[:12]}. Baton pushed nothing; the fix stays in "
            f"{result.workspace_dir}. Run pr-fix again to fix the new head."
        )
    if state.needs_work:
        return None
    message = state.nothing_to_do() + f"; Baton pushed nothing (the fix stays in {result.workspace_dir})"
    return Published(text=message, verdict=NOTHING_TO_DO, notes=[message])


def push_result(result: ExecutionResult, token: str | None, env: Mapping[str, str]) -> None:
    """Push the commit the workflow's ``push`` step made ready (Baton's own git, token for that push only)."""
    ready = (result.outputs.get("push") or result.outputs.get("push_approved") or {}).get("json") or {}
    branch, sha, remote = (str(ready.get(k) or "") for k in ("branch", "sha", "remote"))
    if not _BRANCH.match(branch) or ".." in branch or not re.fullmatch(r"[0-9a-f]{40,64}", sha):
        raise HookError(f"cannot push: branch {branch!r} / commit {sha!r} from the run are not valid")
    try:
        push_branch(
            Path(result.workspace_dir),
            remote=remote or "origin",
            sha=sha,
            branch=branch,
            token=token,
            server_url=env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL,
        )
    except PushError as exc:
        raise HookError(str(exc)) from None


def _params(baton: Baton, result: ExecutionResult) -> dict[str, Any]:
    record = baton.store.get_execution(result.execution_id)
    return dict(record.context.parameters) if record is not None else {}


def _review_text(result: ExecutionResult) -> Published:
    merged = (result.outputs.get("merge") or {}).get("json")
    if not isinstance(merged, dict):
        return Published()
    review = validate_review(merged)
    if merged.get("nothing_to_review"):
        return Published(text=review.report, verdict=NOTHING_TO_REVIEW, data=merged)
    return Published(text=review.report, verdict=review.verdict, data=merged)


def _iterations(baton: Baton, execution_id: str, step_id: str) -> int:
    return max((r.iteration for r in baton.store.list_steps(execution_id) if r.step_id == step_id), default=0)


def pull_request_body(baton: Baton, result: ExecutionResult) -> tuple[str, str]:
    """The pull request's title and body, from the run's validated outputs."""
    o = result.outputs
    setup = (o.get("setup") or {}).get("json") or {}
    issue = setup.get("issue") or {}
    plan = (o.get("plan") or {}).get("json") or {}
    commit = (o.get("commit") or {}).get("json") or {}
    test = o.get("test") or {}
    review = (o.get("review") or {}).get("json") or {}
    number = issue.get("number")
    title = str(issue.get("title") or "Change").strip().splitlines()[0]
    title = (f"Fix #{number}: {title}" if number is not None else title)[:MAX_TITLE]
    runs = _iterations(baton, result.execution_id, "test")
    lines = [f"Closes #{number}." if number is not None else f"Resolves: {sanitize(title, 300)}", ""]
    lines += ["### Plan", sanitize(str(plan.get("summary") or "(no plan recorded)"), 4000), ""]
    lines += [f"{i}. {sanitize(str(s), 500)}" for i, s in enumerate(plan.get("steps") or [], 1)]
    lines += [
        "",
        "### Changes",
        "```",
        str(commit.get("stat") or "\n".join(commit.get("files") or []))[:4000],
        "```",
        "",
        "### Tests",
    ]
    command = setup.get("test_command") or "(none)"
    status = "passed" if test.get("exit_code") == 0 else f"exit code {test.get('exit_code')}"
    lines.append(
        f"`{command}` {status} after {counted(runs, 'run')}"
        + (f" ({counted(runs - 1, 'fix round')})" if runs > 1 else "") + "."
    )
    tail = str(test.get("text") or "").strip()[-1500:]
    if tail:
        lines += ["<details><summary>Test output</summary>", "", "```", tail, "```", "</details>"]
    if review:
        lines += [
            "",
            "### Review",
            f"**{review.get('verdict', 'comment').replace('_', ' ')}** — "
            f"{sanitize(str(review.get('summary') or ''), 2000)}",
        ]
        for f in (review.get("findings") or [])[:20]:
            lines.append(
                f"- `{f.get('file')}:{f.get('line')}` {f.get('severity')}: "
                f"{sanitize(str(f.get('message') or ''), 300)}"
            )
    tokens = result.usage.total_tokens
    lines += [
        "",
        "### Cost",
        f"${result.cost_usd:.4f} ({tokens} tokens) · Baton execution `{result.execution_id}`",
    ]
    return title, "\n".join(lines)[:MAX_PR_BODY]


async def open_pull_request(
    baton: Baton, result: ExecutionResult, params: Mapping[str, Any], client: GitHubClient | None
) -> Published:
    o = result.outputs
    pushed = (o.get("push") or o.get("push_approved") or {}).get("json") or {}
    setup = (o.get("setup") or {}).get("json") or {}
    branch = str(pushed.get("branch") or "")
    base = str(params.get("base") or setup.get("base") or "")
    if not _BRANCH.match(branch) or not _BRANCH.match(base) or ".." in branch:
        raise HookError(
            f"cannot open a pull request: branch {branch!r} or base {base!r} is not a branch name"
        )
    title, body = pull_request_body(baton, result)
    out = Published(text=body, data={"branch": branch, "base": base, "title": title})
    if client is None:
        out.notes.append(
            f"pushed {branch}; no GitHub credentials (GITHUB_TOKEN), so no pull request was opened"
        )
        return out
    existing = await client.find_pull(branch)
    if existing is not None:
        out.url = str(existing.get("html_url") or "")
        out.notes.append(f"pull request #{existing.get('number')} already exists for {branch}")
        return out
    created = await client.create_pull(
        title=title, head=branch, base=base, body=body, draft=_truthy(params.get("draft"))
    )
    out.url = str(created.get("html_url") or "")
    out.data["number"] = created.get("number")
    out.notes.append(f"opened pull request #{created.get('number')}: {out.url}")
    return out


async def reply_to_comments(
    result: ExecutionResult, params: Mapping[str, Any], client: GitHubClient | None
) -> Published:
    fix = (result.outputs.get("fix") or {}).get("json") or {}
    pushed = (result.outputs.get("push") or {}).get("json") or {}
    try:
        given = {int(c["id"]) for c in json.loads(str(params.get("comments") or "[]"))}
    except (ValueError, TypeError, KeyError):
        given = set()
    replies = []
    for item in fix.get("addressed") or []:
        cid = item.get("comment_id")
        if isinstance(cid, int) and cid in given and str(item.get("reply") or "").strip():
            replies.append((cid, sanitize(str(item["reply"]), 3000)))
    sha = str(pushed.get("sha") or "")[:12]
    summary = sanitize(str(fix.get("summary") or ""), 4000)
    text = (
        f"Baton pushed {sha} to `{pushed.get('branch')}`: {summary}\n\n"
        f"Addressed {counted(len(replies), 'comment')}."
    )
    out = Published(text=text, data={"replies": len(replies), "sha": pushed.get("sha")})
    number = int(str(params.get("pr") or "0").lstrip("#") or 0)
    if client is None or not number:
        out.notes.append("no GitHub credentials: replies not posted")
        return out
    for cid, reply in replies:
        await client.reply_to_review_comment(
            number, cid, f"{reply}\n\n_Fixed in {sha} by Baton._\n{ADDRESSED_MARKER}"
        )
    await upsert_sticky(
        client, number, "pr-fix", text, {"head": pushed.get("sha"), "execution": result.execution_id}
    )
    return out


__all__ = [
    "ADDRESSED_MARKER",
    "NOTHING_TO_DO",
    "HookError",
    "NothingToDo",
    "Prepared",
    "Published",
    "checkout",
    "finish",
    "github_client",
    "has_hooks",
    "last_reviewed_head",
    "open_pull_request",
    "prepare",
    "publish",
    "pull_request_body",
    "recheck_pull",
    "reply_to_comments",
    "start",
]
