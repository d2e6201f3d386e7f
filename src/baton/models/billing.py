"""What step runs billed: token counts and cost summed from their outputs (no model needed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def billed_totals(runs: Iterable[tuple[bool, dict[str, Any] | None]]) -> tuple[dict[str, int], float]:
    """Token counts and cost summed over ``(cache_hit, output)`` of step runs; a cache hit
    bills nothing."""
    usage = dict.fromkeys(("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), 0)
    cost = 0.0
    for cache_hit, output in runs:
        out = output or {}
        if cache_hit or out.get("cache_hit"):
            continue
        for key, value in (out.get("usage") or {}).items():
            usage[key] = usage.get(key, 0) + int(value or 0)
        cost += float(out.get("cost_usd") or 0.0)
    return usage, cost
