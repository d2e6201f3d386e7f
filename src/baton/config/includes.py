"""``@prompts/name.j2``: a step's prompt template kept in ``.baton/prompts/``.

A ``prompt_template`` written as ``@prompts/review.j2`` is replaced by the text of
``.baton/prompts/review.j2`` before validation, so the template is checked like any
other. Paths that leave ``.baton/prompts`` (``..``, absolute paths, symlinks pointing
elsewhere) are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baton.config.errors import ConfigError, IncludeError
from baton.config.yamlio import read_text

if TYPE_CHECKING:
    from baton.config.diagnostics import Locator

PROMPT_PREFIX = "@prompts/"


def resolve_includes(
    data: dict[str, Any], prompts_dir: Path, locator: Locator, shown: Callable[[Path], str]
) -> tuple[dict[str, Any], list[Path]]:
    """``data`` with every ``@prompts/`` prompt template replaced by the file's text.

    Also returns the prompt files read. ``shown`` turns a path into the form error
    messages use.
    """
    read: list[Path] = []
    workflows = data.get("workflows")
    if not isinstance(workflows, dict):
        return data, read
    new_workflows: dict[str, Any] | None = None
    for wid, workflow in workflows.items():
        steps = workflow.get("steps") if isinstance(workflow, dict) else None
        if not isinstance(steps, list):
            continue
        new_steps: list[Any] | None = None
        for i, step in enumerate(steps):
            template = step.get("prompt_template") if isinstance(step, dict) else None
            if not isinstance(template, str) or not template.startswith(PROMPT_PREFIX):
                continue
            path = ("workflows", wid, "steps", i, "prompt_template")
            text = _read_prompt(template, prompts_dir, path, locator, shown, read)
            if new_steps is None:
                new_steps = list(steps)
            new_steps[i] = {**step, "prompt_template": text}
        if new_steps is not None:
            if new_workflows is None:
                new_workflows = dict(workflows)
            new_workflows[wid] = {**workflow, "steps": new_steps}
    if new_workflows is None:
        return data, read
    return {**data, "workflows": new_workflows}, read


def _read_prompt(
    reference: str,
    prompts_dir: Path,
    path: tuple[str | int, ...],
    locator: Locator,
    shown: Callable[[Path], str],
    read: list[Path],
) -> str:
    name = reference[len(PROMPT_PREFIX) :].strip()
    base = prompts_dir.resolve()
    try:
        target = (base / name).resolve()
    except (OSError, ValueError, RuntimeError):
        target = base
    if not name or not target.is_relative_to(base) or target == base:
        raise locator.error(
            IncludeError,
            f"{reference!r} escapes .baton/prompts; name a file inside it, e.g. @prompts/review.j2",
            path,
            at_value=True,
        )
    if not target.is_file():
        raise locator.error(
            IncludeError,
            f"{reference!r}: no such prompt file {shown(prompts_dir / name)}",
            path,
            at_value=True,
        )
    try:
        text = read_text(target, shown(prompts_dir / name))
    except ConfigError as exc:
        raise locator.error(IncludeError, f"{reference!r}: {exc}", path, at_value=True) from None
    read.append(target)
    return text
