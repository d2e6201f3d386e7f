"""Built-in workflows shipped with Baton (``code-review``, ``issue-to-pr``, ``pr-fix``).

The YAML files and prompt templates (``*.j2``) beside this module are runnable by name
with nothing configured beyond the agents; :mod:`baton.workflows.catalog` binds their
roles to the configured agents. The helper modules are what their shell steps run:
:mod:`~baton.workflows.diff` (collect and split a diff), :mod:`~baton.workflows.merge`
(merge reviews) and :mod:`~baton.workflows.gitops` (branch, commit, push).
"""

from baton.workflows.catalog import (
    BuiltinUnavailable,
    available_builtins,
    builtin_ids,
    builtin_workflow,
)

__all__ = ["BuiltinUnavailable", "available_builtins", "builtin_ids", "builtin_workflow"]
