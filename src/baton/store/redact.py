"""Keep credentials out of the database: agent configs are stored with secret values masked.

A value is masked when its key names a credential (``api_key``, ``github_token``,
``password``...; ``max_tokens`` is not one).
Unexpanded references such as ``"${ANTHROPIC_API_KEY}"`` are kept: they name a secret,
they are not one.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
_SECRET_KEY = re.compile(
    r"(^|[_-])(api[_-]?key|access[_-]?key|private[_-]?key|secret([_-]?key)?|token|password"
    r"|passwd|authorization|credentials?)$",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$")


def redact_secrets(value: Any) -> Any:
    """A copy of ``value`` with the values of credential-named keys replaced."""
    if isinstance(value, dict):
        return {k: _mask(v) if _SECRET_KEY.search(str(k)) else redact_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_secrets(v) for v in value]
    return value


def _mask(value: Any) -> Any:
    if value is None or value == "":
        return value
    if isinstance(value, str) and _REFERENCE.match(value):
        return value
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return REDACTED
