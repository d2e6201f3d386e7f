"""The adapter boundary's secret filter: nothing above the agents layer sees a secret.

:class:`RedactingAdapter` wraps any adapter so that the events it streams, the result it
returns and the error it raises have every registered secret (see
:mod:`baton.observability.redact`) masked, whatever the adapter did itself.
"""

from __future__ import annotations

from typing import Any

from baton.agents.base import (
    AgentAdapter,
    AgentError,
    AgentEvent,
    AgentRequest,
    AgentResult,
    EventCallback,
    HealthReport,
)
from baton.models import Agent
from baton.observability.redact import Redactor, redactor


class RedactingAdapter:
    """An adapter whose events, results and errors are passed through a :class:`Redactor`."""

    def __init__(self, inner: AgentAdapter, scrubber: Redactor | None = None) -> None:
        self.inner = inner
        self.agent: Agent = inner.agent
        self._redactor = scrubber or redactor()

    def __getattr__(self, name: str) -> Any:
        # Adapter-specific helpers (``program``, ``unavailable_reason``...) stay reachable.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def acts_on_workspace(self) -> bool:
        return self.inner.acts_on_workspace

    async def run(self, request: AgentRequest, on_event: EventCallback) -> AgentResult:
        scrub = self._redactor

        async def forward(event: AgentEvent) -> None:
            await on_event(scrub.redact(event))

        try:
            result = await self.inner.run(request, forward)
        except AgentError as exc:
            scrub.redact_exception(exc)
            output = getattr(exc, "output", None)
            if isinstance(output, str):
                exc.output = scrub.redact_text(output)  # type: ignore[attr-defined]
            raise
        return scrub.redact(result)

    async def check(self, live: bool = False) -> HealthReport:
        return self._redactor.redact(await self.inner.check(live))


def redacting(adapter: AgentAdapter) -> AgentAdapter:
    """``adapter`` behind the secret filter (never wrapped twice)."""
    return adapter if isinstance(adapter, RedactingAdapter) else RedactingAdapter(adapter)
