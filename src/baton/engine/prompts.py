"""The rendered prompt of each step, kept beside the execution's other artifacts
(``prompts/<step>.txt``, secrets masked) for ``baton show ID --step S --prompt``."""

from __future__ import annotations

import os
from pathlib import Path

from baton.observability.redact import redactor
from baton.private import FILE_MODE

PROMPTS_DIR = "prompts"
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def prompt_path(artifacts_dir: Path, step_id: str) -> Path:
    return artifacts_dir / PROMPTS_DIR / f"{step_id.replace('/', '_')}.txt"


def keep_prompt(artifacts_dir: Path, step_id: str, prompt: str) -> None:
    """Write the prompt a step was given (the latest attempt's); never fails the step."""
    path = prompt_path(artifacts_dir, step_id)
    data = redactor().redact_text(prompt).encode("utf-8")
    try:
        try:
            fd = os.open(path, _FLAGS, FILE_MODE)
        except FileNotFoundError:  # the execution's first prompt (no mkdir call per step)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, _FLAGS, FILE_MODE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except OSError:
        pass


def read_prompt(artifacts_dir: Path, step_id: str) -> str | None:
    path = prompt_path(artifacts_dir, step_id)
    return path.read_text(encoding="utf-8") if path.is_file() else None
