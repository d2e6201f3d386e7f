"""The price table and cost arithmetic."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from baton.agents.base import Usage
from baton.agents.pricing import lookup, price, price_models, price_table


def shipped() -> dict[str, dict[str, float]]:
    raw = resources.files("baton").joinpath("data", "prices.json").read_text()
    return json.loads(raw)["models"]


def test_every_entry_has_input_and_output_prices() -> None:
    table = price_table()
    assert set(table) == set(shipped())
    for name, entry in table.items():
        assert entry["input"] > 0 and entry["output"] > 0, name
        assert entry.get("cache_read", 0) <= entry["input"], name


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gpt-5.5", "gpt-5.4", "gemini-2.5-flash"])
def test_models_used_in_tests_are_priced(model: str) -> None:
    assert lookup(model) is not None


def test_cost_is_the_dot_product_of_usage_and_prices() -> None:
    entry = shipped()["claude-sonnet-4-5"]
    usage = Usage(input_tokens=1000, output_tokens=50, cache_read_tokens=200, cache_write_tokens=10)
    expected = (
        1000 * entry["input"] + 50 * entry["output"] + 200 * entry["cache_read"] + 10 * entry["cache_write"]
    ) / 1_000_000
    assert price("claude-sonnet-4-5", usage) == pytest.approx(expected)


def test_dated_and_vendor_prefixed_ids_find_their_family() -> None:
    assert lookup("claude-sonnet-4-5-20250929") == lookup("claude-sonnet-4-5")
    assert lookup("openai/gpt-4.1") == lookup("gpt-4.1")
    assert lookup("gpt-5.4-mini") != lookup("gpt-5.4")  # the longest matching id wins
    assert lookup("gpt-5.45") is None  # a prefix must end at a boundary
    assert price("no-such-model", Usage(10, 10)) is None
    assert price(None, Usage(10, 10)) is None


def test_overrides_add_and_replace_prices() -> None:
    overrides = {"my-local-model": {"input": 1, "output": 2}, "gpt-5.5": {"output": 100}}
    assert price("my-local-model", Usage(1_000_000, 500_000), overrides) == pytest.approx(2.0)
    assert price("gpt-5.5", Usage(0, 1_000_000), overrides) == pytest.approx(100.0)
    assert price("gpt-5.5", Usage(1_000_000, 0), overrides) == pytest.approx(shipped()["gpt-5.5"]["input"])


def test_several_models_sum_and_unknown_models_make_it_unknown() -> None:
    per = {"gpt-5.4": Usage(1_000_000, 0), "gpt-5.4-mini": Usage(0, 1_000_000)}
    expected = shipped()["gpt-5.4"]["input"] + shipped()["gpt-5.4-mini"]["output"]
    assert price_models(per) == pytest.approx(expected)
    assert price_models({**per, "mystery": Usage(1, 1)}) is None
    assert price_models({**per, "mystery": Usage()}) == pytest.approx(expected)
