"""Which repository strings Baton hands to git, and which transports git may use for them.

A repository is accepted only as an ``https://`` or ``ssh://`` URL, an scp-style
``user@host:path``, or a local directory (a plain path or ``file://PATH``) that exists.
Anything else — git's transport helpers (``ext::``, ``fd::``), ``git://``, ``http://``,
strings that look like options — is refused before git sees it. Every clone and fetch
Baton runs also restricts git's transports on its command line (:func:`transport_args`),
so a remote URL read from a repository's configuration cannot reach another transport.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from baton.errors import BatonError

_URL = re.compile(r"^(https|ssh)://[^\s/@]+(@[^\s/]+)?/\S+$")
_SCP = re.compile(r"^[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:(?!/)\S+$")
ACCEPTED = "an https:// or ssh:// URL, user@host:path, or an existing local repository"


class RepoNotAllowed(BatonError):
    """A repository string Baton will not hand to git."""

    cli_exit_code = 2


@dataclass(frozen=True, slots=True)
class RepoSource:
    """A repository string that passed :func:`parse_repo`: a remote URL or a local directory."""

    url: str
    local: Path | None = None

    @property
    def is_local(self) -> bool:
        return self.local is not None


def parse_repo(value: str, *, base: Path | None = None) -> RepoSource:
    """``value`` as a :class:`RepoSource`, or :class:`RepoNotAllowed` naming what is accepted."""
    text = value.strip()
    if not text or text.startswith("-") or "::" in text or any(c in text for c in "\0\n\r"):
        raise RepoNotAllowed(f"repo {value!r} is not allowed: give {ACCEPTED}")
    if _URL.match(text) or _SCP.match(text):
        return RepoSource(text)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) and not text.startswith("file://"):
        raise RepoNotAllowed(f"repo {value!r}: only https:// and ssh:// URLs are accepted ({ACCEPTED})")
    try:
        path = Path(text.removeprefix("file://")).expanduser()
    except RuntimeError:  # ~name of a user this machine does not have
        raise RepoNotAllowed(f"repo {value!r}: no such user's home directory ({ACCEPTED})") from None
    if not path.is_absolute() and base is not None:
        path = base / path
    path = path.resolve()
    if not path.is_dir():
        raise RepoNotAllowed(f"repo {value!r}: {path} is not an existing directory ({ACCEPTED})")
    return RepoSource(str(path), local=path)


def transport_args(*, local: bool) -> list[str]:
    """``git -c`` options that allow only https, ssh and (for local repositories) file.

    The named denials matter: a ``protocol.<name>.allow`` in a repository's own config
    would otherwise win over ``protocol.allow``; the command line wins over both.
    """
    allowed = {
        "https": True,
        "ssh": True,
        "file": local,
        "ext": False,
        "fd": False,
        "git": False,
        "http": False,
    }
    args = ["-c", "protocol.allow=never"]
    for name, allow in allowed.items():
        args += ["-c", f"protocol.{name}.allow={'always' if allow else 'never'}"]
    return args


def remote_transport_args(url: str, cwd: Path | None = None) -> list[str]:
    """:func:`transport_args` for fetching from a remote configured as ``url`` (relative to ``cwd``)."""
    try:
        source = parse_repo(url, base=cwd)
    except RepoNotAllowed:
        return transport_args(local=False)
    return transport_args(local=source.is_local)


def fetch_args(cwd: Path, remote: str) -> list[str]:
    """Transport options for ``git fetch REMOTE`` in ``cwd``, from the remote's configured URL."""
    url = subprocess.run(
        ["git", "remote", "get-url", "--", remote], cwd=cwd, capture_output=True, text=True, check=False
    ).stdout.strip()
    return remote_transport_args(url, cwd)


__all__ = [
    "ACCEPTED",
    "RepoNotAllowed",
    "RepoSource",
    "fetch_args",
    "parse_repo",
    "remote_transport_args",
    "transport_args",
]
