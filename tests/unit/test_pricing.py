"""List prices come from genai-prices: cache reads, 5m/1h cache writes, batch and long-context tiers."""

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from pipelines.pricing.models import ModelCatalog
from pipelines.pricing.prices import list_prices, price_table
from pipelines.pricing.tiers import tier_for
from pipelines.settings import Settings

DAY = date(2026, 11, 10)


def prices_of(provider: str, model: str, batch: bool = False) -> dict:
    found = list_prices(provider, model, DAY, batch)
    assert found is not None, f"{provider}/{model} unknown to genai-prices"
    return found[3]


def test_cache_reads_are_cheaper_than_input_and_writes_dearer_for_anthropic():
    p = prices_of("anthropic", "claude-sonnet-4-5")
    assert p["input"] == Decimal("3")
    assert p["cached_input"] == Decimal("0.3")
    assert p["cache_write_5m"] == Decimal("3.75")
    assert p["cache_write_1h"] == Decimal("6")  # 1-hour writes are not priced like 5-minute writes
    assert p["output"] == Decimal("15")


def test_long_context_tier_is_kept_separately():
    source, priced_as, threshold, p = list_prices("anthropic", "claude-sonnet-4-5", DAY, False)
    assert threshold == 200_000
    assert p["lc_input"] == Decimal("6")


def test_batch_prices_are_discounted():
    standard = prices_of("openai", "gpt-4o-mini")
    batch = prices_of("openai", "gpt-4o-mini", batch=True)
    assert batch["input"] == standard["input"] / 2
    assert batch["output"] == standard["output"] / 2


def test_openai_has_no_cache_write_charge_so_writes_cost_input():
    p = prices_of("openai", "gpt-4o-mini")
    assert p["cache_write_5m"] == p["input"]


def test_unknown_model_is_flagged_not_priced_at_zero():
    table = price_table(pl.DataFrame({"provider": ["openai"], "model": ["my-finetune-xyz"]}), [DAY], Settings(home=None))
    assert set(table["price_source"]) == {"unknown"}
    assert table["input_usd_per_mtok"].is_null().all()


def test_override_prices_a_self_hosted_model_and_discounts_a_list_price(tmp_path):
    settings = Settings(
        home=tmp_path,
        raw={
            "price_overrides": [
                {"provider": "self_hosted", "model": "llama-ft", "input_usd_per_mtok": 0.5, "output_usd_per_mtok": 1},
                {"provider": "openai", "model": "gpt-4o-mini", "discount_pct": 10},
            ]
        },
    )
    pairs = pl.DataFrame({"provider": ["self_hosted", "openai"], "model": ["llama-ft", "gpt-4o-mini"]})
    table = price_table(pairs, [DAY], settings).filter(~pl.col("is_batch"))
    llama = table.filter(pl.col("model") == "llama-ft").row(0, named=True)
    assert llama["price_source"] == "override"
    assert llama["input_usd_per_mtok"] == Decimal("0.5")
    assert llama["cached_input_usd_per_mtok"] == Decimal("0.5")
    mini = table.filter(pl.col("model") == "gpt-4o-mini").row(0, named=True)
    assert mini["input_usd_per_mtok"] == Decimal("0.135")


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("google/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ("GPT-4.1", "gpt-4.1"),
    ],
)
def test_model_spellings_map_to_one_canonical_name(raw, canonical):
    assert ModelCatalog(aliases={}).canonical(raw) == canonical


def test_config_aliases_win():
    assert ModelCatalog(aliases={"my-deployment": "gpt-4o"}).canonical("My-Deployment") == "gpt-4o"


@pytest.mark.parametrize("output, tier", [(Decimal(15), "frontier"), (Decimal(2), "mid"), (Decimal("0.6"), "small"), (None, "unknown")])
def test_default_tiers_by_output_price(output, tier):
    assert tier_for(output) == tier
