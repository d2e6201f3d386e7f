"""Structured answers: ask a CLI for JSON and read the JSON back out of its answer."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\r?\n(.*?)\r?\n?```", re.DOTALL)


def schema_instruction(schema: dict[str, Any]) -> str:
    """Text appended to a prompt for CLIs without a native output-schema option."""
    return (
        "\n\nAnswer with a single JSON value that matches this JSON Schema, and nothing "
        "else: no prose before or after it.\n"
        f"JSON Schema:\n{json.dumps(schema, indent=2)}"
    )


def extract_json(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is JSON or holds a fenced ```json block, else (False, None)."""
    stripped = text.strip()
    if stripped:
        try:
            return True, json.loads(stripped)
        except ValueError:
            pass
    for match in _FENCE.finditer(text):
        try:
            return True, json.loads(match.group(1))
        except ValueError:
            continue
    return False, None
