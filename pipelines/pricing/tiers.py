"""Model tier (frontier / mid / small) per model: tokenbooks.yaml's `model_tiers` first, else by list price.

Default cut-offs on the list price of output tokens (USD per million): frontier
models charge $8 or more (gpt-4.1, gpt-5, claude-sonnet/opus, gemini-2.5-pro),
mid models $1.50 or more (claude-haiku, gemini-2.5-flash, gpt-5-mini), small
models less (gpt-4o-mini, gemini-2.5-flash-lite).
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from pipelines.settings import Settings

FRONTIER_MIN_OUTPUT = Decimal(8)
MID_MIN_OUTPUT = Decimal("1.5")


def tier_for(output_usd_per_mtok: Decimal | None) -> str:
    if output_usd_per_mtok is None:
        return "unknown"
    if output_usd_per_mtok >= FRONTIER_MIN_OUTPUT:
        return "frontier"
    if output_usd_per_mtok >= MID_MIN_OUTPUT:
        return "mid"
    return "small"


def model_tiers(prices: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    configured = settings.model_tiers
    rows = []
    standard = prices.filter(~pl.col("is_batch")).unique(["provider", "model"], keep="first")
    for provider, model, output in standard.select("provider", "model", "output_usd_per_mtok").iter_rows():
        tier = configured.get(f"{provider}/{model}") or configured.get(model) or tier_for(output)
        rows.append((provider, model, tier))
    return pl.DataFrame(rows, schema={"provider": pl.String, "model": pl.String, "model_tier": pl.String}, orient="row")
