"""What-if re-pricing: a feature's real historical usage priced on another model, or through the batch API.

Token counts by kind (uncached input, cache reads, 5m/1h cache writes, output) come
from fct_llm_calls (``models/reports/whatif_usage.sql``); the target's list prices from genai-prices for each day, so the
comparison uses the same price source as the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb

from pipelines.db import frame
from pipelines.pricing.prices import effective_prices
from pipelines.warehouse.models import query_sql

MTOK = Decimal(1_000_000)

@dataclass
class WhatIf:
    feature: str
    target: str
    days: int
    requests: int
    current_models: str
    current_list_usd: Decimal
    current_cost_usd: Decimal
    whatif_usd: Decimal

    @property
    def saving_usd(self) -> Decimal:
        return self.current_list_usd - self.whatif_usd

    @property
    def saving_pct(self) -> float | None:
        return float(self.saving_usd / self.current_list_usd * 100) if self.current_list_usd else None


def reprice(
    con: duckdb.DuckDBPyConnection, feature: str, provider: str, model: str, batch: bool, start: date, end: date,
    cache: bool = False, overrides: list[dict] | None = None,
) -> WhatIf:
    """The feature's billed calls in [start, end] on provider/model (through batch, and/or with prompt caching:
    the calls that read no cache read as much of their input from it as that day's cache hits did). Prices are
    the target's list prices with tokenbooks.yaml's ``price_overrides`` (negotiated discounts) applied."""
    usage = frame(con, query_sql("whatif_usage"), {"feature": feature, "start": start, "end": end})
    total = Decimal(0)
    for row in usage.iter_rows(named=True):
        source, _, _, p = effective_prices(provider, model, row["day"], batch, overrides or [])
        if source == "unknown":
            raise ValueError(f"no list price known for {provider}/{model}; add it to price_overrides")
        moved = row["cacheable_tokens"] if cache else 0
        total += (
            (row["uncached_input_tokens"] - moved) * p["input"]
            + (row["cached_input_tokens"] + moved) * p["cached_input"]
            + row["cache_write_5m_tokens"] * p["cache_write_5m"]
            + row["cache_write_1h_tokens"] * p["cache_write_1h"]
            + row["output_tokens"] * p["output"]
        ) / MTOK
    models = sorted({m for ms in usage["models"].drop_nulls() for m in ms.split(", ")}) if usage.height else []
    return WhatIf(
        feature=feature,
        target=f"{provider}/{model}" + (" (batch)" if batch else "") + (" (with prompt caching)" if cache else ""),
        days=usage.height,
        requests=int(usage["requests"].sum() or 0),
        current_models=", ".join(models),
        current_list_usd=Decimal(usage["list_cost_usd"].sum() or 0) if usage.height else Decimal(0),
        current_cost_usd=Decimal(usage["cost_usd"].sum() or 0) if usage.height else Decimal(0),
        whatif_usd=total,
    )


def describe(w: WhatIf) -> str:
    if not w.requests:
        return f"no billed calls of feature {w.feature!r} in the range"
    direction = "saves" if w.saving_usd >= 0 else "costs"
    pct = f" ({abs(w.saving_pct):.1f} %)" if w.saving_pct is not None else ""
    return (
        f"{w.feature}: {w.requests:,} calls over {w.days} days on {w.current_models}\n"
        f"  at list price now:   ${w.current_list_usd:,.2f}  (billed, attributed: ${w.current_cost_usd:,.2f})\n"
        f"  on {w.target}: ${w.whatif_usd:,.2f}\n"
        f"  -> {direction} ${abs(w.saving_usd):,.2f}{pct} at list prices"
    )
