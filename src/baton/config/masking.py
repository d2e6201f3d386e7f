"""Hide credentials in a configuration before it is shown or logged."""

from __future__ import annotations

import re
from typing import Any

MASK = "****"
_SECRET_KEY = re.compile(
    r"api[_-]?key|secret|password|passwd|credential|private[_-]?key|(^|[_-])token$", re.I
)
_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@]*:)([^@]*)(@)", re.I)


def is_secret_key(key: str) -> bool:
    """Whether a setting named ``key`` holds a credential (``api_key``, ``github_token``...)."""
    return bool(_SECRET_KEY.search(key))


def mask_secrets(data: Any) -> Any:
    """A copy of ``data`` with credential values replaced by ``****``.

    Values under credential-like keys are masked (unset ones stay visible as null), and the
    password inside any ``scheme://user:password@host`` URL is masked.
    """
    if isinstance(data, dict):
        return {
            key: (_mask_value(value) if isinstance(key, str) and is_secret_key(key) else mask_secrets(value))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [mask_secrets(item) for item in data]
    if isinstance(data, str) and "://" in data and "@" in data:
        return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", data)
    return data


def _mask_value(value: Any) -> Any:
    if value is None or value == "":
        return value
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    return MASK
