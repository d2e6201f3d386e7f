"""Allow-listed environments for agent subprocesses: a child sees only what it needs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

BASE_ALLOW = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ",
              "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS")


def child_environment(
    *,
    allow: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """PATH, HOME, locale and the names in ``allow`` from ``source``, plus ``extra``.

    Nothing else from the parent's environment reaches the child, so one agent's
    credentials never leak into another agent's process.
    """
    src = os.environ if source is None else source
    names = set(BASE_ALLOW) | set(allow)
    env = {k: v for k, v in src.items() if k in names or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    if extra:
        env.update(extra)
    return env
