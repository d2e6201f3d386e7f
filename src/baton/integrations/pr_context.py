"""What ``pr-fix`` acts on, read from GitHub's ground truth.

:func:`read_pull_state` reads one pull request as it is now:

- its **unresolved review threads** (GraphQL ``reviewThreads``, every page): resolved
  threads are dropped; a thread whose last word is Baton's own reply (the addressed marker)
  waits for the reviewer, not for a fix; a thread is kept only when the comment that opened
  it comes from a trusted author, and only trusted replies are kept in it;
- the **review bodies** (REST ``pulls/N/reviews``) and **conversation comments**
  (``issues/N/comments``) of trusted authors, as context for the fix;
- **every page of check runs** of the head commit (the latest run of each name; Baton's own
  ``Baton …`` check runs are not the code's checks), and for each failing one the failing
  step's log excerpt from the Actions job log (bounded, redacted) and the run's URL.

Trust follows ``github`` in the configuration (:class:`~baton.models.configuration.GitHubConfig`):
OWNER, MEMBER, COLLABORATOR or a listed login; bot accounts only when listed by login.
A check's log is what the pull request's code printed, so it is as trusted as the pull
request's author. Whatever is left out is named in :attr:`PullState.left_out`.

A pull request needs work when a check failed or a trusted thread waits for a fix
(:attr:`PullState.needs_work`); otherwise :meth:`PullState.nothing_to_do` says why not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from baton.integrations.github import GitHubClient
from baton.integrations.github_review import sanitize
from baton.models.configuration import GitHubConfig
from baton.observability.redact import MASK, redact

ADDRESSED_MARKER = "<!-- baton:addressed -->"
FAILED = frozenset({"failure", "timed_out", "cancelled", "startup_failure"})
# a check run Baton itself created (the Action's "Baton pr-fix", "Baton code-review")
OWN_CHECK_PREFIX = "Baton "
MAX_COMMENT = 3000
MAX_CONVERSATION = 20  # the latest review bodies and conversation comments, each
CHECKS_BUDGET = 12_000  # characters of failing-check text in all
MIN_EXCERPT = 1_500
_STAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ", re.M)
_TOKEN = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")


@dataclass
class FailingCheck:
    """One failing check run: name, conclusion, URL, failed step and the log around it."""

    name: str
    conclusion: str
    url: str
    step: str = ""
    excerpt: str = ""

    def text(self, by: str) -> str:
        head = f"## {self.name}: {self.conclusion} — {self.url or '(no URL)'}"
        step = f"\nfailed step: {self.step}" if self.step else ""
        return f"{head} (pull request by {by}){step}\n{self.excerpt}"


@dataclass
class PullState:
    """A pull request as GitHub has it now, reduced to what ``pr-fix`` may act on."""

    number: int
    head_sha: str
    head_ref: str
    head_repo: str
    author: str
    threads: list[dict[str, Any]] = field(default_factory=list)
    conversation: list[dict[str, Any]] = field(default_factory=list)
    failing: list[FailingCheck] = field(default_factory=list)
    passed: int = 0
    pending: list[str] = field(default_factory=list)
    resolved: int = 0
    answered: int = 0
    left_out: list[str] = field(default_factory=list)

    @property
    def needs_work(self) -> bool:
        return bool(self.threads or self.failing)

    def checks_text(self) -> str:
        """The failing checks as the prompt shows them, within :data:`CHECKS_BUDGET` in all."""
        return "\n\n".join(check.text(self.author) for check in self.failing)

    def nothing_to_do(self) -> str:
        """Why the pull request needs no fix, in one line."""
        checks = f"{self.passed} passed" + (
            f", {len(self.pending)} still running ({', '.join(self.pending[:5])})" if self.pending else ""
        )
        threads = [f"{self.resolved} resolved"]
        if self.answered:
            threads.append(f"{self.answered} answered by Baton, waiting for the reviewer")
        untrusted = sum(1 for item in self.left_out if item.startswith("review thread"))
        if untrusted:
            threads.append(f"{untrusted} left out as untrusted")
        return (
            f"nothing to do on pull request #{self.number} at {self.head_sha[:12]}: no check failed "
            f"({checks}) and no unresolved review thread waits for a fix ({', '.join(threads)})"
        )


def _bot(login: str, trust: GitHubConfig) -> bool:
    """A bot account not listed by login (Baton's own comments, CI bots)."""
    return login.endswith("[bot]") and login.lower() not in {a.lower() for a in trust.trusted_authors}


def rest_author(item: Mapping[str, Any]) -> tuple[str, str]:
    """(login, author_association) of a REST issue, pull request, review or comment."""
    login = str((item.get("user") or {}).get("login") or "unknown")
    if (item.get("user") or {}).get("type") == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"
    return login, str(item.get("author_association") or "NONE").upper()


def graphql_author(node: Mapping[str, Any]) -> tuple[str, str]:
    """(login, authorAssociation) of a GraphQL comment; bots get the REST ``[bot]`` suffix."""
    author = node.get("author") or {}
    login = str(author.get("login") or "ghost")
    if author.get("__typename") == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"
    return login, str(node.get("authorAssociation") or "NONE").upper()


def _threads(state: PullState, nodes: list[dict[str, Any]], trust: GitHubConfig) -> None:
    for thread in nodes:
        if thread.get("isResolved"):
            state.resolved += 1
            continue
        comments = [c for c in (thread.get("comments") or {}).get("nodes") or [] if c]
        if not comments:
            continue
        first = comments[0]
        login, association = graphql_author(first)
        path = thread.get("path") or first.get("path")
        line = next(
            (x for x in (thread.get("line"), first.get("line"), thread.get("originalLine")) if x), None
        )
        if ADDRESSED_MARKER in str(comments[-1].get("body") or ""):
            state.answered += 1
            continue
        if _bot(login, trust) or not trust.trusts(login, association):
            state.left_out.append(f"review thread on {path}:{line} by {login} ({association})")
            continue
        replies = []
        for reply in comments[1:]:
            r_login, r_association = graphql_author(reply)
            if ADDRESSED_MARKER in str(reply.get("body") or ""):
                continue
            if _bot(r_login, trust) or not trust.trusts(r_login, r_association):
                state.left_out.append(f"reply on {path}:{line} by {r_login} ({r_association})")
                continue
            replies.append(
                {
                    "author": r_login,
                    "association": r_association,
                    "body": sanitize(str(reply.get("body") or ""), MAX_COMMENT),
                }
            )
        state.threads.append(
            {
                "id": first.get("databaseId"),
                "path": path,
                "line": line,
                "outdated": bool(thread.get("isOutdated")),
                "author": login,
                "association": association,
                "body": sanitize(str(first.get("body") or ""), MAX_COMMENT),
                "replies": replies,
            }
        )


def _conversation(
    state: PullState, reviews: list[dict[str, Any]], comments: list[dict[str, Any]], trust: GitHubConfig
) -> None:
    kept: list[dict[str, Any]] = []
    for kind, items in (("review", reviews), ("comment", comments)):
        chosen = []
        for item in items:
            body = str(item.get("body") or "").strip()
            if not body or "<!-- baton:" in body or item.get("state") in ("DISMISSED", "PENDING"):
                continue
            login, association = rest_author(item)
            if _bot(login, trust):
                continue
            if not trust.trusts(login, association):
                state.left_out.append(f"{kind} {item.get('id')} by {login} ({association})")
                continue
            entry = {"kind": kind, "id": item.get("id"), "author": login, "association": association}
            if kind == "review":
                entry["state"] = item.get("state")
            entry["body"] = sanitize(body, MAX_COMMENT)
            chosen.append(entry)
        kept += chosen[-MAX_CONVERSATION:]
    state.conversation = kept


def log_excerpt(log: str, limit: int, secrets: tuple[str, ...] = ()) -> str:
    """The part of an Actions job log around the failing step, at most ``limit`` characters.

    Timestamps go; the excerpt runs from the ``##[group]`` header of the step that printed
    the first ``##[error]`` line to a few lines after it (the whole tail when no line says
    ``##[error]``). A longer excerpt keeps its header and its end. Secrets are masked.
    """
    lines = _STAMP.sub("", log).splitlines()
    error = next((i for i, line in enumerate(lines) if "##[error]" in line), None)
    if error is None:
        start, end = 0, len(lines)
    else:
        start = next((i for i in range(error, -1, -1) if lines[i].startswith("##[group]Run ")), 0)
        end = min(len(lines), error + 4)
    text = "\n".join(lines[start:end])
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _TOKEN.sub(MASK, redact(text))
    if len(text) > limit:
        # the header is the masked text's first line, itself cut to half the room
        header = text.split("\n", 1)[0][: limit // 2] if error is not None else ""
        marker = f"{header}\n[...]\n" if header else "[...]\n"
        room = max(limit - len(marker), 0)
        text = marker + (text[-room:] if room else "")
    return text


def _failed_step(job: Mapping[str, Any] | None) -> str:
    for step in (job or {}).get("steps") or []:
        if step.get("conclusion") in FAILED:
            return f"{step.get('name')} (step {step.get('number')})"
    return ""


def _latest_by_name(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest run of each check (a re-run replaces the earlier result)."""
    latest: dict[str, dict[str, Any]] = {}
    for run in runs:
        name = str(run.get("name") or run.get("id"))
        if name not in latest or int(run.get("id") or 0) > int(latest[name].get("id") or 0):
            latest[name] = run
    return list(latest.values())


async def _checks(
    state: PullState, client: GitHubClient, trust: GitHubConfig, pr_trusted: bool, logs: bool
) -> None:
    runs = [
        r
        for r in _latest_by_name(await client.check_runs(state.head_sha))
        if not str(r.get("name") or "").startswith(OWN_CHECK_PREFIX)
    ]
    failing = []
    for run in runs:
        if run.get("status") != "completed":
            state.pending.append(str(run.get("name")))
        elif run.get("conclusion") in FAILED:
            failing.append(run)
        else:
            state.passed += 1
    if failing and not pr_trusted:
        state.left_out += [f"log of check {r.get('name')} (code by {state.author})" for r in failing]
        return
    budget = max(MIN_EXCERPT, CHECKS_BUDGET // max(len(failing), 1) - 300)
    secrets = tuple(s for s in (client.settings.token,) if s)
    for run in failing:
        check = FailingCheck(
            name=str(run.get("name")),
            conclusion=str(run.get("conclusion")),
            url=str(run.get("html_url") or run.get("details_url") or ""),
        )
        if logs:
            job_id = int(run.get("id") or 0)
            job = await client.job(job_id) if job_id else None
            check.step = _failed_step(job)
            check.url = check.url or str((job or {}).get("html_url") or "")
            log = await client.job_log(job_id) if job_id else None
            if log:
                check.excerpt = log_excerpt(log, budget, secrets)
            else:
                output = run.get("output") or {}
                summary = "\n".join(str(output.get(k) or "") for k in ("title", "summary", "text")).strip()
                check.excerpt = log_excerpt(summary, budget, secrets) if summary else "(no log available)"
        state.failing.append(check)


async def read_pull_state(
    client: GitHubClient, number: int, trust: GitHubConfig, *, logs: bool = True
) -> PullState:
    """Pull request ``number`` as GitHub has it now (see the module doc); ``logs=False`` reads
    only what decides whether there is work (no reviews, comments or job logs)."""
    pull = await client.pull(number)
    head = pull.get("head") or {}
    login, association = rest_author(pull)
    state = PullState(
        number=number,
        head_sha=str(head.get("sha") or ""),
        head_ref=str(head.get("ref") or ""),
        head_repo=str((head.get("repo") or {}).get("full_name") or ""),
        author=f"{login}, {association}",
    )
    _threads(state, await client.review_threads(number), trust)
    if logs:
        _conversation(state, await client.reviews(number), await client.issue_comments(number), trust)
    await _checks(state, client, trust, trust.trusts(login, association), logs)
    return state


__all__ = [
    "ADDRESSED_MARKER",
    "FailingCheck",
    "PullState",
    "graphql_author",
    "log_excerpt",
    "read_pull_state",
    "rest_author",
]
