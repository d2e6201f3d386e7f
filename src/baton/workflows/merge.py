"""Merge the answers of several reviewers into one review: deduplicated findings, a verdict, a report.

Deterministic (no agent involved), so the same answers always give the same review. Run
by the ``merge`` step of ``code-review`` as::

    python -m baton.workflows.merge --context '{"head": ..., "files": [...]}' \\
        --review '{"step": "review_claude_1", "agent": "claude", "status": "completed", "json": {...}}' ...

and prints the merged review as JSON (see :func:`merge_reviews`).

Rules:

- **Duplicates**: two findings are one when they are in the same file, at most
  :data:`LINE_WINDOW` lines apart, and have the same category or similar messages (word
  overlap of at least :data:`SIMILARITY`). The merged finding keeps the most severe
  severity, that finding's message and line, the first suggestion, and names every agent
  that reported it.
- **Verdict**: each reviewer's verdict is the most severe of its answers
  (``request_changes`` > ``comment`` > ``approve``). The review requests changes when more
  than half of the reviewers do, or when a critical or high finding was reported by two
  or more of them; it approves when every reviewer approves and no finding is medium or
  worse; otherwise it comments. The report says which agents agreed.
- **Nothing to review** (an empty change): never an approval. The result is neutral
  (``verdict: comment``, ``nothing_to_review: true``) and its report says why and how to
  review something (``--base``, ``--uncommitted``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.wording import counted
from baton.workflows.schemas import SEVERITIES, VERDICTS

LINE_WINDOW = 3
SIMILARITY = 0.3
_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # critical = 0 is the most severe
_VERDICT_RANK = {"approve": 0, "comment": 1, "request_changes": 2}
_WORD = re.compile(r"[a-z0-9_]{3,}")
_TITLES = {"approve": "✅ Approved", "comment": "💬 Comments", "request_changes": "❌ Changes requested"}
_ICONS = {"critical": "🛑", "high": "🔴", "medium": "🟠", "low": "🟡", "info": "🔵"}


@dataclass
class Finding:
    """One finding, possibly reported by several agents."""

    file: str
    line: int
    severity: str
    category: str
    message: str
    suggestion: str
    agents: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "severity": self.severity,
            "category": self.category,
            "message": self.message,
            "suggestion": self.suggestion,
            "agents": self.agents,
        }


def normalize_path(path: str) -> str:
    path = path.strip().replace("\\", "/")
    for prefix in ("./", "a/", "b/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    return path


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def similar(a: str, b: str) -> float:
    """Word overlap (Jaccard) of two messages, 0..1."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def _finding(raw: Mapping[str, Any], agent: str) -> Finding | None:
    try:
        line = int(raw.get("line") or 0)
    except (TypeError, ValueError):
        return None
    severity = str(raw.get("severity", "info"))
    message = str(raw.get("message") or "").strip()
    file = normalize_path(str(raw.get("file") or ""))
    if not file or not message or severity not in _RANK:
        return None
    return Finding(
        file=file,
        line=max(line, 1),
        severity=severity,
        category=str(raw.get("category") or "other"),
        message=message,
        suggestion=str(raw.get("suggestion") or "").strip(),
        agents=[agent],
    )


def _same(a: Finding, b: Finding) -> bool:
    if a.file != b.file or abs(a.line - b.line) > LINE_WINDOW:
        return False
    return a.category == b.category or similar(a.message, b.message) >= SIMILARITY


def deduplicate(findings: Iterable[Finding]) -> list[Finding]:
    """Merge duplicate findings (see the module doc); most severe first, then by file and line."""
    ordered = sorted(findings, key=lambda f: (_RANK[f.severity], f.file, f.line))
    merged: list[Finding] = []
    for item in ordered:
        for kept in merged:
            if _same(kept, item):
                for agent in item.agents:
                    if agent not in kept.agents:
                        kept.agents.append(agent)
                if not kept.suggestion and item.suggestion:
                    kept.suggestion = item.suggestion
                break
        else:
            merged.append(Finding(**{**item.__dict__, "agents": list(item.agents)}))
    for f in merged:
        f.agents.sort()
    return sorted(merged, key=lambda f: (_RANK[f.severity], f.file, f.line))


def decide(votes: Mapping[str, str], findings: list[Finding]) -> tuple[str, str]:
    """The verdict and a sentence saying why and who agreed."""
    if not votes:
        return "comment", "no reviewer answered"
    by_verdict: dict[str, list[str]] = {}
    for agent, verdict in sorted(votes.items()):
        by_verdict.setdefault(verdict, []).append(agent)
    changes = by_verdict.get("request_changes", [])
    confirmed = [f for f in findings if f.severity in ("critical", "high") and len(f.agents) >= 2]
    if len(changes) * 2 > len(votes):
        return (
            "request_changes",
            f"{_names(changes)} requested changes ({len(changes)} of {len(votes)} reviewers)",
        )
    if confirmed:
        f = confirmed[0]
        return "request_changes", (
            f"{_names(f.agents)} agreed on a {f.severity} finding ({f.file}:{f.line}), "
            f"which outweighs {len(votes) - len(changes)} of {len(votes)} reviewers not requesting changes"
        )
    serious = [f for f in findings if _RANK[f.severity] <= _RANK["medium"]]
    approvals = by_verdict.get("approve", [])
    if len(approvals) == len(votes) and not serious:
        return "approve", f"{_names(approvals)} approved"
    parts = [
        f"{_names(agents)}: {verdict.replace('_', ' ')}" for verdict, agents in sorted(by_verdict.items())
    ]
    return "comment", "reviewers differ or left comments (" + "; ".join(parts) + ")"


def _names(agents: list[str]) -> str:
    agents = sorted(agents)
    if len(agents) <= 1:
        return "".join(agents)
    return ", ".join(agents[:-1]) + " and " + agents[-1]


def merge_reviews(
    reviews: list[Mapping[str, Any]], context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One review out of the reviewers' answers.

    ``reviews``: ``{"step", "agent", "status", "json" (the reviewer's answer), "error"}``
    per reviewer step; ``context``: what the diff step found (``head``, ``base``,
    ``from``, ``files``, ``omitted``, ``incremental``).
    """
    context = dict(context or {})
    votes: dict[str, str] = {}
    summaries: dict[str, list[str]] = {}
    failed: list[str] = []
    raw: list[Finding] = []
    for review in reviews:
        agent = str(review.get("agent") or review.get("step") or "?")
        answer = review.get("json")
        if review.get("status") != "completed" or not isinstance(answer, Mapping):
            failed.append(agent)
            continue
        verdict = str(answer.get("verdict", "comment"))
        verdict = verdict if verdict in VERDICTS else "comment"
        if _VERDICT_RANK[verdict] >= _VERDICT_RANK.get(votes.get(agent, "approve"), 0):
            votes[agent] = verdict
        if answer.get("summary"):
            summaries.setdefault(agent, []).append(str(answer["summary"]).strip())
        for item in answer.get("findings") or []:
            if isinstance(item, Mapping) and (finding := _finding(item, agent)) is not None:
                raw.append(finding)
    failed = sorted(set(failed) - set(votes))
    findings = deduplicate(raw)
    files = context.get("files") or []
    if not files and not votes:
        return nothing_to_review(context)
    verdict, why = decide(votes, findings)
    summary = _summary(verdict, findings, why)
    result = {
        "verdict": verdict,
        "summary": summary,
        "agreement": why,
        "reviewers": dict(sorted(votes.items())),
        "failed": failed,
        "findings": [f.as_json() for f in findings],
        "head": str(context.get("head") or ""),
        "raw_findings": len(raw),
    }
    result["report"] = render_report(result, context, summaries)
    return result


def nothing_to_review(context: Mapping[str, Any]) -> dict[str, Any]:
    """The neutral result of a review with an empty change: why, and how to review something."""
    head = str(context.get("head") or "")
    short = head[:12]
    base = str(context.get("base") or "")
    if context.get("uncommitted"):
        why = f"the working tree has no changes against `{base or 'HEAD'}`" + (
            f" (`{short}`)" if short else "")
    elif context.get("incremental"):
        why = f"nothing changed since `{str(context.get('from') or '')[:12]}`"
    else:
        why = f"`HEAD` (`{short}`) has no changes that are not in `{base}`" if base else "nothing changed"
    how: list[str] = []
    pending = int(context.get("pending_files") or 0)
    if pending and not context.get("uncommitted"):
        how.append(f"You have uncommitted changes in {counted(pending, 'file')}: "
                   "review them with `baton run code-review --uncommitted`.")
    how.append("Compare with another branch or commit: `baton run code-review --base BRANCH`.")
    if not context.get("uncommitted") and not pending:
        how.append("Review work you have not committed yet: `baton run code-review --uncommitted`.")
    report = "\n".join([
        "## Baton code review: ⚪ Nothing to review", "",
        f"Nothing was reviewed: {why}. No reviewer was asked.", "",
        *[f"- {line}" for line in how],
    ]) + "\n"
    return {
        "verdict": "comment",
        "nothing_to_review": True,
        "summary": f"⚪ Nothing to review: {why}.",
        "agreement": "nothing to review",
        "reviewers": {},
        "failed": [],
        "findings": [],
        "head": head,
        "raw_findings": 0,
        "report": report,
    }


def _summary(verdict: str, findings: list[Finding], why: str) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    shown = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if s in counts) or "no findings"
    return f"{_TITLES[verdict]}: {shown}; {why}."


def render_report(
    result: Mapping[str, Any], context: Mapping[str, Any], summaries: Mapping[str, list[str]] | None = None
) -> str:
    """The review as Markdown (for the terminal, the PR comment and the job summary)."""
    lines = [f"## Baton code review: {_TITLES[result['verdict']]}", ""]
    files = context.get("files") or []
    head = str(context.get("head") or "")[:12]
    scope = counted(len(files), 'file')
    if context.get("incremental"):
        scope += f", changes since {str(context.get('from') or '')[:12]}"
    elif context.get("base"):
        scope += f" against `{context['base']}`"
    who = ", ".join(result["reviewers"]) or "no reviewer"
    lines.append(f"Reviewed {scope}{f' at `{head}`' if head else ''} by {who}.")
    if result["reviewers"]:
        votes = " · ".join(f"{a}: {v.replace('_', ' ')}" for a, v in result["reviewers"].items())
        lines.append(f"Verdicts: {votes} — {result['agreement']}.")
    if result.get("failed"):
        lines.append(f"⚠️ No answer from {', '.join(result['failed'])}.")
    if context.get("omitted"):
        lines.append(f"⚠️ Not reviewed (diff too large): {', '.join(context['omitted'])}.")
    findings = result["findings"]
    lines.append("")
    if not findings:
        lines.append("No findings.")
    else:
        lines += ["| | Severity | Location | Finding | Found by |", "|---|---|---|---|---|"]
        for f in findings:
            first = _cell(f["message"].splitlines()[0] if f["message"] else "")
            lines.append(
                f"| {_ICONS.get(f['severity'], '')} | {f['severity']} | `{f['file']}:{f['line']}` "
                f"| {first} | {', '.join(f['agents'])} |"
            )
        lines += ["", "<details><summary>Details</summary>", ""]
        for f in findings:
            lines.append(
                f"**`{f['file']}:{f['line']}`** — {f['severity']} {f['category']} ({', '.join(f['agents'])})"
            )
            lines.append("")
            lines.append(f["message"])
            if f["suggestion"]:
                lines += ["", f"Suggestion: {f['suggestion']}"]
            lines.append("")
        lines.append("</details>")
    if summaries:
        lines += ["", "<details><summary>Reviewer summaries</summary>", ""]
        for agent, texts in sorted(summaries.items()):
            lines.append(f"**{agent}**: " + " ".join(texts))
            lines.append("")
        lines.append("</details>")
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    text = text.replace("|", "\\|")
    return text if len(text) <= 120 else text[:117] + "..."


def _read_input(source: str) -> tuple[dict[str, Any], list[Any]]:
    """The context and reviews of a JSON-lines input (``-``: stdin)."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    context: dict[str, Any] = {}
    reviews: list[Any] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if isinstance(item, dict) and isinstance(item.get("context"), dict):
            context.update(item["context"])
        elif isinstance(item, dict) and "review" in item:
            reviews.append(item["review"])
    return context, reviews


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m baton.workflows.merge",
        description="Merge reviewer answers into one review (JSON on stdout).",
    )
    parser.add_argument("--context", default="{}", help="what the diff step found, as JSON")
    parser.add_argument("--review", action="append", default=[], help="one reviewer step's output, as JSON")
    parser.add_argument(
        "--input",
        help="a file ('-': stdin) of JSON lines, each {\"context\": ...} or {\"review\": ...}",
    )
    parser.add_argument(
        "--require-review",
        action="store_true",
        help="exit 1 when there was something to review and no reviewer answered",
    )
    args = parser.parse_args(argv)
    try:
        context = json.loads(args.context) if args.context.strip() else {}
        reviews = [json.loads(r) for r in args.review if r.strip()]
        if args.input:
            more_context, more_reviews = _read_input(args.input)
            context = {**context, **more_context} if isinstance(context, dict) else more_context
            reviews.extend(more_reviews)
    except ValueError as exc:
        print(f"error: an argument is not JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(context, dict):
        context = {}
    if isinstance(context.get("files"), list):
        context["files"] = [f["path"] if isinstance(f, Mapping) else f for f in context["files"]]
    result = merge_reviews([r for r in reviews if isinstance(r, Mapping)], context)
    sys.stdout.write(json.dumps(result) + "\n")
    if args.require_review and context.get("groups") and not result["reviewers"]:
        print("error: every reviewer failed; nothing to merge", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
