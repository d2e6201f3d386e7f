"""Built-in workflows shipped with Baton (``code-review``, ``issue-to-pr``, ``pr-fix``).

The YAML files and prompt templates (``*.j2``) beside this module are runnable by name
with nothing configured beyond the agents; :mod:`baton.workflows.catalog` binds their
roles to the configured agents. The helper modules are what their shell steps run:
:mod:`~baton.workflows.diff` (collect and split a diff), :mod:`~baton.workflows.merge`
(merge reviews) and :mod:`~baton.workflows.gitops` (branch, commit, push). The catalog is
imported on first use, so those steps start without loading the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baton.lazy import lazy_names

if TYPE_CHECKING:
    from baton.workflows.catalog import BuiltinUnavailable, available_builtins, builtin_ids, builtin_workflow

__all__ = ["BuiltinUnavailable", "available_builtins", "builtin_ids", "builtin_workflow"]


__getattr__ = lazy_names(__name__, dict.fromkeys(__all__, "baton.workflows.catalog"))
