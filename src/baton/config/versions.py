"""What "this configuration" is, as applied and as run: ``baton.yaml`` plus every workflow
file under ``.baton/workflows/``, as written (``${VAR}`` references, never resolved secrets).

:func:`configuration_content` joins them into one text (``config apply`` stores it as a
version); :func:`content_hash` of that text identifies the configuration an execution ran
with, so ``global.require_applied_config`` can refuse one edited but not applied.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

WORKFLOWS_DIR = Path(".baton") / "workflows"
_SEPARATOR = "\n# ---- {name} ----\n"


def content_hash(content: str) -> str:
    """The SHA-256 hex digest of a configuration's content (as the store computes it)."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def workflow_files(root: Path) -> list[Path]:
    """The workflow files the loader reads, in its order."""
    folder = root / WORKFLOWS_DIR
    if not folder.is_dir():
        return []
    return [p for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if p.is_file()]


def configuration_content(config_path: Path) -> str:
    """``baton.yaml``'s text, then each workflow file's under a ``# ---- path ----`` line;
    literal credentials masked in each (``${VAR}`` references kept as written)."""
    from baton.config.masking import mask_yaml_text

    text = mask_yaml_text(config_path.read_text(encoding="utf-8"))
    root = config_path.parent
    for path in workflow_files(root):
        name = path.relative_to(root).as_posix()
        body = mask_yaml_text(path.read_text(encoding="utf-8"))
        text += _SEPARATOR.format(name=name) + body
    return text


def configuration_hash(config_path: Path | None) -> str | None:
    """The content hash of the configuration at ``config_path`` (None without a file)."""
    if config_path is None or not config_path.is_file():
        return None
    return content_hash(configuration_content(config_path))


__all__ = ["WORKFLOWS_DIR", "configuration_content", "configuration_hash", "content_hash", "workflow_files"]
