"""The rendered prompt of each step, kept beside the execution's other artifacts
(``prompts/<step>.txt``, secrets masked) for ``baton show ID --step S --prompt``."""

from __future__ import annotations

from pathlib import Path

from baton.observability.redact import redactor

PROMPTS_DIR = "prompts"


def prompt_path(artifacts_dir: Path, step_id: str) -> Path:
    return artifacts_dir / PROMPTS_DIR / f"{step_id.replace('/', '_')}.txt"


def keep_prompt(artifacts_dir: Path, step_id: str, prompt: str) -> None:
    """Write the prompt a step was given (the latest attempt's); never fails the step."""
    path = prompt_path(artifacts_dir, step_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(redactor().redact_text(prompt), encoding="utf-8")
    except OSError:
        pass


def read_prompt(artifacts_dir: Path, step_id: str) -> str | None:
    path = prompt_path(artifacts_dir, step_id)
    return path.read_text(encoding="utf-8") if path.is_file() else None
