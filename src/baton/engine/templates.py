"""Render prompts and evaluate conditions with the sandboxed Jinja2 environment.

The context a template sees: ``params``, ``outputs`` (step outputs by output_key),
``workspace`` (the workspace path), ``execution`` (id, workflow_id, trace_id), the step's
``input_mappings`` (name → dotted path into that context), and in conditions the
helpers ``failed('x')``, ``succeeded('x')``, ``skipped('x')``, ``status('x')`` and
``always()``. Shell steps render through :func:`render_script`: every substituted value is
exported as a variable the script references (see :mod:`baton.engine.shellscript`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError

from baton.engine.errors import TemplateRenderError
from baton.engine.shellscript import UnsafeSubstitution, substitute
from baton.models import StepStatus, WorkflowStep
from baton.models.sandbox import render_budget
from baton.models.templating import collect_shell_values, compile_expression, compile_template

# Besides Jinja's own errors: what a template can raise from the values it computes with, and
# what a template that runs out of stack or memory despite the sandbox's bounds raises.
_RUNTIME_ERRORS = (TypeError, ValueError, AttributeError, KeyError, ArithmeticError, RecursionError,
                   MemoryError)

_MISSING = object()


def resolve_path(context: Mapping[str, Any], path: str) -> Any:
    """Follow a dotted path (``outputs.plan.json.files.0``) through dicts and lists."""
    current: Any = context
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if isinstance(current, Mapping):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            current = _MISSING
        if current is _MISSING:
            raise TemplateRenderError(f"input mapping path {path!r}: nothing at {'.'.join(walked)!r}")
    return current


def step_context(
    step: WorkflowStep,
    base: Mapping[str, Any],
    statuses: Mapping[str, StepStatus],
) -> dict[str, Any]:
    """The full template context for ``step``: base context, helpers and input mappings."""

    def status(step_id: str) -> str:
        return statuses.get(step_id, StepStatus.PENDING).value

    ctx: dict[str, Any] = dict(base)
    ctx.update(
        failed=lambda s: statuses.get(s) is StepStatus.FAILED,
        succeeded=lambda s: statuses.get(s) is StepStatus.COMPLETED,
        skipped=lambda s: statuses.get(s) is StepStatus.SKIPPED,
        status=status,
        always=lambda: True,
    )
    for name, path in step.input_mappings.items():
        ctx[name] = resolve_path(ctx, path)
    return ctx


def render_prompt(step: WorkflowStep, context: Mapping[str, Any]) -> str:
    """Render the step's prompt template (for an agent, not a shell)."""
    return _render(step, context, shell=False)


def render_script(step: WorkflowStep, context: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """A shell step's script and the variables holding its substituted values."""
    with collect_shell_values() as values:
        text = _render(step, context, shell=True)
    try:
        return substitute(text, values)
    except UnsafeSubstitution as exc:
        raise TemplateRenderError(f"step {step.id}: prompt_template: {exc}", step_id=step.id,
                                 field=("prompt_template",)) from None


def _render(step: WorkflowStep, context: Mapping[str, Any], *, shell: bool) -> str:
    try:
        return render_text(step.prompt_template, context, shell=shell)
    except (TemplateError, *_RUNTIME_ERRORS) as exc:
        raise TemplateRenderError(f"step {step.id}: prompt_template: {_reason(exc)}",
                                  step_id=step.id, field=("prompt_template",)) from None


def render_text(source: str, context: Mapping[str, Any], *, shell: bool = False) -> str:
    """Render ``source`` within one render budget (see :mod:`baton.models.sandbox`)."""
    with render_budget():
        return str(compile_template(source, shell).render(context))


def evaluate(expression: str, context: Mapping[str, Any], *, what: str,
             field: tuple[str | int, ...] = ("condition",)) -> bool:
    """Evaluate a condition or route expression to a bool (``what`` names it, e.g. ``step x condition``)."""
    try:
        with render_budget():
            return bool(compile_expression(expression)(**context))
    except (TemplateError, *_RUNTIME_ERRORS) as exc:
        step_id = what.split()[1] if what.startswith("step ") else None
        raise TemplateRenderError(f"{what}: {expression!r}: {_reason(exc)}", step_id=step_id,
                                  field=field) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "template recursion is too deep"
    if isinstance(exc, MemoryError):
        return "template ran out of memory"
    return str(exc) or type(exc).__name__
