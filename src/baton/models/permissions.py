"""Permissions: what an ACP agent may do in a step, decided by Baton (never a blanket allow).

```yaml
permissions:              # on a step, or on an agent (the step's block wins per field)
  edit: allow             # allow | deny | ask (default: allow when writes_workspace, else deny)
  execute: ["pytest*", "npm test*"]   # allow | deny | a list of command globs
  fetch: allow            # default deny
  protected: ["secrets/**"]          # more paths no edit may touch (globs, workspace-relative)
```

Fields are the ACP tool kinds grouped as Baton decides them: ``read`` (read, search, think),
``edit`` (edit, delete, move), ``execute``, ``fetch``, ``other`` (switch_mode and anything
unknown). ``ask`` forwards the request to a human: the editor driving ``baton acp``;
without one it is rejected. Paths outside the workspace, under ``.git/``,
``.github/workflows/`` and ``.baton/`` are always refused for edits, whatever the block says.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Rule = Literal["allow", "deny", "ask"]


class Permissions(BaseModel):
    """A ``permissions:`` block; ``None`` fields fall back to the step's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    read: Rule | None = None
    edit: Rule | None = None
    execute: Rule | list[str] | None = None
    fetch: Rule | None = None
    other: Rule | None = None
    protected: list[str] = Field(default_factory=list)

    def over(self, base: Permissions | None) -> Permissions:
        """This block laid over ``base``: a field set here wins; protected paths add up."""
        if base is None:
            return self
        merged = {
            name: getattr(self, name) if getattr(self, name) is not None else getattr(base, name)
            for name in ("read", "edit", "execute", "fetch", "other")
        }
        return Permissions(**merged, protected=[*base.protected, *self.protected])
