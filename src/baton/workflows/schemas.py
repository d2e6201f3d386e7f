"""JSON Schemas of what the built-in workflows' agents must answer (``output_schema: "@schema/NAME"``).

One schema per kind of answer, shared by every agent that gives it, so that Baton can
validate an answer before it acts on it (the safe-outputs rule: agents propose, Baton
checks and writes).
"""

from __future__ import annotations

from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
VERDICTS = ("approve", "comment", "request_changes")
CATEGORIES = (
    "bug",
    "security",
    "performance",
    "correctness",
    "maintainability",
    "style",
    "tests",
    "documentation",
    "other",
)

FINDING: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "description": "path relative to the repository root"},
        "line": {"type": "integer", "minimum": 1, "description": "line in the new version of the file"},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "message": {"type": "string"},
        "suggestion": {"type": "string"},
    },
    "required": ["file", "line", "severity", "category", "message", "suggestion"],
    "additionalProperties": False,
}

# What each reviewer answers (one answer per reviewer and diff group).
FINDINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": list(VERDICTS)},
        "summary": {"type": "string"},
        "findings": {"type": "array", "items": FINDING, "maxItems": 100},
    },
    "required": ["verdict", "summary", "findings"],
    "additionalProperties": False,
}

# What the merge step prints (checked like any other answer).
MERGED_REVIEW: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"enum": list(VERDICTS)},
        "summary": {"type": "string"},
        "report": {"type": "string"},
        "findings": {"type": "array"},
        "reviewers": {"type": "object"},
        "agreement": {"type": "string"},
        "failed": {"type": "array", "items": {"type": "string"}},
        "head": {"type": "string"},
    },
    "required": ["verdict", "summary", "report", "findings", "reviewers"],
}

# The planner's answer in issue-to-pr.
PLAN: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "steps": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 30},
        "files": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
        "tests": {"type": "string"},
    },
    "required": ["summary", "steps", "files", "tests"],
    "additionalProperties": False,
}

# The fixer's account of the review comments it addressed in pr-fix.
ADDRESSED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "addressed": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "properties": {
                    "comment_id": {"type": "integer"},
                    "reply": {"type": "string"},
                },
                "required": ["comment_id", "reply"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["summary", "addressed"],
    "additionalProperties": False,
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "findings": FINDINGS,
    "merged-review": MERGED_REVIEW,
    "plan": PLAN,
    "addressed": ADDRESSED,
}

__all__ = ["CATEGORIES", "FINDING", "FINDINGS", "SCHEMAS", "SEVERITIES", "VERDICTS"]
