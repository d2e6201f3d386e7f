"""Steps named inside a workflow's templates must exist: ``failed('x')``, ``outputs.x``, input mappings.

At run time an unknown name does not fail loudly: ``succeeded('typo')`` is simply false and a
condition quietly skips its step. So every name is checked against the workflow's steps when
the configuration is validated, by walking each template's syntax tree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from baton.models.templating import StepReference, check_expression, check_template
from baton.models.workflow import WorkflowStep

Path = tuple[str | int, ...]


def reference_errors(steps: Sequence[WorkflowStep]) -> list[tuple[Path, str]]:
    """Every reference to a step or output key that the workflow does not define."""
    ids = [s.id for s in steps]
    keys = [s.key for s in steps]
    problems: list[tuple[Path, str]] = []
    for i, step in enumerate(steps):
        for field, references in _templates(step):
            for problem in _problems(references, ids, keys):
                problems.append(((i, *field), problem))
        for name, path in step.input_mappings.items():
            root, _, rest = path.partition(".")
            key = rest.split(".", 1)[0]
            if root == "outputs" and key and key not in keys:
                problems.append(((i, "input_mappings", name),
                                 f"{path!r}: {_unknown_key(key, ids, keys)}"))
    return problems


def _templates(step: WorkflowStep) -> Iterator[tuple[Path, tuple[StepReference, ...]]]:
    sources: list[tuple[Path, str, bool]] = [(("prompt_template",), step.prompt_template, False)]
    if step.condition is not None:
        sources.append((("condition",), step.condition, True))
    if isinstance(step.next, list):
        sources.extend((("next", j, "when"), r.when, True) for j, r in enumerate(step.next) if r.when)
    if step.approval is not None:
        sources.append((("approval", "message"), step.approval.message, False))
    for field, source, expression in sources:
        # a template that does not parse names nothing: its own validator reports it
        yield field, (check_expression(source) if expression else check_template(source)).references


def _problems(references: tuple[StepReference, ...], ids: list[str], keys: list[str]) -> Iterator[str]:
    for kind, name in references:
        if kind != "outputs":
            if name not in ids:
                yield f"{kind}({name!r}) names no step of this workflow (steps: {', '.join(ids)})"
        elif name not in keys:
            yield f"outputs.{name}: {_unknown_key(name, ids, keys)}"


def _unknown_key(key: str, ids: list[str], keys: list[str]) -> str:
    if key in ids:
        step_key = keys[ids.index(key)]
        return f"step {key!r} stores its output as outputs.{step_key} (its output_key)"
    return f"no step has output key {key!r} (output keys: {', '.join(keys)})"
