"""Rules for single values shared by the configuration models: one-line names, bounded nesting,
http(s) URLs and where artifacts may be written."""

from __future__ import annotations

import os
import unicodedata
from typing import Any
from urllib.parse import urlsplit

# Free-form settings (metadata, agent config, parameter defaults, output schemas) nest at most
# this deep; far deeper structures break serialization and recursion in the engine.
MAX_NESTING = 32
# Directories of the operating system that Baton never writes artifacts into.
SYSTEM_DIRS = ("/etc", "/proc", "/sys", "/dev", "/usr", "/boot", "/bin", "/sbin", "/lib", "/lib32",
               "/lib64", "/libx32", "/run", "/snap", "/var/lib/dpkg", "/var/lock", "/var/run")
_SYSTEM_ROOTS = ("/", "/var")


def control_character(value: str) -> str | None:
    """The first control character in ``value`` (newline, tab, escape...), or None."""
    if value.isascii() and value.isprintable():  # ASCII's only such characters are unprintable
        return None
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return char
    return None


def one_line(value: str | None) -> str | None:
    """Refuse a name with control characters (a newline would forge lines in logs and output)."""
    if value is not None and (char := control_character(value)) is not None:
        raise ValueError(f"must be one line of text without control characters (found {char!r})")
    return value


def too_deep(value: Any, limit: int = MAX_NESTING) -> tuple[str | int, ...] | None:
    """The path to where ``value`` nests deeper than ``limit`` levels, or None."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > limit:
            return path
        if isinstance(node, dict):
            stack.extend((v, (*path, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    return None


def http_url_problem(value: Any) -> str | None:
    """Why ``value`` is not an http(s) URL with a host, or None."""
    if not isinstance(value, str):
        return f"must be an http(s) URL, not {type(value).__name__}"
    if control_character(value) is not None or " " in value:
        return "must be an http(s) URL without spaces or control characters"
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError as exc:
        return f"{value!r} is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{value!r} must start with http:// or https:// (got {parts.scheme or 'no'} scheme)"
    if not parts.hostname:
        return f"{value!r} has no host"
    return None


def system_dir(path: str) -> str | None:
    """The system directory ``path`` is (or lies in), after following symbolic links, or None."""
    for candidate in (os.path.normpath(path), os.path.realpath(path)):
        if candidate in _SYSTEM_ROOTS:
            return candidate
        for root in SYSTEM_DIRS:
            if candidate == root or candidate.startswith(root + "/"):
                return root
    return None


def inside(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies below it, after following symbolic links."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip("/") + "/")
