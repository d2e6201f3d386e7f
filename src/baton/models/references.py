"""Steps named inside a workflow's templates must exist: ``failed('x')``, ``outputs.x``, input mappings.

At run time an unknown name does not fail loudly: ``succeeded('typo')`` is simply false and a
condition quietly skips its step. So every name is checked against the workflow's steps when
the configuration is validated, by walking each template's syntax tree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from jinja2 import TemplateSyntaxError, nodes
from jinja2.parser import Parser

from baton.models.templating import CONDITION_HELPERS, environment
from baton.models.workflow import WorkflowStep

Path = tuple[str | int, ...]
# Helpers that take a step id; always() takes none.
_STEP_HELPERS = frozenset(CONDITION_HELPERS) - {"always"}


def reference_errors(steps: Sequence[WorkflowStep]) -> list[tuple[Path, str]]:
    """Every reference to a step or output key that the workflow does not define."""
    ids = [s.id for s in steps]
    keys = [s.key for s in steps]
    problems: list[tuple[Path, str]] = []
    for i, step in enumerate(steps):
        for field, tree in _templates(step):
            for problem in _tree_problems(tree, ids, keys):
                problems.append(((i, *field), problem))
        for name, path in step.input_mappings.items():
            root, _, rest = path.partition(".")
            key = rest.split(".", 1)[0]
            if root == "outputs" and key and key not in keys:
                problems.append(((i, "input_mappings", name),
                                 f"{path!r}: {_unknown_key(key, ids, keys)}"))
    return problems


def _templates(step: WorkflowStep) -> Iterator[tuple[Path, nodes.Node]]:
    sources: list[tuple[Path, str, bool]] = [(("prompt_template",), step.prompt_template, False)]
    if step.condition is not None:
        sources.append((("condition",), step.condition, True))
    if isinstance(step.next, list):
        sources.extend((("next", j, "when"), r.when, True) for j, r in enumerate(step.next) if r.when)
    if step.approval is not None:
        sources.append((("approval", "message"), step.approval.message, False))
    env = environment(False)
    for field, source, expression in sources:
        try:
            if expression:
                tree: nodes.Node = Parser(env, source, state="variable").parse_expression()
            else:
                tree = env.parse(source)
        except TemplateSyntaxError:
            continue  # reported by the field's own validator
        yield field, tree


def _tree_problems(tree: nodes.Node, ids: list[str], keys: list[str]) -> Iterator[str]:
    found = [tree, *tree.find_all((nodes.Call, nodes.Getattr, nodes.Getitem))]
    for node in found:
        if (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name)
                and node.node.name in _STEP_HELPERS and node.args
                and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)):
            step_id = node.args[0].value
            if step_id not in ids:
                yield (f"{node.node.name}({step_id!r}) names no step of this workflow "
                       f"(steps: {', '.join(ids)})")
        elif isinstance(node, (nodes.Getattr, nodes.Getitem)) and _is_outputs(node.node):
            key = node.attr if isinstance(node, nodes.Getattr) else _const_str(node.arg)
            if key is not None and key not in keys:
                yield f"outputs.{key}: {_unknown_key(key, ids, keys)}"


def _is_outputs(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "outputs"


def _const_str(node: nodes.Node) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _unknown_key(key: str, ids: list[str], keys: list[str]) -> str:
    if key in ids:
        step_key = keys[ids.index(key)]
        return f"step {key!r} stores its output as outputs.{step_key} (its output_key)"
    return f"no step has output key {key!r} (output keys: {', '.join(keys)})"
