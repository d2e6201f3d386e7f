"""Keep secret values out of everything Baton writes or shows.

A :class:`Redactor` holds secret values and replaces each occurrence of one, in text or
in nested data (dicts, lists, tuples, dataclasses such as engine events, pydantic models
such as log rows), with ``***``. The process-wide instance behind :func:`redactor` is fed
by the secrets store (every ``${secret:NAME}`` resolved while loading a configuration)
and by :func:`protect_agents` (every agent's ``api_key`` and other credential-named
config values); the engine's recorder, the adapter boundary and the CLI adapters'
transcripts pass what they write through it.

Values shorter than :data:`MIN_LENGTH` characters are never registered: redacting them
would shred ordinary text without protecting anything.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

from baton.config.masking import MASK as MASK
from baton.config.masking import is_reference, is_secret_key

_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^:/@]*:([^@]+)@", re.I)
MIN_LENGTH = 4

T = TypeVar("T")


class Redactor:
    """A set of secret values and the means to scrub them from text and data."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for value in values:
            self.register(value)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def register(self, value: str | None) -> None:
        """Redact ``value`` (and its JSON-escaped form) from now on."""
        if not isinstance(value, str) or len(value.strip()) < MIN_LENGTH:
            return
        forms = {value, value.strip(), json.dumps(value)[1:-1]}
        with self._lock:
            if forms <= self._values:
                return
            self._values |= {f for f in forms if len(f) >= MIN_LENGTH}
            self._pattern = None

    def values(self) -> tuple[str, ...]:
        """Every registered value (for components that redact on their own)."""
        return tuple(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def _compiled(self) -> re.Pattern[str]:
        pattern = self._pattern
        if pattern is None:
            with self._lock:
                # Longest first, so a secret containing another is masked whole.
                ordered = sorted(self._values, key=len, reverse=True)
                pattern = self._pattern = re.compile("|".join(map(re.escape, ordered)))
        return pattern

    def redact_text(self, text: str) -> str:
        if not self._values or not text:
            return text
        return self._compiled().sub(MASK, text)

    def redact(self, obj: T) -> T:
        """A copy of ``obj`` with every secret masked (``obj`` itself when nothing changed)."""
        if not self._values:
            return obj
        return self._walk(obj)  # type: ignore[no-any-return]

    def redact_exception(self, exc: BaseException) -> BaseException:
        """``exc`` with secrets masked from its arguments (changed in place, returned)."""
        if self._values:
            exc.args = tuple(self._walk(arg) for arg in exc.args)
        return exc

    def _walk(self, obj: Any) -> Any:
        if isinstance(obj, Enum):  # a StrEnum is a str, but masking must keep its type
            return obj
        if isinstance(obj, str):
            return self.redact_text(obj)
        if obj is None or isinstance(obj, bool | int | float):
            return obj
        if isinstance(obj, dict):
            out = {k: self._walk(v) for k, v in obj.items()}
            return obj if all(out[k] is obj[k] for k in obj) else out
        if isinstance(obj, list | tuple):
            items = [self._walk(v) for v in obj]
            if all(a is b for a, b in zip(items, obj, strict=True)):
                return obj
            return items if isinstance(obj, list) else tuple(items)
        if isinstance(obj, BaseModel):
            changes = {}
            for name in type(obj).model_fields:
                value = getattr(obj, name)
                clean = self._walk(value)
                if clean is not value:
                    changes[name] = clean
            return obj.model_copy(update=changes) if changes else obj
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            changes = {}
            for f in dataclasses.fields(obj):
                if not f.init:
                    continue
                value = getattr(obj, f.name)
                clean = self._walk(value)
                if clean is not value:
                    changes[f.name] = clean
            return dataclasses.replace(obj, **changes) if changes else obj
        return obj


_REDACTOR = Redactor()


def redactor() -> Redactor:
    """The process-wide redactor."""
    return _REDACTOR


def register_secret(value: str | None) -> None:
    """Redact ``value`` everywhere from now on."""
    _REDACTOR.register(value)


def redact(obj: T) -> T:
    """``obj`` with every registered secret masked."""
    return _REDACTOR.redact(obj)


def credential_values(config: Mapping[str, Any]) -> list[str]:
    """The string values of ``config`` held under credential-named keys (``api_key``, ``*_TOKEN``...)
    and the passwords inside ``scheme://user:password@host`` URLs."""
    found: list[str] = []
    _collect(config, False, found)
    return found


def _collect(value: Any, secret: bool, found: list[str]) -> None:
    if isinstance(value, str):
        if secret and not is_reference(value):
            found.append(value)
        elif match := _URL_PASSWORD.match(value):
            found.append(match.group(1))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _collect(item, secret or (isinstance(key, str) and is_secret_key(key)), found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, secret, found)


def protect_agents(configs: Iterable[Mapping[str, Any]]) -> None:
    """Register the credentials found in each agent ``config`` mapping."""
    for config in configs:
        for value in credential_values(config):
            _REDACTOR.register(value)
