"""A content-addressed cache of parsed configuration files, like ``.pyc`` for YAML.

Parsing YAML is the slowest part of loading a large configuration (PyYAML builds Python
objects for every node). A file of at least :data:`MIN_CACHED_BYTES` is parsed once per
distinct content; the plain result is kept as JSON under the user's cache directory
(``$BATON_CACHE_DIR/config``, else ``$XDG_CACHE_HOME/baton/config``, else
``~/.cache/baton/config``; ``BATON_CACHE_DIR=`` empty disables it), named by the SHA-256 of
the text. Only files that parsed cleanly (no duplicate keys, no alias bombs) and whose
data survives a JSON round trip unchanged are cached. The cache lives outside the project
so that a checked-in file cannot impersonate a configuration. Any cache problem falls back
to parsing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baton.config.interpolate import dollar_paths
from baton.config.yamlio import FieldPath, parse_noting_dollars

CACHE_FORMAT = 1
MIN_CACHED_BYTES = 32 * 1024
MAX_ENTRIES = 64


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A parsed file and, when known, the paths of its strings that contain ``$``."""

    data: Any
    dollar_paths: list[FieldPath] | None = None


class ParseCache:
    """Parses YAML text, reusing the stored result for text it has parsed before."""

    def __init__(self, directory: Path | None, min_bytes: int = MIN_CACHED_BYTES) -> None:
        self.directory = directory
        self.min_bytes = min_bytes

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ParseCache:
        """The cache directory the environment names (none when it names no home)."""
        explicit = env.get("BATON_CACHE_DIR")
        if explicit is not None:
            return cls(Path(explicit).expanduser() / "config" if explicit else None)
        base = env.get("XDG_CACHE_HOME")
        if not base and env.get("HOME"):
            base = str(Path(env["HOME"]) / ".cache")
        return cls(Path(base) / "baton" / "config" if base else None)

    def parse(self, text: str, shown: str) -> ParsedFile:
        """The parsed ``text`` (``shown`` names the file in errors)."""
        if self.directory is None or len(text) < self.min_bytes:
            return ParsedFile(*parse_noting_dollars(text, shown))
        digest = hashlib.sha256(f"baton-config-{CACHE_FORMAT}\0{text}".encode()).hexdigest()
        entry = self.directory / f"{digest}.json"
        cached = self._read(entry)
        if cached is not None:
            return cached
        data, paths = parse_noting_dollars(text, shown)
        parsed = ParsedFile(data, dollar_paths(data) if paths is None else paths)
        self._write(entry, parsed)
        return parsed

    @staticmethod
    def _read(entry: Path) -> ParsedFile | None:
        try:
            payload = json.loads(entry.read_bytes())
            paths = [tuple(p) for p in payload["dollar_paths"]]
            return ParsedFile(payload["data"], paths)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write(self, entry: Path, parsed: ParsedFile) -> None:
        try:
            encoded = json.dumps(
                {"data": parsed.data, "dollar_paths": parsed.dollar_paths}, ensure_ascii=False
            )
            if json.loads(encoded)["data"] != parsed.data:
                return  # non-JSON types (dates, int keys, sets...): not worth a lossy cache
            entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(encoded)
            os.replace(tmp, entry)
            self._prune(entry.parent)
        except (OSError, TypeError, ValueError):
            return

    @staticmethod
    def _prune(folder: Path) -> None:
        entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            with contextlib.suppress(OSError):
                old.unlink()
