"""Turn token usage into USD with the price table in ``baton/data/prices.json``.

Prices are USD per million tokens: ``input`` (uncached input), ``output``, ``cache_read``
and ``cache_write``. :class:`~baton.agents.base.Usage` follows the same split (its
``input_tokens`` exclude cache reads), so a cost is a plain dot product. Agents may add or
override entries with ``config.prices: {MODEL: {input: .., output: ..}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from baton.agents.base import Usage

_FIELDS = ("input", "output", "cache_read", "cache_write")
_BOUNDARY = "-@:"

ModelPrice = dict[str, float]


@lru_cache(maxsize=1)
def price_table() -> dict[str, ModelPrice]:
    """The shipped table: model id → prices per million tokens."""
    raw = resources.files("baton").joinpath("data", "prices.json").read_text(encoding="utf-8")
    models: dict[str, Any] = json.loads(raw)["models"]
    return {name: _normalise(entry) for name, entry in models.items()}


def _normalise(entry: Mapping[str, Any]) -> ModelPrice:
    out: ModelPrice = {}
    for key in _FIELDS:
        value = entry.get(key)
        if value is not None:
            out[key] = float(value)
    return out


def lookup(model: str, overrides: Mapping[str, Any] | None = None) -> ModelPrice | None:
    """Prices for ``model``: exact id, else the longest known id it starts with.

    A vendor prefix (``openai/gpt-4.1``, ``models/gemini-2.5-pro``) is ignored.
    """
    table = dict(price_table())
    for name, entry in (overrides or {}).items():
        if isinstance(entry, Mapping):
            table[name] = {**table.get(name, {}), **_normalise(entry)}
    for candidate in (model, model.rsplit("/", 1)[-1]):
        if candidate in table:
            return table[candidate]
        best = max(
            (name for name in table if candidate.startswith(name) and candidate[len(name)] in _BOUNDARY),
            key=len,
            default=None,
        )
        if best is not None:
            return table[best]
    return None


def price(model: str | None, usage: Usage, overrides: Mapping[str, Any] | None = None) -> float | None:
    """USD cost of ``usage`` on ``model``, or None when the model has no known price."""
    if not model:
        return None
    entry = lookup(model, overrides)
    if entry is None or "input" not in entry or "output" not in entry:
        return None
    cache_read = entry.get("cache_read", entry["input"])
    cache_write = entry.get("cache_write", entry["input"])
    total = (
        usage.input_tokens * entry["input"]
        + usage.output_tokens * entry["output"]
        + usage.cache_read_tokens * cache_read
        + usage.cache_write_tokens * cache_write
    )
    return round(total / 1_000_000, 10)


def price_models(per_model: Mapping[str, Usage], overrides: Mapping[str, Any] | None = None) -> float | None:
    """Total USD over several models' usage; None if any model with tokens has no price."""
    total = 0.0
    for model, usage in per_model.items():
        if usage.total_tokens == 0 and usage.cache_read_tokens == 0:
            continue
        cost = price(model, usage, overrides)
        if cost is None:
            return None
        total += cost
    return round(total, 10)
