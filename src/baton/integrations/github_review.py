"""Post a merged review to a pull request: one formal review, one sticky comment.

The merged review (what ``code-review``'s merge step printed) is validated here before
anything is written — its shape, its verdict, its lengths — because it comes from agents.
Findings on lines the pull request's diff shows become inline comments (``line`` +
``side: RIGHT``, computed from the files' patches); the others are listed in the review
body. The review requests changes or comments; it approves only when the caller allows it.
The sticky summary comment carries a hidden marker so re-runs edit it instead of adding
another, and records the reviewed head commit for ``--incremental``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baton.integrations.github import GitHubApiError, GitHubClient
from baton.workflows.schemas import SEVERITIES, VERDICTS

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9][A-Za-z0-9-]*)")
_META = re.compile(r"<!-- baton:meta (\{.*?\}) -->")
MAX_BODY = 60_000
MAX_INLINE = 50
EVENTS = {"approve": "APPROVE", "comment": "COMMENT", "request_changes": "REQUEST_CHANGES"}


class InvalidReview(ValueError):
    """What an agent produced is not a review Baton will post."""


def sticky_marker(workflow_id: str) -> str:
    return f"<!-- baton:sticky workflow={workflow_id} -->"


def commentable_lines(patch: str) -> set[int]:
    """Lines of the new file shown by a file's patch (added or context): where inline comments go."""
    lines: set[int] = set()
    current = 0
    for text in patch.splitlines():
        match = _HUNK.match(text)
        if match:
            current = int(match.group(1))
            continue
        if not current or text.startswith("-") or text.startswith("\\"):
            continue
        lines.add(current)
        current += 1
    return lines


def sanitize(text: str, limit: int = 4000) -> str:
    """Agent text made safe to post: no @-mentions, no hidden HTML comments, bounded length."""
    text = _MENTION.sub("@\u200b", str(text)).replace("<!--", "&lt;!--")
    return text if len(text) <= limit else text[: limit - 20] + "\n\n[... cut ...]"


@dataclass
class ValidatedReview:
    """A merged review that passed validation."""

    verdict: str
    summary: str
    report: str
    findings: list[dict[str, Any]]
    reviewers: dict[str, str]
    head: str = ""


def validate_review(data: Any) -> ValidatedReview:
    """Check the merge step's output; raise :class:`InvalidReview` naming what is wrong."""
    if not isinstance(data, Mapping):
        raise InvalidReview("the review is not a JSON object")
    verdict = data.get("verdict")
    if verdict not in VERDICTS:
        raise InvalidReview(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    findings = []
    for i, item in enumerate(data.get("findings") or []):
        if not isinstance(item, Mapping):
            raise InvalidReview(f"findings[{i}] is not an object")
        try:
            line = int(item.get("line"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidReview(f"findings[{i}].line is not a number") from None
        if item.get("severity") not in SEVERITIES or not str(item.get("file") or "").strip() or line < 1:
            raise InvalidReview(f"findings[{i}] needs a file, a line >= 1 and a known severity")
        findings.append(
            {
                "file": str(item["file"]).strip(),
                "line": line,
                "severity": item["severity"],
                "category": str(item.get("category") or "other")[:40],
                "message": sanitize(str(item.get("message") or "")),
                "suggestion": sanitize(str(item.get("suggestion") or "")),
                "agents": [str(a)[:60] for a in item.get("agents") or []][:10],
            }
        )
    reviewers = {str(k)[:60]: str(v) for k, v in dict(data.get("reviewers") or {}).items()}
    return ValidatedReview(
        verdict=str(verdict),
        summary=sanitize(str(data.get("summary") or ""), 2000),
        report=sanitize(str(data.get("report") or ""), MAX_BODY),
        findings=findings,
        reviewers=reviewers,
        head=str(data.get("head") or ""),
    )


def inline_body(finding: Mapping[str, Any]) -> str:
    who = f" — found by {', '.join(finding['agents'])}" if finding.get("agents") else ""
    body = f"**{finding['severity']} · {finding['category']}**{who}\n\n{finding['message']}"
    if finding.get("suggestion"):
        body += f"\n\n**Suggestion:** {finding['suggestion']}"
    return body


@dataclass
class PlannedReview:
    """The review Baton will post: event, body and inline comments."""

    event: str
    body: str
    comments: list[dict[str, Any]] = field(default_factory=list)
    outside: list[dict[str, Any]] = field(default_factory=list)


def plan_review(
    review: ValidatedReview,
    files: Sequence[Mapping[str, Any]],
    *,
    allow_approve: bool,
    already: set[tuple[str, int, str]] | None = None,
) -> PlannedReview:
    """Split findings into inline comments (lines in the diff) and the rest (the review body)."""
    lines = {str(f.get("filename")): commentable_lines(str(f.get("patch") or "")) for f in files}
    comments: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    for finding in review.findings:
        body = inline_body(finding)
        if finding["line"] in lines.get(finding["file"], set()) and len(comments) < MAX_INLINE:
            if already and (finding["file"], finding["line"], body.splitlines()[0]) in already:
                continue
            comments.append({"path": finding["file"], "line": finding["line"], "side": "RIGHT", "body": body})
        else:
            outside.append(finding)
    event = EVENTS[review.verdict]
    if event == "APPROVE" and not allow_approve:
        event = "COMMENT"
    return PlannedReview(
        event=event, body=review_body(review, outside, event), comments=comments, outside=outside
    )


def review_body(review: ValidatedReview, outside: list[dict[str, Any]], event: str) -> str:
    parts = [f"**Baton code review** — {review.summary}"]
    if event == "COMMENT" and review.verdict == "approve":
        parts.append("_The reviewers approved; this workflow is not allowed to approve pull requests._")
    if outside:
        parts.append("Findings outside the lines this pull request changes:")
        parts += [
            f"- `{f['file']}:{f['line']}` **{f['severity']}** {f['message'].splitlines()[0][:300]}"
            for f in outside
        ]
    body = "\n\n".join(parts[:2]) + ("\n\n" + "\n".join(parts[2:]) if len(parts) > 2 else "")
    return body[:MAX_BODY]


def sticky_body(workflow_id: str, text: str, meta: Mapping[str, Any]) -> str:
    """The sticky comment: marker, metadata (JSON) and the Markdown text."""
    safe_meta = json.dumps(dict(meta), separators=(",", ":")).replace("--", "- -")
    return f"{sticky_marker(workflow_id)}\n<!-- baton:meta {safe_meta} -->\n{text}"[:MAX_BODY]


def _is_ours(comment: Mapping[str, Any], workflow_id: str, login: str | None) -> bool:
    user = str((comment.get("user") or {}).get("login") or "")
    trusted = user == login if login else user.endswith("[bot]")
    return trusted and sticky_marker(workflow_id) in str(comment.get("body") or "")


async def find_sticky(
    client: GitHubClient, number: int, workflow_id: str, login: str | None = None
) -> dict[str, Any] | None:
    """Baton's sticky comment for ``workflow_id`` on issue/PR ``number`` (the latest), if any.

    Only a comment by ``login`` (default: any ``[bot]`` account, which people cannot
    impersonate) counts, so nobody can plant a marker that Baton would trust.
    """
    found = [c for c in await client.issue_comments(number) if _is_ours(c, workflow_id, login)]
    return found[-1] if found else None


def sticky_meta(comment: Mapping[str, Any] | None) -> dict[str, Any]:
    if not comment:
        return {}
    match = _META.search(str(comment.get("body") or ""))
    if not match:
        return {}
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def upsert_sticky(
    client: GitHubClient,
    number: int,
    workflow_id: str,
    text: str,
    meta: Mapping[str, Any],
    login: str | None = None,
) -> dict[str, Any]:
    """Create the sticky comment, or edit it if Baton already left one."""
    body = sticky_body(workflow_id, text, meta)
    existing = await find_sticky(client, number, workflow_id, login)
    if existing is not None:
        return await client.update_comment(int(existing["id"]), body)
    return await client.create_comment(number, body)


@dataclass
class PostedReview:
    """What was written to the pull request."""

    review_id: int | None
    event: str
    inline: int
    outside: int
    sticky_id: int | None


async def post_review(
    client: GitHubClient,
    number: int,
    merged: Any,
    *,
    workflow_id: str = "code-review",
    allow_approve: bool = False,
    execution_id: str = "",
    login: str | None = None,
) -> PostedReview:
    """Validate ``merged`` and post it: one formal review plus the sticky summary comment."""
    review = validate_review(merged)
    pull = await client.pull(number)
    head = review.head or str((pull.get("head") or {}).get("sha") or "")
    files = await client.pull_files(number)
    already = {
        (
            str(c.get("path")),
            int(c.get("line") or 0),
            str(c.get("body") or "").splitlines()[0] if c.get("body") else "",
        )
        for c in await client.review_comments(number)
        if str((c.get("user") or {}).get("login") or "").endswith("[bot]")
        or (login and c.get("user", {}).get("login") == login)
    }
    planned = plan_review(review, files, allow_approve=allow_approve, already=already)
    try:
        posted = await client.create_review(
            number, commit_id=head or None, body=planned.body, event=planned.event, comments=planned.comments
        )
    except GitHubApiError as exc:
        if exc.status != 422 or not planned.comments:
            raise
        # GitHub refused a line (e.g. the head moved on): everything goes into the body instead
        planned = PlannedReview(event=planned.event, body=review_body(review, review.findings, planned.event))
        posted = await client.create_review(
            number, commit_id=head or None, body=planned.body, event=planned.event, comments=[]
        )
    meta = {"head": head, "verdict": review.verdict, "execution": execution_id}
    sticky = await upsert_sticky(client, number, workflow_id, review.report, meta, login)
    return PostedReview(
        review_id=posted.get("id") if posted else None,
        event=planned.event,
        inline=len(planned.comments),
        outside=len(planned.outside),
        sticky_id=sticky.get("id") if sticky else None,
    )


__all__ = [
    "InvalidReview",
    "PlannedReview",
    "PostedReview",
    "ValidatedReview",
    "commentable_lines",
    "find_sticky",
    "plan_review",
    "post_review",
    "sanitize",
    "sticky_marker",
    "sticky_meta",
    "upsert_sticky",
    "validate_review",
]
